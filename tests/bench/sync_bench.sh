#!/usr/bin/env bash
# Connection-sync throughput and replication lag (issue #8, "Performance"),
# in the namespace lab: two lvsd directors (userspace engine, VRRP, sync
# following the instance), wrk opening a new connection per request through
# the master's NAT service for D seconds.
#
#   tests/bench/sync_bench.sh [D]       (default 10 s)
#   env: BUILD=build
#
# Printed: new connections/s (wrk), entries/s the master queued and sent,
# entries/s the standby applied, and the replication lag, measured by tracing
# (LVSD_SYNC_TRACE: both sync threads log sampled ESTABLISHED entries with
# CLOCK_MONOTONIC when sent / received; the script joins them), and as a
# cross-check from counters: every ~20 ms the
# script reads the master's `sync.engine.queued` and the standby's
# `sync.engine.applied` (lvsctl); for each master sample (t, q) the lag is the
# time until the standby's applied count reached q (both counters start from
# the same base), measured from just before the master's read to just after
# the standby's read that showed it: an upper bound, as coarse as one sample
# (two lvsctl calls, printed as "sample"); p50/p99/max in ms. At the end: entries the standby holds vs the master's.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD = /* ]] || BUILD=$SRC/$BUILD
LVSD=$BUILD/daemon/lvsd
LVSCTL=$BUILD/daemon/lvsctl
D=${1:-10}
# shellcheck source=../integration/lib/lab.sh
source "$SRC/tests/integration/lib/lab.sh"
lab_require_root
lab_require_cmd wrk jq nginx
lab_up 3
lab_start_http_all
for k in 1 2 3; do
  lab_exec "rs$k" ip rule add from "192.0.2.2$k" lookup 100
  lab_exec "rs$k" ip route add default via 192.0.2.10 table 100
done
for d in dir1 dir2; do
  lab_exec "$d" sysctl -qw net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
done
# The client reuses ports quickly: let TIME_WAIT go.
lab_exec client sysctl -qw net.ipv4.tcp_max_tw_buckets=0 2>/dev/null || true
for d in dir1:150 dir2:100; do
  name=${d%%:*} prio=${d##*:}
  cat >"$LAB_DIR/$name.yaml" <<YAML
global: {logging: {target: console, level: warn}}
forwarding: {backend: userspace, userspace: {queues: 1}}
services:
  - {name: web, address: 192.0.2.200, port: 80, scheduler: rr, method: nat,
     realservers: [{address: 192.0.2.21}, {address: 192.0.2.22}, {address: 192.0.2.23}]}
vrrp:
  instances:
    - {name: VI_1, interface: eth0, vrid: 51, version: 3, priority: $prio, advert_interval: 200ms,
       virtual_addresses: [192.0.2.200/24, 192.0.2.10/24]}
sync: {interface: eth0, role: {follow: VI_1}}
YAML
  lab_bg "$name" "$LAB_DIR/$name.log" env LVSD_SYNC_TRACE="$LAB_DIR/$name.trace" \
    "$LVSD" --config "$LAB_DIR/$name.yaml" --status-socket "$LAB_DIR/$name.sock"
  eval "PID_$name=\$LAB_LAST_PID"
done
ctl() { "$LVSCTL" --socket "$LAB_DIR/$1.sock" "${@:2}"; }
LAB_WAIT_TIMEOUT=15 lab_wait_for sh -c "[ \"\$('$LVSCTL' --socket '$LAB_DIR/dir1.sock' --json vrrp | jq -r '.instances[0].state' | tr A-Z a-z)\" = master ]"
sleep 1

q0=$(ctl dir1 --json sync | jq .engine.queued)
a0=$(ctl dir2 --json sync | jq .engine.applied)
s0=$(ctl dir1 --json sync | jq .sent.entries)
lab_bg client "$LAB_DIR/wrk.out" wrk -t2 -c16 -d"${D}s" -H 'Connection: close' http://192.0.2.200/
WRK=$LAB_LAST_PID
: >"$LAB_DIR/samples"
end=$(($(date +%s) + D + 2))
n=0
while [ "$(date +%s)" -lt "$end" ]; do
  tq=$(date +%s%N)
  q=$(ctl dir1 --json sync | jq .engine.queued)
  a=$(ctl dir2 --json sync | jq .engine.applied)
  ta=$(date +%s%N)
  echo "$tq $((q - q0)) $((a - a0)) $ta" >>"$LAB_DIR/samples"
  n=$((n + 1))
done
wait "$WRK" 2>/dev/null || true
s1=$(ctl dir1 --json sync | jq .sent.entries)
q1=$(ctl dir1 --json sync | jq .engine.queued)
a1=$(ctl dir2 --json sync | jq .engine.applied)
held1=$(ctl dir1 --json forwarding | jq .engine.connections)
held2=$(ctl dir2 --json forwarding | jq .engine.connections)
drops2=$(ctl dir2 --json sync | jq -c '.drops')
engine2=$(ctl dir2 --json sync | jq -c '.engine')
rps=$(awk '/Requests\/sec/ {print $2}' "$LAB_DIR/wrk.out")
# Stop both (SIGTERM) so their trace files are complete, then join them:
# lag = standby's receive time - master's send time of the same connection
# (sampled ESTABLISHED entries; one host, so one CLOCK_MONOTONIC).
kill -TERM "$PID_dir1" "$PID_dir2"
for _ in $(seq 100); do kill -0 "$PID_dir1" 2>/dev/null || kill -0 "$PID_dir2" 2>/dev/null || break; sleep 0.1; done
tlags=$(awk 'FNR == NR { if ($1 == "S" && !($2 in s)) s[$2] = $3; next }
             $1 == "R" && ($2 in s) && !($2 in r) { r[$2] = 1; printf "%.3f\n", ($3 - s[$2]) / 1e6 }' \
  "$LAB_DIR/dir1.trace" "$LAB_DIR/dir2.trace" | sort -n)
tcount=$(echo "$tlags" | grep -c . || true)
tpct() { echo "$tlags" | awk -v p="$1" -v n="$tcount" 'NR == int((n - 1) * p) + 1 {print; exit}'; }
period_ms=$(awk '{s += ($4 - $1) / 1e6} END {printf "%.0f", s / (NR ? NR : 1)}' "$LAB_DIR/samples")
lags=$(awk '
  { t[NR] = $1; q[NR] = $2; a[NR] = $3; ta[NR] = $4 }
  END {
    j = 1
    for (i = 1; i <= NR; i++) {
      while (j <= NR && a[j] < q[i]) j++
      if (j > NR) break
      printf "%.1f\n", (ta[j] - t[i]) / 1e6
    }
  }' "$LAB_DIR/samples" | sort -n)
count=$(echo "$lags" | grep -c . || true)
pct() { echo "$lags" | awk -v p="$1" -v n="$count" 'NR == int((n - 1) * p) + 1 {print; exit}'; }
echo
echo "sync bench: ${D}s of new connections (wrk -c16, Connection: close) through the master's NAT"
printf '  new connections/s (wrk)        %s\n' "$rps"
printf '  entries queued by the master   %s (%s/s)\n' "$((q1 - q0))" "$(((q1 - q0) / D))"
printf '  entries sent                   %s\n' "$((s1 - s0))"
printf '  entries applied by the standby %s (%s/s)\n' "$((a1 - a0))" "$(((a1 - a0) / D))"
printf '  replication lag (ms), traced, %s connections: p50 %s  p99 %s  max %s\n' "$tcount" \
  "$(tpct 0.5)" "$(tpct 0.99)" "$(echo "$tlags" | tail -1)"
printf '  (counter sampling, upper bound as coarse as its %s ms sample: p50 %s  p99 %s)\n' "$period_ms" \
  "$(pct 0.5)" "$(pct 0.99)"
printf '  connections held: master %s, standby %s\n' "$held1" "$held2"
echo "  standby drops: $drops2, engine: $engine2"
