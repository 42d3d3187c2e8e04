#!/usr/bin/env bash
# ipvs_vm_smoke_test.sh - the VM runner (tests/vm/run.sh) is good enough for
# the ip_vs backend tests: inside a qemu VM with Debian's kernel,
#   1. ip_vs loads; ipvsadm adds a wlc service and a NAT destination with
#      weight 3 and `ipvsadm -Ln` shows exactly that;
#   2. NAT data path: namespaces client / director / rs joined by veth pairs,
#      client 198.51.100.2 -> VIP 192.0.2.200:80 on the director -> ip_vs
#      masquerading to rs 192.0.2.21:80 (busybox httpd) -> the client gets
#      the realserver's page, and ip_vs has that connection in its table;
#   3. the build tree is visible: lvsd --version runs in the guest.
#
# Needs root, qemu-system-x86, busybox-static, kmod, xz-utils, ipvsadm and the
# kernel package (tests/vm/prepare.sh fetches it); skips (77) otherwise.
# Everything runs inside the VM (no network device), which is discarded.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/assert.sh
source "$here/lib/assert.sh"

# --- inside the VM -----------------------------------------------------------
if [[ ${1:-} == --in-vm ]]; then
  vip=192.0.2.200
  rs_ip=192.0.2.21
  client_ip=198.51.100.2

  assert_ok "modprobe ip_vs and the usual schedulers" \
    modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_wlc ip_vs_lc ip_vs_sh ip_vs_mh veth

  # 1. ipvsadm in the VM's root namespace.
  ipvsadm -A -t "$vip:80" -s wlc
  ipvsadm -a -t "$vip:80" -r "$rs_ip:80" -m -w 3
  table=$(ipvsadm -Ln)
  printf '#   %s\n' "${table//$'\n'/$'\n'#   }"
  assert_contains "$table" "TCP  $vip:80 wlc" "ipvsadm -Ln shows the wlc service"
  rs_line=$(grep -E "^ +-> $rs_ip:80 " <<<"$table" || true)
  assert_eq "$(awk '{print $3, $4}' <<<"$rs_line")" "Masq 3" "the destination is NAT with weight 3"
  ipvsadm -C
  assert_eq "$(ipvsadm -Ln | grep -c -- '->' || true)" 1 "ipvsadm -C leaves only the header"

  # 2. client -- director -- rs, one namespace each.
  for ns in client director rs; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip link add c0 netns client type veth peer name d0 netns director
  ip link add r0 netns rs type veth peer name d1 netns director
  ip -n client addr add "$client_ip/24" dev c0
  ip -n client link set c0 up
  ip -n client route add default via 198.51.100.1
  ip -n director addr add 198.51.100.1/24 dev d0
  ip -n director addr add 192.0.2.1/24 dev d1
  ip -n director addr add "$vip/32" dev d0
  ip -n director link set d0 up
  ip -n director link set d1 up
  ip netns exec director sysctl -qw net.ipv4.ip_forward=1
  ip -n rs addr add "$rs_ip/24" dev r0
  ip -n rs link set r0 up
  ip -n rs route add default via 192.0.2.1

  www=$(mktemp -d)
  echo "hello from rs $rs_ip" >"$www/index.html"
  ip netns exec rs busybox httpd -p 80 -h "$www" # daemonizes; dies with the VM
  fetch() { # NS URL
    if command -v curl >/dev/null 2>&1; then
      ip netns exec "$1" curl -fsS --max-time 5 "$2"
    else
      ip netns exec "$1" busybox wget -q -T 5 -O - "$2"
    fi
  }
  up=0
  for _ in $(seq 50); do
    if fetch rs "http://$rs_ip/" >/dev/null 2>&1; then
      up=1
      break
    fi
    sleep 0.1
  done
  assert_eq "$up" 1 "busybox httpd answers on the realserver"

  ip netns exec director ipvsadm -A -t "$vip:80" -s wlc
  ip netns exec director ipvsadm -a -t "$vip:80" -r "$rs_ip:80" -m -w 3
  page=$(fetch client "http://$vip/" 2>"$www.err" || true)
  assert_eq "$page" "hello from rs $rs_ip" "the client gets the realserver's page through ip_vs NAT" \
    "$(cat "$www.err")"
  # The connection table is immediate (--stats lag behind by up to 2 s).
  conns=$(ip netns exec director ipvsadm -Lnc)
  printf '#   %s\n' "${conns//$'\n'/$'\n'#   }"
  assert_eq "$(awk -v c="$client_ip" -v v="$vip:80" -v r="$rs_ip:80" \
    '$1 == "TCP" && index($4, c ":") == 1 && $5 == v && $6 == r' <<<"$conns" | wc -l)" 1 \
    "ip_vs has the client's connection to the VIP, forwarded to the realserver"
  # Without ip_vs in the path the VIP is just a local address: nothing listens.
  ip netns exec director ipvsadm -C
  if fetch client "http://$vip/" >/dev/null 2>&1; then
    fail "the VIP still answers after ipvsadm -C"
  fi
  pass "the VIP stops answering once the service is removed"

  # 3. The host's build tree is visible at the same path.
  if [[ -x ${LVSD_BUILD_DIR:-}/daemon/lvsd ]]; then
    assert_ok "the host's lvsd runs in the guest" "$LVSD_BUILD_DIR/daemon/lvsd" --version
  fi
  exit 0
fi

# --- on the host -------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || skip "needs root (qemu VM with the host's / and the kernel package)"
for cmd in ipvsadm ip timeout; do
  command -v "$cmd" >/dev/null 2>&1 || skip "$cmd not installed (apt-get install ipvsadm iproute2)"
done

start=$(date +%s%N)
rc=0
bash "$here/../vm/prepare.sh" || rc=$?
[[ $rc -eq 0 ]] || {
  [[ $rc -eq 77 ]] && skip "cannot prepare the VM (see above)"
  fail "tests/vm/prepare.sh failed with status $rc"
}
rc=0
bash "$here/../vm/run.sh" --timeout 240 -- bash "$here/$(basename "${BASH_SOURCE[0]}")" --in-vm || rc=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
echo "# VM run took ${elapsed} ms"
case $rc in
  0) pass "ip_vs smoke test in the VM" ;;
  77) skip "the VM runner cannot run here (see above)" ;;
  *) fail "the in-VM part failed with status $rc" ;;
esac
