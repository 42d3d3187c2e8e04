#!/usr/bin/env bash
# VRRP between two lvsd directors in the namespace lab (dir1, dir2 on one
# bridge with the client). The client probes the VIP with UDP every 10 ms
# (tests/bench/vrrp_probe); each director runs an echo that answers with its
# name, so the answer says who holds the VIP.
#
# Part A: v3, multicast, an IPv4 instance (192.0.2.200) and an IPv6 one
#   (2001:db8::200), 100 ms adverts. dir1 priority 200, dir2 100.
#   - election: dir1 master of both, dir2 backup, the VIPs only on dir1
#   - SIGKILL dir1: dir2 answers within Master_Down_Interval (+ slack)
#   - restart dir1: it clears the VIPs its killed predecessor left, preempts
#   - SIGTERM dir1: graceful handover, zero lost probes (IPv4 and IPv6)
#   - link down on dir1: failover; link up: dir1 preempts back
# Part B: v2 with password auth (IPv4) and v3 (IPv6), unicast peers, 1 s
#   adverts: election, SIGKILL failover, preemption, graceful SIGTERM.
# Failover times are printed (# failover ...) and bounded by the protocol:
# Master_Down_Interval(100) = 3 x interval + (256-100)/256 x interval (v3) or
# + 156/256 s (v2), measured from the kill, plus SLACK_MS for a loaded host.
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
VIP4=192.0.2.200
VIP6=2001:db8::200

lab_up 1
for d in dir1 dir2; do
  lab_bg "$d" "$LAB_DIR/echo-$d.log" "$PROBE" serve "$PORT" "$d"
done

declare -A PID
# write_conf DIR PRIORITY MODE: MODE a = part A, b = part B.
write_conf() {
  local d=$1 prio=$2 mode=$3 peer4 peer6
  if [ "$d" = dir1 ]; then peer4=$LAB_IP_DIR2 peer6=$LAB_IP6_DIR2; else peer4=$LAB_IP_DIR1 peer6=$LAB_IP6_DIR1; fi
  {
    echo "global: {status_socket: {path: $LAB_DIR/$d.sock}, logging: {level: info}}"
    echo "vrrp:"
    echo "  instances:"
    if [ "$mode" = a ]; then
      cat <<EOF
    - {name: VI_4, interface: eth0, vrid: 51, version: 3, priority: $prio, advert_interval: 100ms,
       virtual_addresses: [$VIP4/24]}
    - {name: VI_6, interface: eth0, vrid: 52, version: 3, priority: $prio, advert_interval: 100ms,
       virtual_addresses: ["$VIP6/64"]}
EOF
    else
      cat <<EOF
    - {name: VI_4, interface: eth0, vrid: 61, version: 2, priority: $prio, advert_interval: 1s,
       auth: {type: pass, password: s3cret}, unicast_peers: [$peer4],
       virtual_addresses: [$VIP4/24]}
    - {name: VI_6, interface: eth0, vrid: 62, version: 3, priority: $prio, advert_interval: 1s,
       unicast_peers: ["$peer6"], virtual_addresses: ["$VIP6/64"]}
EOF
    fi
  } >"$LAB_DIR/$d.yaml"
}
start() {
  local d=$1
  lab_bg "$d" "$LAB_DIR/lvsd-$d.log" "$LVSD" --config "$LAB_DIR/$d.yaml"
  PID[$d]=$LAB_LAST_PID
  lab_wait_for test -S "$LAB_DIR/$d.sock" || fail "lvsd on $d did not start" "$(tail -20 "$LAB_DIR/lvsd-$d.log")"
}
state() { ctl "$1" --json vrrp 2>/dev/null | jq -r ".instances[] | select(.name==\"$2\") | .state"; }
states_are() { # states_are DIR STATE DIR STATE
  [ "$(state "$1" VI_4)" = "$2" ] && [ "$(state "$1" VI_6)" = "$2" ] &&
    [ "$(state "$3" VI_4)" = "$4" ] && [ "$(state "$3" VI_6)" = "$4" ]
}
has_vip() { [[ "$(ip -n "$(lab_ns "$1")" addr show dev eth0)" == *" $2/"* ]]; }
# failover TARGET UNTIL KILL_NS BOUND_MS LABEL (the prober's output in $2.out)
check_failover() {
  local out=$1 until=$2 t0=$3 bound=$4 label=$5 first ms
  [ "$(field "$out" until_reached)" = 1 ] || fail "$label: $until never answered" "$out"
  first=$(field "$out" first_until_ns)
  ms=$(((first - t0) / 1000000))
  echo "# failover $label: ${ms} ms (bound ${bound} ms) [$out]"
  ((ms <= bound)) || fail "$label: failover took ${ms} ms, bound ${bound} ms" "$out"
  pass "$label: $until answers after ${ms} ms"
}
dump_logs() { tail -n 30 "$LAB_DIR"/lvsd-dir*.log; }
trap 'rc=$?; ((rc)) && dump_logs; exit $rc' ERR

# ---------------------------------------------------------------- part A
# v3 Master_Down_Interval(100) at 100 ms = 300 ms + 156/256 x 100 ms.
MDI_A=361
write_conf dir1 200 a
write_conf dir2 100 a
start dir1
start dir2
LAB_WAIT_TIMEOUT=10 lab_wait_for states_are dir1 master dir2 backup ||
  fail "A: no election" "$(ctl dir1 vrrp; ctl dir2 vrrp)"
pass "A: dir1 (200) master of VI_4 and VI_6, dir2 (100) backup"
has_vip dir1 $VIP4 && has_vip dir1 $VIP6 || fail "A: VIPs not on dir1" "$(ip -n "$(lab_ns dir1)" addr)"
! has_vip dir2 $VIP4 && ! has_vip dir2 $VIP6 || fail "A: VIPs on the backup"
pass "A: the VIPs are on dir1 only"
answered_by $VIP4 dir1 || fail "A: $VIP4 not answered by dir1"
answered_by $VIP6 dir1 || fail "A: $VIP6 not answered by dir1"
pass "A: the client reaches dir1 on both VIPs"
assert_eq "$(ctl dir2 --json vrrp | jq -r '.instances[0].master')" "$LAB_IP_DIR1" "A: dir2 sees dir1 as master"
assert_eq "$(ctl dir2 --json vrrp | jq '[.instances[].dropped] | add')" "0" "A: no advert dropped"

# --- SIGKILL the master
probe $VIP4 dir2 5000 3 >"$LAB_DIR/k4.out" &
P4=$!
probe $VIP6 dir2 5000 3 >"$LAB_DIR/k6.out" &
P6=$!
sleep 0.3
T0=$(now_ns)
kill -KILL "${PID[dir1]}"
wait "$P4" "$P6"
check_failover "$(cat "$LAB_DIR/k4.out")" dir2 "$T0" $((MDI_A + SLACK_MS)) "A SIGKILL v3 IPv4"
check_failover "$(cat "$LAB_DIR/k6.out")" dir2 "$T0" $((MDI_A + SLACK_MS)) "A SIGKILL v3 IPv6"
wait "${PID[dir1]}" 2>/dev/null || true

# --- restart: the stale VIPs go, dir1 preempts
start dir1
LAB_WAIT_TIMEOUT=10 lab_wait_for states_are dir1 master dir2 backup || fail "A: dir1 did not preempt"
grep -q "op=clear_stale .*removed=1" "$LAB_DIR/lvsd-dir1.log" ||
  fail "A: the restarted lvsd did not clear the VIPs its killed predecessor left" "$(grep vrrp_addresses "$LAB_DIR/lvsd-dir1.log")"
pass "A: restarted dir1 cleared the stale VIPs and preempted"
no_vip() { ! has_vip "$@"; }
lab_wait_for no_vip dir2 $VIP4 || fail "A: dir2 kept the VIP"
answered_by $VIP4 dir1 || fail "A: $VIP4 not back on dir1"
answered_by $VIP6 dir1 || fail "A: $VIP6 not back on dir1"
pass "A: the client reaches dir1 again"

# --- SIGTERM: graceful, zero loss
probe $VIP4 dir2 5000 50 >"$LAB_DIR/t4.out" &
P4=$!
probe $VIP6 dir2 5000 50 >"$LAB_DIR/t6.out" &
P6=$!
sleep 0.3
T0=$(now_ns)
kill -TERM "${PID[dir1]}"
wait "$P4" "$P6"
RC=0
wait "${PID[dir1]}" || RC=$?
assert_eq "$RC" "0" "A: lvsd on dir1 exits 0 on SIGTERM"
for f in t4 t6; do
  OUT=$(cat "$LAB_DIR/$f.out")
  echo "# graceful $f: $OUT"
  [ "$(field "$OUT" until_reached)" = 1 ] || fail "A SIGTERM $f: dir2 never answered" "$OUT"
  assert_eq "$(field "$OUT" lost)" "0" "A SIGTERM $f: zero lost probes ($(field "$OUT" answered) answered, max gap $(field "$OUT" max_gap_ms) ms)"
done
! has_vip dir1 $VIP4 && ! has_vip dir1 $VIP6 || fail "A: dir1 kept the VIPs after its stop"
pass "A: dir1 removed the VIPs on stop"
grep -q "priority_zero\|event=vrrp_stopped" "$LAB_DIR/lvsd-dir1.log" || true
assert_eq "$(ctl dir2 --json vrrp | jq '[.instances[].adverts.priority_zero_received] | add')" "2" \
  "A: dir2 heard one priority-0 advert per instance"

# --- link down on the master
start dir1
LAB_WAIT_TIMEOUT=10 lab_wait_for states_are dir1 master dir2 backup || fail "A: dir1 did not preempt after restart"
answered_by $VIP4 dir1 || fail "A: $VIP4 not back on dir1 after restart"
probe $VIP4 dir2 5000 3 >"$LAB_DIR/l4.out" &
P4=$!
sleep 0.3
T0=$(now_ns)
ip -n "$(lab_ns dir1)" link set eth0 down
wait "$P4"
check_failover "$(cat "$LAB_DIR/l4.out")" dir2 "$T0" $((MDI_A + SLACK_MS)) "A link down v3 IPv4"
lab_wait_for sh -c "[ \"\$('$LVSCTL' --socket $LAB_DIR/dir1.sock --json vrrp | jq -r .instances[0].state)\" = fault ]" ||
  fail "A: dir1 not in fault with its link down"
assert_contains "$(ctl dir1 --json vrrp | jq -r .instances[0].fault_reason)" "interface eth0 is down" \
  "A: dir1 in FAULT with the reason"
ip -n "$(lab_ns dir1)" link set eth0 up
# IPv6 global addresses go with the link (keep_addr_on_down=0): restore the lab's.
ip -n "$(lab_ns dir1)" addr replace "$LAB_IP6_DIR1/64" dev eth0 nodad
LAB_WAIT_TIMEOUT=10 lab_wait_for states_are dir1 master dir2 backup || fail "A: dir1 did not come back after link up"
answered_by $VIP4 dir1 || fail "A: $VIP4 not back on dir1 after link up"
answered_by $VIP6 dir1 || fail "A: $VIP6 not back on dir1 after link up"
pass "A: link up: dir1 preempts back, the client follows"
kill -TERM "${PID[dir1]}" "${PID[dir2]}"
wait "${PID[dir1]}" "${PID[dir2]}" || true

# ---------------------------------------------------------------- part B
# v2 / v3 at 1 s, priority 100: 3 s + 156/256 s.
MDI_B=3610
write_conf dir1 150 b
write_conf dir2 100 b
start dir2
start dir1
LAB_WAIT_TIMEOUT=15 lab_wait_for states_are dir1 master dir2 backup ||
  fail "B: no election" "$(ctl dir1 vrrp; ctl dir2 vrrp)"
pass "B: unicast v2 (password) and v3 IPv6: dir1 (150) master, dir2 (100) backup"
assert_eq "$(ctl dir2 --json vrrp | jq -r '.instances[0].unicast')" "true" "B: unicast instance"
assert_eq "$(ctl dir2 --json vrrp | jq -r '.channels | map(.joined) | any')" "false" "B: no multicast group joined"
answered_by $VIP4 dir1 || fail "B: $VIP4 not answered by dir1"
answered_by $VIP6 dir1 || fail "B: $VIP6 not answered by dir1"
probe $VIP4 dir2 8000 3 >"$LAB_DIR/bk4.out" &
P4=$!
probe $VIP6 dir2 8000 3 >"$LAB_DIR/bk6.out" &
P6=$!
sleep 0.3
T0=$(now_ns)
kill -KILL "${PID[dir1]}"
wait "$P4" "$P6"
check_failover "$(cat "$LAB_DIR/bk4.out")" dir2 "$T0" $((MDI_B + SLACK_MS)) "B SIGKILL v2 unicast IPv4"
check_failover "$(cat "$LAB_DIR/bk6.out")" dir2 "$T0" $((MDI_B + SLACK_MS)) "B SIGKILL v3 unicast IPv6"
wait "${PID[dir1]}" 2>/dev/null || true
start dir1
LAB_WAIT_TIMEOUT=15 lab_wait_for states_are dir1 master dir2 backup || fail "B: dir1 did not preempt"
answered_by $VIP4 dir1 || fail "B: $VIP4 not back on dir1"
pass "B: restarted dir1 preempts"
probe $VIP4 dir2 5000 50 >"$LAB_DIR/bt4.out" &
P4=$!
probe $VIP6 dir2 5000 50 >"$LAB_DIR/bt6.out" &
P6=$!
sleep 0.3
kill -TERM "${PID[dir1]}"
wait "$P4" "$P6"
for f in bt4 bt6; do
  OUT=$(cat "$LAB_DIR/$f.out")
  echo "# graceful $f: $OUT"
  [ "$(field "$OUT" until_reached)" = 1 ] || fail "B SIGTERM $f: dir2 never answered" "$OUT"
  assert_eq "$(field "$OUT" lost)" "0" "B SIGTERM $f: zero lost probes (max gap $(field "$OUT" max_gap_ms) ms)"
done
assert_eq "$(ctl dir2 --json vrrp | jq '[.instances[].dropped] | add')" "0" "B: dir2 dropped no advert"
grep -c "event=vrrp_transition" "$LAB_DIR"/lvsd-dir*.log | sed 's/^/# transitions logged: /'
