#!/usr/bin/env bash
# VRRP sync groups between two lvsd directors in the namespace lab. v3, IPv4,
# multicast, 100 ms adverts. Both directors group VI_A (192.0.2.210) and VI_B
# (192.0.2.211) in sync group G; dir1 has priority 200, dir2 100; on dir1 only
# VI_A tracks interface trk0 (weight 0). The client probes both VIPs (UDP,
# every 10 ms); each director's echo answers with its name.
#   - election: dir1 master of both, the group MASTER on dir1, BACKUP on dir2;
#   - trk0 loses its carrier: VI_A goes FAULT and takes VI_B with it (the
#     group is FAULT on dir1), both resign, and dir2 answers on both VIPs
#     within Skew_Time(100) = 61 ms (+ slack);
#   - trk0 back: the group restarts as Backup and preempts both VIPs back.
# Times are printed (# switch-over ...).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${LVSD_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
BUILD=${LVSD_BUILD_DIR:-$SRC/build}
source "$HERE/lib/lab.sh"
source "$HERE/lib/assert.sh"
lab_require_root
lab_require_cmd jq
# shellcheck source-path=SCRIPTDIR source=lib/vrrp_lab.sh
source "$HERE/lib/vrrp_lab.sh"
SLACK_MS=${SLACK_MS:-400}
VIPA=192.0.2.210
VIPB=192.0.2.211

lab_up 1
for d in dir1 dir2; do
  lab_bg "$d" "$LAB_DIR/echo-$d.log" "$PROBE" serve "$PORT" "$d"
done
ip -n "$(lab_ns dir1)" link add trk0 type veth peer name trk0p
ip -n "$(lab_ns dir1)" link set trk0 up
ip -n "$(lab_ns dir1)" link set trk0p up

declare -A PID
write_conf() { # DIR PRIORITY TRACK_YAML
  cat <<EOF >"$LAB_DIR/$1.yaml"
global: {status_socket: {path: $LAB_DIR/$1.sock}, logging: {level: info}}
vrrp:
  instances:
    - {name: VI_A, interface: eth0, vrid: 61, version: 3, priority: $2, advert_interval: 100ms,
       virtual_addresses: [$VIPA/24]$3}
    - {name: VI_B, interface: eth0, vrid: 62, version: 3, priority: $2, advert_interval: 100ms,
       virtual_addresses: [$VIPB/24]}
  sync_groups:
    - {name: G, instances: [VI_A, VI_B]}
EOF
}
write_conf dir1 200 ", track: {interfaces: [trk0]}"
write_conf dir2 100 ""
start() {
  local d=$1
  lab_bg "$d" "$LAB_DIR/lvsd-$d.log" "$LVSD" --config "$LAB_DIR/$d.yaml"
  PID[$d]=$LAB_LAST_PID
  lab_wait_for test -S "$LAB_DIR/$d.sock" || fail "lvsd on $d did not start" "$(tail -20 "$LAB_DIR/lvsd-$d.log")"
}
inst() { ctl "$1" --json vrrp 2>/dev/null | jq -r ".instances[] | select(.name==\"$2\") | .$3"; }
group() { ctl "$1" --json vrrp 2>/dev/null | jq -r '.sync_groups[0].state'; }
states_are() { # DIR STATE DIR STATE: both members and the group
  local x
  for x in VI_A VI_B; do
    [ "$(inst "$1" $x state)" = "$2" ] && [ "$(inst "$3" $x state)" = "$4" ] || return 1
  done
  [ "$(group "$1")" = "$2" ] && [ "$(group "$3")" = "$4" ]
}
dump_logs() { tail -n 30 "$LAB_DIR"/lvsd-dir*.log; }
trap 'rc=$?; ((rc)) && dump_logs; exit $rc' ERR

start dir1
start dir2
LAB_WAIT_TIMEOUT=10 lab_wait_for states_are dir1 master dir2 backup ||
  fail "no election" "$(ctl dir1 vrrp; ctl dir2 vrrp)"
pass "dir1 master of VI_A and VI_B, group G master on dir1 and backup on dir2"
answered_by $VIPA dir1 || fail "$VIPA not answered by dir1"
answered_by $VIPB dir1 || fail "$VIPB not answered by dir1"

probe $VIPA dir2 3000 3 >"$LAB_DIR/a.out" &
PA=$!
probe $VIPB dir2 3000 3 >"$LAB_DIR/b.out" &
PB=$!
sleep 0.3
T0=$(now_ns)
ip -n "$(lab_ns dir1)" link set trk0p down
wait "$PA" "$PB"
check_switch "$(cat "$LAB_DIR/a.out")" dir2 "$T0" $((61 + SLACK_MS)) "VI_A (tracked interface down)"
check_switch "$(cat "$LAB_DIR/b.out")" dir2 "$T0" $((61 + SLACK_MS)) "VI_B (follows its group)"
LAB_WAIT_TIMEOUT=5 lab_wait_for states_are dir1 fault dir2 master || fail "group not FAULT on dir1 / MASTER on dir2"
assert_eq "$(inst dir1 VI_B fault_reason)" "sync group G: VI_A in fault" "VI_B in FAULT because of its group"

ip -n "$(lab_ns dir1)" link set trk0p up
LAB_WAIT_TIMEOUT=10 lab_wait_for states_are dir1 master dir2 backup || fail "the group did not come back to dir1"
answered_by $VIPA dir1 || fail "$VIPA not back on dir1"
answered_by $VIPB dir1 || fail "$VIPB not back on dir1"
pass "trk0 back: dir1 preempts both VIPs back"
grep -q "event=vrrp_group_transition group=G from=fault to=backup" "$LAB_DIR/lvsd-dir1.log" ||
  fail "no group transition logged" "$(grep vrrp_group "$LAB_DIR/lvsd-dir1.log")"
assert_eq "$(grep -c "event=vrrp_group_transition group=G from=initialize to=fault" "$LAB_DIR"/lvsd-dir*.log | awk -F: '{s += $2} END {print s}')" \
  "0" "no spurious group FAULT at start"
kill -TERM "${PID[dir1]}" "${PID[dir2]}"
wait "${PID[dir1]}" "${PID[dir2]}" || true
grep -h "event=vrrp_group_transition" "$LAB_DIR"/lvsd-dir*.log | sed 's/^/# /'
