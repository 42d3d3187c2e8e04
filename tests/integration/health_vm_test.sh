#!/usr/bin/env bash
# Health checks decide the ip_vs table: inside the ip_vs VM, lvsd (backend
# ipvs) checks three realservers over HTTP (interval 1s, timeout 500ms, rise 2,
# fall 2; quorum weight 1 with a sorry server) and the test watches
# `ipvsadm -Ln`:
#   - stopping the web server on rs1 takes rs1 out of the table within
#     fall x interval + timeout (plus scheduling slack);
#   - starting it again brings rs1 back after rise x interval;
#   - stopping rs1 and rs2 loses quorum: the sorry server (rs3) alone takes
#     the service, and leaves as soon as quorum returns;
#   - identical checks shared by two services run once (lvsctl checks);
#   - `lvsctl services` shows the health column.
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

if [[ ${1:-} == --in-vm ]]; then
  modprobe -a ip_vs ip_vs_rr veth
  OUT=${LVSD_VM_OUT:-/tmp}
  WORK=$(mktemp -d)
  ip netns add director
  ip -n director link set lo up
  ip -n director link add br0 type bridge
  ip -n director link set br0 up
  ip -n director addr add 192.0.2.1/24 dev br0
  for k in 1 2 3; do
    ip netns add "rs$k"
    ip -n "rs$k" link set lo up
    ip link add r0 netns "rs$k" type veth peer name "d$k" netns director
    ip -n director link set "d$k" master br0 up
    ip -n "rs$k" addr add "192.0.2.2$k/24" dev r0
    ip -n "rs$k" link set r0 up
    mkdir -p "$WORK/www$k"
    echo "rs$k" >"$WORK/www$k/index.html"
    echo ok >"$WORK/www$k/healthz"
  done
  start_http() { ip netns exec "rs$1" busybox httpd -f -p 80 -h "$WORK/www$1" & eval "HTTPD$1=$!"; }
  stop_http() { local v="HTTPD$1"; kill "${!v}" 2>/dev/null || true; wait "${!v}" 2>/dev/null || true; }
  for k in 1 2 3; do start_http "$k"; done

  cat >"$WORK/lvsd.yaml" <<'YAML'
forwarding: {backend: ipvs, reconcile_interval: 30s}
checks:
  - {name: web, type: http, path: /healthz, interval: 1s, timeout: 500ms, rise: 2, fall: 2}
services:
  - name: web
    address: 192.0.2.200
    port: 80
    scheduler: rr
    check: web
    quorum: {weight: 1}
    sorry_server: {address: 192.0.2.23}
    realservers:
      - {address: 192.0.2.21}
      - {address: 192.0.2.22}
  - name: web-alt
    address: 192.0.2.201
    port: 80
    scheduler: rr
    check: web
    realservers:
      - {address: 192.0.2.21}
      - {address: 192.0.2.22}
YAML
  SOCK=$WORK/lvsd.sock
  ip netns exec director "$LVSD" --config "$WORK/lvsd.yaml" --status-socket "$SOCK" \
    >"$OUT/lvsd.log" 2>&1 &
  PID=$!
  trap 'kill $PID 2>/dev/null || true; for k in 1 2 3; do stop_http $k; done' EXIT
  for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.1; done
  [[ -S $SOCK ]] || fail "lvsd did not start" "$(cat "$OUT/lvsd.log")"
  ctl() { "$LVSCTL" --socket "$SOCK" "$@"; }
  dests() { ip netns exec director ipvsadm -Ln -t 192.0.2.200:80 | awk '$1 == "->" && $2 != "RemoteAddress:Port" {print $2}' | sort | paste -sd' '; }
  # wait_dests EXPECTED SECONDS: sets MS to the elapsed ms; fails on timeout
  wait_dests() {
    local start now
    start=$(date +%s%N)
    while :; do
      [[ $(dests) == "$1" ]] && break
      now=$(date +%s%N)
      if (((now - start) / 1000000 > $2 * 1000)); then
        fail "ip_vs dests did not become '$1' within $2 s (now '$(dests)')" "$(tail -20 "$OUT/lvsd.log")"
      fi
      sleep 0.05
    done
    MS=$((($(date +%s%N) - start) / 1000000))
  }

  assert_eq "$(dests)" "192.0.2.21:80 192.0.2.22:80" "both realservers in ip_vs at start"
  checks=$(ctl --json services)
  assert_contains "$checks" '"health": "up"' "lvsctl services shows health"
  # Two services share the same check of the same two realservers: 2 checkers, not 4.
  assert_eq "$(grep -o 'event=checkers_configured checkers=[0-9]*' "$OUT/lvsd.log" | head -1)" \
    "event=checkers_configured checkers=2" "identical checks run once"

  # rs1 down: out within fall*interval + timeout = 2.5 s (+1 s slack for the
  # check phase and TCG).
  stop_http 1
  wait_dests "192.0.2.22:80" 4
  pass "rs1 left ip_vs ${MS} ms after its server stopped (bound 2500 ms + one interval of phase)"
  assert_contains "$(ctl services)" "down" "lvsctl services shows rs1 down"
  # rs1 back: in after rise*interval = 2 s (+ phase).
  start_http 1
  wait_dests "192.0.2.21:80 192.0.2.22:80" 4
  pass "rs1 back in ip_vs ${MS} ms after its server started"

  # Quorum (weight 1) lost when rs1 and rs2 are both down: the sorry server alone.
  stop_http 1
  stop_http 2
  wait_dests "192.0.2.23:80" 5
  pass "quorum lost: the sorry server alone serves the VIP (${MS} ms)"
  assert_contains "$(grep event=quorum_down "$OUT/lvsd.log")" 'service="tcp 192.0.2.200:80"' \
    "quorum_down logged"
  # One back: weight 1 >= 1, quorum up: the sorry server leaves in the same
  # plan update that brings rs1 in.
  start_http 1
  wait_dests "192.0.2.21:80" 5
  pass "quorum back: rs1 replaces the sorry server (${MS} ms)"
  start_http 2
  wait_dests "192.0.2.21:80 192.0.2.22:80" 5
  pass "rs2 back too (${MS} ms)"
  assert_contains "$(grep event=quorum_up "$OUT/lvsd.log")" 'service="tcp 192.0.2.200:80"' \
    "quorum_up logged"
  kill -TERM "$PID"
  wait "$PID" || fail "lvsd exit status $?"
  trap - EXIT
  for k in 1 2 3; do stop_http "$k"; done
  exit 0
fi

[[ $(id -u) -eq 0 ]] || skip "needs root (qemu VM)"
[[ -x $LVSD && -x $LVSCTL ]] || fail "lvsd/lvsctl not built in $BUILD"
vm_run_self 280 "$here/$(basename "${BASH_SOURCE[0]}")"
pass "health checks drive the ip_vs table"
