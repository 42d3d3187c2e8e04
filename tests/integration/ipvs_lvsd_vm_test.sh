#!/usr/bin/env bash
# lvsd drives a real ip_vs: inside the qemu VM (tests/vm/run.sh) with Debian's
# kernel, lvsd runs in a director namespace with tests/integration/data/
# ipvs-vm.yaml and the test checks, with independent tools:
#   - `ipvsadm -Ln` (and --thresholds, --timeout) shows exactly the configured
#     table: NAT, DR, TUN, IPv4 and IPv6, fwmark, persistence with netmask and
#     prefix, sh with flags;
#   - NAT traffic from a client namespace through ip_vs to two realservers is
#     split 3:1 by wrr weights; a reload to 1:1 splits 1:1; persistence keeps a
#     client on one realserver;
#   - drift made with ipvsadm behind lvsd's back is repaired and counted, a
#     foreign service is left alone, a removed service disappears on reload;
#   - SIGTERM keeps the table (on_stop: keep), and flushes lvsd's services
#     only with on_stop: flush;
#   - lvsctl services reads the table back with the ipvsadm banner.
# On the host (no ip_vs): `backend: ipvs` fails at start with a clear message.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/assert.sh
source "$here/lib/assert.sh"
# shellcheck source-path=SCRIPTDIR source=lib/vm.sh
source "$here/lib/vm.sh"
SRC=${LVSD_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
BUILD=${LVSD_BUILD_DIR:-$SRC/build}
LVSD=$BUILD/daemon/lvsd
LVSCTL=$BUILD/daemon/lvsctl

# ipvsadm -Ln in a canonical form, one line per service: "service|rs|rs",
# realservers sorted, services sorted, blanks squeezed, banner and headers
# dropped (the kernel lists services in hash order).
canon() {
  local line head="" rs=()
  {
    while IFS= read -r line; do
      case $line in "IP Virtual Server"* | "Prot "* | *RemoteAddress:Port*) continue ;; esac
      # shellcheck disable=SC2086 # word splitting squeezes the blanks
      line=$(echo $line)
      [[ -z $line ]] && continue
      if [[ $line == "->"* ]]; then
        rs+=("$line")
      else
        [[ -n $head ]] && printf '%s|%s\n' "$head" "$(printf '%s\n' "${rs[@]}" | sort | paste -sd'|')"
        head=$line
        rs=()
      fi
    done
    [[ -n $head ]] && printf '%s|%s\n' "$head" "$(printf '%s\n' "${rs[@]}" | sort | paste -sd'|')"
  } | sort
}

# --- inside the VM -----------------------------------------------------------
if [[ ${1:-} == --in-vm ]]; then
  modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_wlc ip_vs_lc ip_vs_sh veth dummy
  OUT=${LVSD_VM_OUT:-/tmp}
  WORK=$(mktemp -d)

  # client --- director --- rs1, rs2 (a bridge in the director's namespace)
  for ns in client director rs1 rs2; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip link add c0 netns client type veth peer name d0 netns director
  ip -n director link add br0 type bridge
  ip -n director link set br0 up
  for k in 1 2; do
    ip link add r0 netns "rs$k" type veth peer name "d$k" netns director
    ip -n director link set "d$k" master br0 up
    ip -n "rs$k" addr add "192.0.2.2$k/24" dev r0
    ip -n "rs$k" addr add "2001:db8::2$k/64" dev r0 nodad
    ip -n "rs$k" link set r0 up
    ip -n "rs$k" route add default via 192.0.2.1
    ip -n "rs$k" -6 route add default via 2001:db8::1
    mkdir -p "$WORK/www$k"
    echo "rs$k" >"$WORK/www$k/index.html"
    ip netns exec "rs$k" busybox httpd -p 80 -h "$WORK/www$k"
  done
  ip -n client addr add 198.51.100.2/24 dev c0
  ip -n client addr add 198.51.100.3/24 dev c0
  ip -n client link set c0 up
  ip -n client route add default via 198.51.100.1
  ip -n director addr add 198.51.100.1/24 dev d0
  ip -n director link set d0 up
  ip -n director addr add 192.0.2.1/24 dev br0
  ip -n director addr add 2001:db8::1/64 dev br0 nodad
  ip -n director addr add 192.0.2.200/32 dev lo
  ip netns exec director sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

  cp "$SRC/tests/integration/data/ipvs-vm.yaml" "$WORK/lvsd.yaml"
  SOCK=$WORK/lvsd.sock
  ip netns exec director "$LVSD" --config "$WORK/lvsd.yaml" --status-socket "$SOCK" \
    >"$OUT/lvsd.log" 2>&1 &
  PID=$!
  trap 'kill $PID 2>/dev/null || true' EXIT
  for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.1; done
  [[ -S $SOCK ]] || fail "lvsd did not start" "$(cat "$OUT/lvsd.log")"
  ctl() { "$LVSCTL" --socket "$SOCK" "$@"; }
  ipvs() { ip netns exec director ipvsadm "$@"; }

  # --- the table, as ipvsadm sees it
  table=$(ipvs -Ln)
  printf '#   %s\n' "${table//$'\n'/$'\n'#   }"
  expected='FWM 7 rr
-> 192.0.2.21:0 Route 1 0 0

TCP 192.0.2.200:80 wrr
-> 192.0.2.21:80 Masq 3 0 0
-> 192.0.2.22:80 Masq 1 0 0

TCP 192.0.2.200:8080 rr persistent 300 mask 255.255.255.0
-> 192.0.2.21:80 Masq 1 0 0
-> 192.0.2.22:80 Masq 1 0 0

TCP 192.0.2.201:80 wlc
-> 192.0.2.21:80 Route 2 0 0
-> 192.0.2.22:80 Route 2 0 0

TCP 192.0.2.202:80 lc
-> 192.0.2.21:80 Tunnel 1 0 0

TCP [2001:db8::200]:80 rr persistent 120 mask 64
-> [2001:db8::21]:80 Masq 1 0 0

UDP 192.0.2.203:53 sh (sh-fallback,sh-port)
-> 192.0.2.21:53 Masq 1 0 0
-> 192.0.2.22:53 Masq 1 0 0'
  assert_eq "$(canon <<<"$table")" "$(canon <<<"$expected")" \
    "ipvsadm -Ln shows exactly the configured table"
  assert_contains "$(ipvs -Ln --thresholds -t 192.0.2.201:80)" "192.0.2.22:80" "thresholds listing"
  # With --thresholds the columns after the address are Uthreshold Lthreshold.
  thr=$(ipvs -Ln --thresholds -t 192.0.2.201:80 | awk '$2 == "192.0.2.22:80" {print $3, $4}')
  assert_eq "$thr" "100 50" "upper/lower thresholds programmed"
  assert_eq "$(ipvs -L --timeout)" "Timeout (tcp tcpfin udp): 420 90 240" "timeouts programmed"
  svc=$(ctl services)
  assert_contains "$svc" "IP Virtual Server version" "lvsctl services shows the ipvsadm banner"
  assert_contains "$svc" "TCP  192.0.2.200:80 wrr" "lvsctl services reads the table back"

  # --- NAT traffic split 3:1 by weight
  split() { # N SOURCE-IP URL -> "rs1=a rs2=b"
    local a=0 b=0 body
    for _ in $(seq "$1"); do
      body=$(ip netns exec client curl -fsS --max-time 5 --interface "$2" "$3" || echo fail)
      case $body in rs1) a=$((a + 1)) ;; rs2) b=$((b + 1)) ;; esac
    done
    echo "rs1=$a rs2=$b"
  }
  assert_eq "$(split 40 198.51.100.2 http://192.0.2.200/)" "rs1=30 rs2=10" \
    "wrr 3:1 splits 40 connections 30/10 through ip_vs NAT"
  sticky=$(split 10 198.51.100.2 http://192.0.2.200:8080/)
  case $sticky in "rs1=10 rs2=0" | "rs1=0 rs2=10") pass "persistence keeps one client on one RS ($sticky)" ;;
  *) fail "persistence broken: $sticky" ;; esac

  # --- reload: weights 1:1, a service removed
  sed -i -e 's/{address: 192.0.2.21, weight: 3}/{address: 192.0.2.21, weight: 1}/' \
    -e '/- name: web-tun/,/- {address: 192.0.2.21}/d' "$WORK/lvsd.yaml"
  kill -HUP "$PID"
  for _ in $(seq 50); do ipvs -Ln | grep -q '192.0.2.202' || break; sleep 0.1; done
  ! ipvs -Ln | grep -q '192.0.2.202' || fail "removed service still in ip_vs"
  pass "a service removed from the config leaves ip_vs on reload"
  assert_eq "$(ipvs -Ln -t 192.0.2.200:80 | awk '$2 == "192.0.2.21:80" {print $4}')" "1" \
    "weight change applied"
  assert_eq "$(split 20 198.51.100.2 http://192.0.2.200/)" "rs1=10 rs2=10" "1:1 after the reload"

  # --- drift behind lvsd's back, and a foreign service
  ipvs -d -t 192.0.2.200:80 -r 192.0.2.22:80
  ipvs -e -t 192.0.2.201:80 -r 192.0.2.21:80 -g -w 9
  ipvs -A -t 192.0.2.250:25 -s rr
  repaired=0
  for _ in $(seq 50); do
    if ipvs -Ln -t 192.0.2.200:80 | grep -q 192.0.2.22:80 &&
      [[ $(ipvs -Ln -t 192.0.2.201:80 | awk '$2 == "192.0.2.21:80" {print $4}') == 2 ]]; then
      repaired=1
      break
    fi
    sleep 0.1
  done
  assert_eq "$repaired" 1 "drift repaired within the reconcile interval"
  assert_contains "$(ipvs -Ln)" "192.0.2.250:25" "a foreign service is left alone"
  assert_eq "$(grep -c 'event=forwarding_drift' "$OUT/lvsd.log")" "2" "both drifts logged"

  # --- stop: keep (default) leaves the table
  kill -TERM "$PID"
  wait "$PID" || fail "lvsd exit status $?"
  trap - EXIT
  assert_contains "$(ipvs -Ln)" "192.0.2.200:80" "on_stop keep leaves the table in place"
  # --- restart with flush, then stop: lvsd's services go, the foreign one stays
  sed -i 's/^  backend: ipvs/  backend: ipvs\n  on_stop: flush/' "$WORK/lvsd.yaml"
  ip netns exec director "$LVSD" --config "$WORK/lvsd.yaml" --status-socket "$SOCK" \
    >>"$OUT/lvsd.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.1; done
  kill -TERM "$PID"
  wait "$PID" || fail "lvsd exit status $?"
  assert_eq "$(ipvs -Ln | grep -cE '^(TCP|UDP|FWM)')" "1" "on_stop flush removes lvsd's services"
  assert_contains "$(ipvs -Ln)" "192.0.2.250:25" "and only those"
  exit 0
fi

# --- on the host -------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || skip "needs root (qemu VM)"
[[ -x $LVSD && -x $LVSCTL ]] || fail "lvsd/lvsctl not built in $BUILD"

# This kernel has no ip_vs: an explicit `backend: ipvs` is a start-up error.
if ! grep -qw ip_vs /proc/modules 2>/dev/null && [[ ! -d /proc/net/ip_vs ]] &&
  ! modprobe -n ip_vs 2>/dev/null; then
  tmp=$(mktemp -d)
  printf 'forwarding: {backend: ipvs}\n' >"$tmp/c.yaml"
  rc=0
  out=$("$LVSD" --config "$tmp/c.yaml" --status-socket "$tmp/s.sock" 2>&1) || rc=$?
  rm -rf "$tmp"
  assert_eq "$rc" "1" "backend: ipvs without ip_vs: lvsd exits 1"
  assert_contains "$out" "modprobe ip_vs" "and says how to fix it"
fi

vm_run_self 280 "$here/$(basename "${BASH_SOURCE[0]}")"
pass "lvsd drives a real ip_vs"
