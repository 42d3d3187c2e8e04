#!/usr/bin/env bash
# ipvs_backend_vm_test.sh - forwarding::ipvs::IpvsBackend against a real ip_vs,
# inside the qemu VM of tests/vm/run.sh. The driver is build/tests/
# ipvs_backend_probe (tests/vm/ipvs_backend_probe.cpp: plans A, B, Bdrift, C
# are defined there); `ipvsadm` is the independent witness:
#   1. GET_INFO; plan A (NAT, DR, TUN ipip/gue/gre, IPv4 and IPv6, fwmark v4
#      and v6, persistence with netmask and prefix, sh and mh with flags,
#      one-packet, SCTP, a mixed-family tunnel dest, pe sip) applied from an
#      empty table: `ipvsadm -Ln` and `--tun-info` show exactly the expected
#      table and read_back() equals A;
#   2. kernel errors come back as errno codes (EEXIST, ESRCH, ENOENT, EINVAL,
#      ERANGE) and change nothing;
#   3. edits (scheduler, flags, persistence, weight, method, tunnel port) and
#      deletions: plan B in ipvsadm and in read_back();
#   4. drift made with ipvsadm shows in read_back() and is repaired;
#   5. timeouts set and read back (and 0 = unchanged), also via ipvsadm;
#   6. sync daemons: EINVAL while a mixed-family dest exists, then master and
#      backup started, listed (and by `ipvsadm -L --daemon`), EEXIST, stopped,
#      ESRCH; FLUSH empties the table.
# Skips (77) without root, qemu, the kernel package or the probe binary.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/assert.sh
source "$here/lib/assert.sh"

build_dir=${LVSD_BUILD_DIR:-$here/../../build}
probe=$build_dir/tests/ipvs_backend_probe

# ipvsadm -Ln with trailing blanks stripped and services (with their dests)
# in C sort order, so the comparison does not depend on the kernel's hash order.
norm() {
  local t
  t=$(sed 's/[[:space:]]*$//')
  head -n 3 <<<"$t"
  tail -n +4 <<<"$t" |
    awk '/^[A-Z]/ { svc = $0; print svc "|"; next } { print svc "|" $0 }' |
    LC_ALL=C sort | awk -F'|' '$2 == "" { print $1; next } { print $2 }'
}

show() { printf '#   %s\n' "${1//$'\n'/$'\n'#   }"; }

# --- inside the VM -----------------------------------------------------------
if [[ ${1:-} == --in-vm ]]; then
  p() { timeout 30 "$probe" "$@"; }
  assert_ok "modprobe ip_vs, the schedulers and pe sip" \
    modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_wlc ip_vs_lc ip_vs_sh ip_vs_mh ip_vs_pe_sip

  # 1. info, plan A.
  assert_eq "$(p info)" "version=1.2.1 conn_tab_size=4096" "GET_INFO through IpvsBackend::info"
  out=$(p apply A) || fail "apply plan A" "$out"
  pass "plan A applied from an empty table ($(tail -n 1 <<<"$out"))"
  header='IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn'
  expected_a="$header
FWM  7 rr
  -> 10.0.0.5:0                   Route   1      0          0
  -> 10.0.0.6:0                   Tunnel  1      0          0
FWM  8 IPv6 mh (mh-fallback)
  -> [2001:db8::5]:0              Route   1      0          0
SCTP 192.0.2.104:9 rr
  -> 10.0.0.7:9                   Masq    1      0          0
TCP  192.0.2.100:80 wlc
  -> 10.0.0.1:8080                Masq    3      0          0
  -> 10.0.0.2:8080                Masq    1      0          0
TCP  192.0.2.102:443 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0
  -> 10.0.1.1:443                 Tunnel  1      0          0
  -> 10.0.1.2:443                 Tunnel  2      0          0
  -> 10.0.1.3:443                 Tunnel  3      0          0
TCP  192.0.2.105:80 lc
  -> [2001:db8::9]:80             Tunnel  1      0          0
TCP  [2001:db8::100]:80 wrr persistent 300 mask 64
  -> [2001:db8::1]:80             Masq    2      0          0
  -> [2001:db8::2]:80             Route   1      0          0
UDP  192.0.2.101:53 rr ops
  -> 192.0.2.11:53                Route   1      0          0
  -> 192.0.2.12:53                Route   2      0          0
UDP  192.0.2.106:5060 rr persistent 60 pe sip
  -> 10.0.0.8:5060                Masq    1      0          0"
  table=$(ipvsadm -Ln)
  show "$table"
  assert_eq "$(norm <<<"$table")" "$expected_a" "ipvsadm -Ln shows plan A exactly"
  tun=$(ipvsadm -Ln --tun-info | grep -E '^  -> .* Tunnel ' | sed 's/[[:space:]]*$//' | LC_ALL=C sort)
  assert_eq "$tun" "  -> 10.0.0.6:0                   Tunnel  ipip          1      0          0
  -> 10.0.1.1:443                 Tunnel  ipip          1      0          0
  -> 10.0.1.2:443                 Tunnel  gue:6080:r+c  2      0          0
  -> 10.0.1.3:443                 Tunnel  gre:+c        3      0          0
  -> [2001:db8::9]:80             Tunnel  ipip          1      0          0" \
    "ipvsadm -Ln --tun-info shows the tunnel types, GUE port and checksum flags"
  out=$(p check A) || fail "read_back() equals plan A" "$out"
  pass "$out"

  # 2. Kernel errors as error codes; the table is unchanged after them.
  out=$(p errors) || fail "kernel errnos of bad operations" "$out"
  show "$out"
  pass "EEXIST/ESRCH/ENOENT/EINVAL/ERANGE come back as error codes ($(wc -l <<<"$out") cases)"
  assert_eq "$(ipvsadm -Ln | norm)" "$expected_a" "the failed operations changed nothing"

  # 3. Edits and deletions.
  out=$(p apply B) || fail "apply plan B (edits)" "$out"
  show "$out"
  expected_b="$header
FWM  7 rr
  -> 10.0.0.5:0                   Route   1      0          0
  -> 10.0.0.6:0                   Tunnel  1      0          0
FWM  8 IPv6 mh (mh-fallback,mh-port)
  -> [2001:db8::5]:0              Route   1      0          0
TCP  192.0.2.100:80 rr
  -> 10.0.0.1:8080                Masq    5      0          0
  -> 10.0.0.2:8080                Masq    1      0          0
TCP  192.0.2.102:443 sh (sh-fallback) persistent 900 mask 255.255.255.0
  -> 10.0.1.1:443                 Tunnel  1      0          0
  -> 10.0.1.2:443                 Tunnel  2      0          0
  -> 10.0.1.3:443                 Tunnel  3      0          0
TCP  192.0.2.105:80 lc
  -> [2001:db8::9]:80             Tunnel  1      0          0
TCP  [2001:db8::100]:80 wrr
  -> [2001:db8::1]:80             Masq    2      0          0
  -> [2001:db8::2]:80             Masq    1      0          0
UDP  192.0.2.101:53 rr
  -> 192.0.2.11:53                Route   1      0          0
UDP  192.0.2.106:5060 rr persistent 60 pe sip
  -> 10.0.0.8:5060                Masq    1      0          0"
  assert_eq "$(ipvsadm -Ln | norm)" "$expected_b" "ipvsadm -Ln shows the edits of plan B"
  assert_contains "$(ipvsadm -Ln --tun-info)" "10.0.1.2:443                 Tunnel  gue:6081:r+c" \
    "the GUE port edit is in the kernel"
  out=$(p check B) || fail "read_back() equals plan B" "$out"
  pass "$out"

  # 4. Drift behind lvsd's back.
  ipvsadm -d -t 192.0.2.100:80 -r 10.0.0.2:8080
  ipvsadm -e -u 192.0.2.101:53 -r 192.0.2.11:53 -g -w 7
  ipvsadm -A -t 192.0.2.200:8080 -s rr
  ipvsadm -a -t 192.0.2.200:8080 -r 10.0.0.9:8080 -m
  out=$(p check Bdrift) || fail "read_back() sees the drift made with ipvsadm" "$out"
  pass "read_back() sees the deleted dest, the changed weight and the foreign service"
  out=$(p apply B) || fail "repair the drift" "$out"
  show "$out"
  assert_eq "$(tail -n 1 <<<"$out")" "4 ops, 0 failed" "the drift is repaired in 4 ops"
  assert_eq "$(ipvsadm -Ln | norm)" "$expected_b" "ipvsadm -Ln shows plan B again"

  # 5. Timeouts.
  assert_eq "$(ipvsadm -L --timeout)" "Timeout (tcp tcpfin udp): 900 120 300" "kernel defaults"
  assert_eq "$(p timeouts-get)" "900 120 300" "get_timeouts reads the defaults"
  assert_eq "$(p timeouts-set 100 20 30)" "ok" "set_timeouts 100 20 30"
  assert_eq "$(ipvsadm -L --timeout)" "Timeout (tcp tcpfin udp): 100 20 30" \
    "ipvsadm -L --timeout shows them"
  assert_eq "$(p timeouts-get)" "100 20 30" "get_timeouts reads them back"
  assert_eq "$(p timeouts-set 0 25 0)" "ok" "set_timeouts 0 25 0"
  assert_eq "$(p timeouts-get)" "100 25 30" "0 leaves a timeout unchanged"

  # 6. Sync daemons.
  ip link add sync0 type dummy
  ip link set sync0 up
  ip addr add 10.9.9.1/24 dev sync0
  assert_eq "$(p sync-start master sync0 5)" "error: EINVAL (Invalid argument)" \
    "no sync daemon while a mixed-family dest exists"
  out=$(p apply C) || fail "apply plan C (drop the mixed-family service)" "$out"
  assert_eq "$(p sync-start master sync0 5)" "ok" "master sync daemon started"
  assert_eq "$(p sync-start master sync0 5)" "error: EEXIST (File exists)" \
    "a second master is EEXIST"
  assert_eq "$(p sync-start backup sync0 5)" "ok" "backup sync daemon started alongside"
  assert_eq "$(p sync-list | LC_ALL=C sort)" \
    "backup sync0 syncid=5 maxlen=1472 group=224.0.0.81 port=8848 ttl=1
master sync0 syncid=5 maxlen=1472 group=224.0.0.81 port=8848 ttl=1" "GET_DAEMON lists both"
  assert_eq "$(ipvsadm -L --daemon | LC_ALL=C sort)" \
    "backup sync daemon (mcast=sync0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)
master sync daemon (mcast=sync0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)" \
    "ipvsadm -L --daemon shows both"
  assert_eq "$(p sync-stop master)" "ok" "master stopped"
  assert_eq "$(p sync-stop backup)" "ok" "backup stopped"
  assert_eq "$(p sync-stop master)" "error: ESRCH (No such process)" \
    "stopping a stopped daemon is ESRCH"
  assert_eq "$(p sync-list)" "" "no daemon left"
  assert_eq "$(ipvsadm -L --daemon)" "" "ipvsadm agrees"

  out=$(p dump) || fail "read_back with counters" "$out"
  assert_contains "$out" "FWM 8 IPv6 conns=0 inpkts=0" "read_back reports the counters"
  assert_eq "$(p flush)" "ok" "FLUSH"
  assert_eq "$(ipvsadm -Ln | norm)" "$header" "the table is empty after FLUSH"
  out=$(p check empty) || fail "read_back() of the empty table" "$out"
  pass "$out"
  exit 0
fi

# --- on the host -------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || skip "needs root (qemu VM with the host's / and the kernel package)"
for cmd in ipvsadm ip timeout; do
  command -v "$cmd" >/dev/null 2>&1 || skip "$cmd not installed (apt-get install ipvsadm iproute2)"
done
[[ -x $probe ]] || skip "$probe is not built (cmake --build build --target ipvs_backend_probe)"

start=$(date +%s%N)
rc=0
bash "$here/../vm/prepare.sh" || rc=$?
[[ $rc -eq 0 ]] || {
  [[ $rc -eq 77 ]] && skip "cannot prepare the VM (see above)"
  fail "tests/vm/prepare.sh failed with status $rc"
}
rc=0
LVSD_BUILD_DIR=$(cd "$build_dir" && pwd) \
  bash "$here/../vm/run.sh" --timeout 240 -- bash "$here/$(basename "${BASH_SOURCE[0]}")" --in-vm ||
  rc=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
echo "# VM run took ${elapsed} ms"
case $rc in
  0) pass "IpvsBackend against ip_vs in the VM" ;;
  77) skip "the VM runner cannot run here (see above)" ;;
  *) fail "the in-VM part failed with status $rc" ;;
esac
