#!/usr/bin/env bash
# VRRP tracking between two lvsd directors in the namespace lab. v3, IPv4,
# multicast, 100 ms adverts; the client probes the VIP (UDP, every 10 ms) and
# each director's echo answers with its name.
#   dir1: priority 200, tracks interface trk0 (weight 0: no carrier = FAULT)
#         and the quorum of service "web" (weight -150: down = priority 50),
#         whose only realserver is rs1's nginx (http check of /healthz every
#         100 ms, fall 1, rise 1).
#   dir2: priority 100, no trackers.
# Cases:
#   - trk0 loses its carrier on dir1: dir1 goes FAULT (resigns with priority 0), dir2
#     answers within Skew_Time(100) = 61 ms (+ slack); trk0 up: dir1 preempts
#     back;
#   - nginx stopped on rs1: the quorum of web goes down, dir1 re-advertises
#     with priority 50 and dir2 takes over within Master_Down_Interval(100) =
#     361 ms of the quorum event (+ slack);
#   - nginx started again: quorum up, dir1 back to 200 and preempts within the
#     Master_Down_Interval it had armed at priority 50 (380 ms, + slack).
# Times are printed (# switch-over ...).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${LVSD_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
BUILD=${LVSD_BUILD_DIR:-$SRC/build}
source "$HERE/lib/lab.sh"
source "$HERE/lib/assert.sh"
lab_require_root
lab_require_cmd jq nginx
# shellcheck source-path=SCRIPTDIR source=lib/vrrp_lab.sh
source "$HERE/lib/vrrp_lab.sh"
SLACK_MS=${SLACK_MS:-400}
VIP=192.0.2.200

lab_up 1
lab_start_http 1 || fail "nginx on rs1 did not start"
for d in dir1 dir2; do
  lab_bg "$d" "$LAB_DIR/echo-$d.log" "$PROBE" serve "$PORT" "$d"
done
# trk0: one end of a veth pair inside dir1; taking the other end (trk0p) down
# removes trk0's carrier (IFF_RUNNING), as a pulled cable would.
ip -n "$(lab_ns dir1)" link add trk0 type veth peer name trk0p
ip -n "$(lab_ns dir1)" link set trk0 up
ip -n "$(lab_ns dir1)" link set trk0p up

declare -A PID
cat >"$LAB_DIR/dir1.yaml" <<EOF
global: {status_socket: {path: $LAB_DIR/dir1.sock}, logging: {level: info}}
forwarding: {backend: userspace, userspace: {queues: 1}}
checks:
  - {name: healthz, type: http, path: /healthz, status: [200-299], interval: 100ms,
     timeout: 80ms, rise: 1, fall: 1}
services:
  - {name: web, address: 192.0.2.201, port: 80, scheduler: rr, method: nat, check: healthz,
     realservers: [{address: ${LAB_IP_RS[1]}}]}
vrrp:
  instances:
    - {name: VI_4, interface: eth0, vrid: 51, version: 3, priority: 200, advert_interval: 100ms,
       virtual_addresses: [$VIP/24],
       track: {interfaces: [trk0], services: [{name: web, weight: -150}]}}
EOF
cat >"$LAB_DIR/dir2.yaml" <<EOF
global: {status_socket: {path: $LAB_DIR/dir2.sock}, logging: {level: info}}
vrrp:
  instances:
    - {name: VI_4, interface: eth0, vrid: 51, version: 3, priority: 100, advert_interval: 100ms,
       virtual_addresses: [$VIP/24]}
EOF
start() {
  local d=$1
  lab_bg "$d" "$LAB_DIR/lvsd-$d.log" "$LVSD" --config "$LAB_DIR/$d.yaml"
  PID[$d]=$LAB_LAST_PID
  lab_wait_for test -S "$LAB_DIR/$d.sock" || fail "lvsd on $d did not start" "$(tail -20 "$LAB_DIR/lvsd-$d.log")"
}
inst() { ctl "$1" --json vrrp 2>/dev/null | jq -r ".instances[0].$2"; }
states_are() { [ "$(inst "$1" state)" = "$2" ] && [ "$(inst "$3" state)" = "$4" ]; }
# The time (ns since the epoch) of the last log line of DIR matching RE.
log_ns() {
  local line
  line=$(grep -E "$2" "$LAB_DIR/lvsd-$1.log" | tail -1)
  [ -n "$line" ] || return 1
  # lvsd's log lines start with its local time, e.g. 2026-11-22T08:47:51.590
  # (spdlog's default; lvsd inherits this shell's TZ).
  date -d "${line%% *}" +%s%N
}
dump_logs() { tail -n 30 "$LAB_DIR"/lvsd-dir*.log; }
trap 'rc=$?; ((rc)) && dump_logs; exit $rc' ERR

start dir1
start dir2
LAB_WAIT_TIMEOUT=10 lab_wait_for states_are dir1 master dir2 backup ||
  fail "no election" "$(ctl dir1 vrrp; ctl dir2 vrrp)"
answered_by $VIP dir1 || fail "$VIP not answered by dir1"
assert_eq "$(inst dir1 effective_priority)" "200" "dir1 at 200 with trk0 up and web's quorum up"
assert_eq "$(ctl dir1 --json vrrp | jq -c '[.instances[0].trackers[] | [.kind, .name, .weight]]')" \
  '[["interface","trk0",0],["service","web",-150]]' "dir1 lists its trackers"
assert_eq "$(ctl dir1 --json vrrp | jq -r '.instances[0].unsupported // [] | length')" "0" \
  "trackers are not reported unsupported"

# --- tracked interface loses its carrier: FAULT, dir2 takes over at Skew_Time
probe $VIP dir2 3000 3 >"$LAB_DIR/i.out" &
P=$!
sleep 0.3
T0=$(now_ns)
ip -n "$(lab_ns dir1)" link set trk0p down
wait "$P"
check_switch "$(cat "$LAB_DIR/i.out")" dir2 "$T0" $((61 + SLACK_MS)) "tracked interface down"
lab_wait_for sh -c "[ \"\$('$LVSCTL' --socket $LAB_DIR/dir1.sock --json vrrp | jq -r .instances[0].state)\" = fault ]" ||
  fail "dir1 not in FAULT"
assert_eq "$(inst dir1 fault_reason)" "tracked interface trk0 down" "dir1 in FAULT because of trk0"
ip -n "$(lab_ns dir1)" link set trk0p up
LAB_WAIT_TIMEOUT=10 lab_wait_for states_are dir1 master dir2 backup || fail "dir1 did not preempt after trk0 came back"
answered_by $VIP dir1 || fail "$VIP not back on dir1 after trk0 came back"
pass "trk0 carrier back: dir1 preempts back"

# --- tracked service loses its quorum: priority 50, dir2 takes over
probe $VIP dir2 5000 3 >"$LAB_DIR/s.out" &
P=$!
sleep 0.3
T0=$(now_ns)
lab_stop_http 1
wait "$P"
TQ=$(log_ns dir1 'event=quorum_down service=') || fail "no quorum_down logged on dir1"
OUT=$(cat "$LAB_DIR/s.out")
echo "# nginx stop -> dir2 answers: $((($(field "$OUT" first_until_ns) - T0) / 1000000)) ms"
check_switch "$OUT" dir2 "$TQ" $((361 + SLACK_MS)) "service quorum down (from the quorum event)"
LAB_WAIT_TIMEOUT=5 lab_wait_for states_are dir1 backup dir2 master || fail "dir1 did not step down"
assert_eq "$(inst dir1 effective_priority)" "50" "dir1 at 200 - 150 while web has no quorum"

# --- quorum back: dir1 preempts
probe $VIP dir1 5000 3 >"$LAB_DIR/r.out" &
P=$!
sleep 0.3
lab_start_http 1 || fail "nginx on rs1 did not restart"
wait "$P"
TQ=$(log_ns dir1 'event=quorum_up service=') || fail "no quorum_up logged on dir1"
check_switch "$(cat "$LAB_DIR/r.out")" dir1 "$TQ" $((380 + SLACK_MS)) "service quorum back (preempt, from the quorum event)"
LAB_WAIT_TIMEOUT=5 lab_wait_for states_are dir1 master dir2 backup || fail "dir1 not master again"
assert_eq "$(inst dir1 effective_priority)" "200" "dir1 back at 200"
kill -TERM "${PID[dir1]}" "${PID[dir2]}"
wait "${PID[dir1]}" "${PID[dir2]}" || true
grep -c "event=vrrp_transition" "$LAB_DIR"/lvsd-dir*.log | sed 's/^/# transitions logged: /'
