#!/usr/bin/env bash
# vrrp_failover: VRRP failover time in the namespace lab, lvsd and keepalived
# side by side in the same run (issue #7, Performance).
#
#   tests/bench/vrrp_failover.sh [REPS] [INTERVALS_MS] [STABILITY_S]
#     REPS          SIGKILL repetitions per (implementation, interval), default 5
#     INTERVALS_MS  advert intervals, default "1000 100 10" (VRRPv3); "-" = none
#     STABILITY_S   then, per implementation, run a 10 ms pair this long with
#                   both cores busy (two CPU hogs per director namespace) and
#                   count backup->master transitions of the backup (spurious
#                   takeovers); default 0 = skip. env STABILITY_IMPLS: which
#                   of "lvsd keepalived" (default both); env CHECKS: HTTP checks
#                   per second each lvsd director runs meanwhile (default 0);
#                   env HOGS: CPU hogs per director namespace (default 2),
#                   HOG_NICE: their nice value (default 0; 19 keeps both
#                   cores busy while leaving the checkers and the realserver
#                   what they need)
#
# Per repetition: dir1 (priority 200) is master, dir2 (100) backup; the client
# probes the VIP over UDP every 10 ms (vrrp_probe); dir1's daemon gets SIGKILL;
# the failover time is from the kill to the first answer from dir2. Then dir1
# restarts and preempts back. One SIGTERM per (implementation, interval) counts
# the probes lost in a planned switchover.
#
# Also per repetition, from a capture in the client's namespace: the time from
# the dead master's last advert to the backup's first advert as master -- the
# quantity Master_Down_Interval bounds, to the microsecond (the probes see
# the failover only at their 10 ms grid).
#
# Output: one line per (implementation, interval): median, p90 and max failover,
# the protocol bound Master_Down_Interval(100) = 3 x interval + 156/256 x
# interval, median/bound, and the probes lost on SIGTERM. Needs root, ip,
# keepalived, jq; build dir from LVSD_BUILD_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${LVSD_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
BUILD=${LVSD_BUILD_DIR:-$SRC/build}
source "$SRC/tests/integration/lib/lab.sh"
lab_require_root
lab_require_cmd jq keepalived tcpdump
REPS=${1:-5}
INTERVALS=${2:-"1000 100 10"}
[ "$INTERVALS" = - ] && INTERVALS=""
STABILITY_S=${3:-0}
CHECK_LOAD=0 # set per implementation in the stability run
LVSD=$BUILD/daemon/lvsd
PROBE=$BUILD/tests/bench/vrrp_probe
PORT=7777
VIP=192.0.2.200

lab_up 1
for d in dir1 dir2; do
  lab_bg "$d" "$LAB_DIR/echo-$d.log" "$PROBE" serve "$PORT" "$d"
done

declare -A PID CHILD
conf() { # conf IMPL DIR PRIO INTERVAL_MS
  local impl=$1 d=$2 prio=$3 ms=$4
  if [ "$impl" = lvsd ]; then
    cat >"$LAB_DIR/$d.yaml" <<EOF
global: {status_socket: {path: $LAB_DIR/$d.sock}}
vrrp:
  instances:
    - {name: VI_1, interface: eth0, vrid: 51, version: 3, priority: $prio,
       advert_interval: ${ms}ms, virtual_addresses: [$VIP/24]}
EOF
    # Checker load on the same daemon (stability run): CHECK_LOAD HTTP
    # checks per second, each its own service on VIP port 10000+i with rs1
    # as the realserver and a distinct path (so none is deduplicated).
    if ((CHECK_LOAD > 0)); then
      {
        echo "checks:"
        for ((i = 0; i < CHECK_LOAD; i++)); do
          echo "  - {name: c$i, type: http, path: /c$i, interval: 1s, timeout: 1s, rise: 2, fall: 3}"
        done
        echo "services:"
        for ((i = 0; i < CHECK_LOAD; i++)); do
          echo "  - {name: s$i, address: 192.0.2.250, port: $((10000 + i)), scheduler: rr, method: nat, check: c$i, realservers: [{address: 192.0.2.21, port: 80}]}"
        done
      } >>"$LAB_DIR/$d.yaml"
    fi
  else
    cat >"$LAB_DIR/$d.conf" <<EOF
global_defs { router_id $d }
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  version 3
  priority $prio
  advert_int $(awk "BEGIN{print $ms/1000}")
  virtual_ipaddress {
    $VIP/24 dev eth0
  }
}
EOF
  fi
}
start() { # start IMPL DIR
  local impl=$1 d=$2
  if [ "$impl" = lvsd ]; then
    lab_bg "$d" "$LAB_DIR/$impl-$d.log" "$LVSD" --config "$LAB_DIR/$d.yaml"
    PID[$d]=$LAB_LAST_PID
    CHILD[$d]=""
  else
    rm -f "$LAB_DIR/ka-$d"*.pid
    lab_bg "$d" "$LAB_DIR/$impl-$d.log" keepalived -f "$LAB_DIR/$d.conf" -n -l -G -P \
      -p "$LAB_DIR/ka-$d.pid" -r "$LAB_DIR/ka-$d-vrrp.pid" -c "$LAB_DIR/ka-$d-chk.pid" \
      -b "$LAB_DIR/ka-$d-bfd.pid"
    PID[$d]=$LAB_LAST_PID
    lab_wait_for test -s "$LAB_DIR/ka-$d-vrrp.pid"
    CHILD[$d]=$(cat "$LAB_DIR/ka-$d-vrrp.pid")
  fi
}
stop() { # stop DIR SIGNAL
  local d=$1 sig=$2
  if [ "$sig" = KILL ]; then
    kill -KILL "${PID[$d]}" ${CHILD[$d]:+"${CHILD[$d]}"} 2>/dev/null || true
  else
    kill -TERM "${PID[$d]}" 2>/dev/null || true
  fi
  wait "${PID[$d]}" 2>/dev/null || true
  for _ in $(seq 100); do
    [ -n "${CHILD[$d]}" ] && lab__alive "${CHILD[$d]}" || break
    sleep 0.05
  done
  # A killed daemon leaves its VIP; lvsd would clear it at restart, keepalived
  # not necessarily: start every repetition from the same clean state.
  ip -n "$(lab_ns "$d")" addr del "$VIP/24" dev eth0 2>/dev/null || true
}
field() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }
probe() { lab_exec client "$PROBE" probe "$VIP" "$PORT" 10 "$2" "$1" "${3:-1}"; }
owns() { [ "$(field "$(probe "$1" 1000 5)" until_reached)" = 1 ]; }
only_dir1_has_vip() {
  [[ "$(ip -n "$(lab_ns dir1)" addr show dev eth0)" == *" $VIP/"* ]] &&
    [[ "$(ip -n "$(lab_ns dir2)" addr show dev eth0)" != *" $VIP/"* ]]
}
stats() { # stats N... -> "median p90 max"
  printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {
    m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
    p = a[int(0.9 * NR + 0.999)]; if (p == "") p = a[NR]
    printf "%.0f %.0f %.0f\n", m, p, a[NR] }'
}

printf '%-10s %8s %10s %8s %8s %9s %9s %12s\n' impl interval median_ms p90_ms max_ms bound_ms med/bound sigterm_lost
for ms in $INTERVALS; do
  bound=$(awk "BEGIN{printf \"%.1f\", 3*$ms + 156/256*$ms}")
  for impl in lvsd keepalived; do
    conf "$impl" dir1 200 "$ms"
    conf "$impl" dir2 100 "$ms"
    start "$impl" dir2
    start "$impl" dir1
    times=()
    wire=()
    for ((r = 0; r < REPS; r++)); do
      LAB_WAIT_TIMEOUT=20 lab_wait_for only_dir1_has_vip || { echo "$impl $ms: dir1 not master" >&2; exit 1; }
      LAB_WAIT_TIMEOUT=10 lab_wait_for owns dir1 || { echo "$impl $ms: dir1 not answering" >&2; exit 1; }
      # The wire, seen from the client: the dead master's last advert and
      # the backup's first one as master (it sends one at once on taking
      # over, RFC 5798 6.4.2), to the microsecond.
      : >"$LAB_DIR/wire.txt"
      lab_bg client "$LAB_DIR/wire.txt" tcpdump -i eth0 -n -tt -l -U vrrp
      dump=$LAB_LAST_PID
      probe dir2 $((4 * ms + 3000)) 3 >"$LAB_DIR/p.out" &
      p=$!
      # Long enough for the capture to see an advert of the master, plus a
      # random phase between the kill and the probes' 10 ms grid.
      sleep "$(awk -v ms="$ms" -v r=$((RANDOM % 100)) 'BEGIN { printf "%.3f", 0.2 + 1.2 * ms / 1000 + r / 10000 }')"
      t0=$(date +%s%N)
      stop dir1 KILL
      wait "$p"
      sleep 0.05
      lab_kill "$dump" || true
      out=$(cat "$LAB_DIR/p.out")
      [ "$(field "$out" until_reached)" = 1 ] || { echo "$impl $ms: no failover: $out" >&2; exit 1; }
      times+=($((($(field "$out" first_until_ns) - t0) / 1000)))
      # Last advert from dir1 (192.0.2.11) before the first from dir2 (.12).
      w=$(awk '$3 == "192.0.2.11" { last = $1 } $3 == "192.0.2.12" && last != "" { printf "%d\n", ($1 - last) * 1000000; exit }' "$LAB_DIR/wire.txt")
      [ -n "$w" ] && wire+=("$w")
      start "$impl" dir1
    done
    # One planned switchover.
    LAB_WAIT_TIMEOUT=20 lab_wait_for only_dir1_has_vip
    LAB_WAIT_TIMEOUT=10 lab_wait_for owns dir1
    probe dir2 $((4 * ms + 3000)) 20 >"$LAB_DIR/p.out" &
    p=$!
    sleep 0.2
    stop dir1 TERM
    wait "$p"
    lost=$(field "$(cat "$LAB_DIR/p.out")" lost)
    stop dir2 TERM
    read -r med p90 max < <(stats "${times[@]}")
    printf '%-10s %6sms %10.1f %8.1f %8.1f %9s %9.3f %12s\n' "$impl" "$ms" \
      "$(awk "BEGIN{print $med/1000}")" "$(awk "BEGIN{print $p90/1000}")" \
      "$(awk "BEGIN{print $max/1000}")" "$bound" "$(awk "BEGIN{print $med/1000/$bound}")" "$lost"
    echo "#   $impl ${ms}ms runs (us): ${times[*]}"
    if ((${#wire[@]} > 0)); then
      read -r wmed wp90 wmax < <(stats "${wire[@]}")
      printf '#   %s %sms on the wire, last advert of the master -> first advert of the backup: median %.2f ms, p90 %.2f, max %.2f (%s of %s runs); median/bound %.3f\n' \
        "$impl" "$ms" "$(awk "BEGIN{print $wmed/1000}")" "$(awk "BEGIN{print $wp90/1000}")" \
        "$(awk "BEGIN{print $wmax/1000}")" "${#wire[@]}" "$REPS" "$(awk "BEGIN{print $wmed/1000/$bound}")"
      echo "#   $impl ${ms}ms wire runs (us): ${wire[*]}"
    fi
  done
done

if ((STABILITY_S > 0)); then
  echo "# stability: 10 ms adverts for ${STABILITY_S}s, ${HOGS:-2} CPU hog(s) at nice ${HOG_NICE:-0} in each director namespace"
  if ((${CHECKS:-0} > 0)); then
    lab_start_http 1
    echo "# and ${CHECKS} HTTP checks per second in each lvsd director (to rs1's nginx)"
  fi
  for impl in ${STABILITY_IMPLS:-lvsd keepalived}; do
    CHECK_LOAD=$([ "$impl" = lvsd ] && echo "${CHECKS:-0}" || echo 0)
    conf "$impl" dir1 200 10
    conf "$impl" dir2 100 10
    start "$impl" dir2
    start "$impl" dir1
    LAB_WAIT_TIMEOUT=20 lab_wait_for only_dir1_has_vip
    sleep 1
    hogs=()
    for d in dir1 dir2; do
      for ((h = 0; h < ${HOGS:-2}; h++)); do
        lab_bg "$d" /dev/null nice -n "${HOG_NICE:-0}" sh -c 'while :; do :; done'
        hogs+=("$LAB_LAST_PID")
      done
    done
    before=$(grep -c -i "to=master\|Entering MASTER STATE" "$LAB_DIR/$impl-dir2.log" || true)
    access=$LAB_DIR/nginx-rs1/logs/access.log
    served0=$( ((CHECK_LOAD > 0)) && wc -l <"$access" || echo 0)
    read -r _ u0 n0 s0 i0 w0 q0 sq0 _ </proc/stat
    sleep "$STABILITY_S"
    read -r _ u1 n1 s1 i1 w1 q1 sq1 _ </proc/stat
    busy=$(((u1 + n1 + s1 + q1 + sq1) - (u0 + n0 + s0 + q0 + sq0)))
    idle=$(((i1 + w1) - (i0 + w0)))
    echo "# $impl: the machine's CPUs were $((100 * busy / (busy + idle)))% busy over the run ($(nproc) CPUs)"
    after=$(grep -c -i "to=master\|Entering MASTER STATE" "$LAB_DIR/$impl-dir2.log" || true)
    if ((CHECK_LOAD > 0)); then
      served1=$(wc -l <"$access")
      echo "# $impl: rs1's nginx served $(((served1 - served0) / STABILITY_S)) checks/s (both directors)"
    fi
    if ((CHECK_LOAD > 0)); then
      for d in dir1 dir2; do
        ctl=$("$BUILD/daemon/lvsctl" -s "$LAB_DIR/$d.sock" -t 30 --json checks 2>/dev/null |
          jq -c '(.data // .).checkers | [(map(.attempts) | add), (map(select(.state != "up")) | length)]' || echo "?")
        echo "# $impl $d: [check attempts, checkers not up] = $ctl"
      done
    fi
    ((${#hogs[@]} == 0)) || lab_kill "${hogs[@]}" || true
    stop dir1 TERM
    stop dir2 TERM
    echo "stability $impl: backup took over $((after - before)) times in ${STABILITY_S}s"
  done
fi
