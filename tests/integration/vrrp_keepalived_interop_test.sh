#!/usr/bin/env bash
# lvsd and a real keepalived (Debian's package) as VRRP peers in the lab, in
# both roles, VRRPv2 with password authentication and VRRPv3 (IPv4 and IPv6):
# the higher priority is always the one elected, and failover works both ways
# (SIGKILL: the survivor takes over; restart: the higher one preempts back;
# SIGTERM: priority-0 handover). Who holds the VIP is what the client sees:
# each director runs an echo that answers with its name (tests/bench/vrrp_probe).
#
# keepalived runs in its namespace as `keepalived -f CONF -n -l -D -G -P` with
# its own pid files (-p, -r, -c, -b), so it never touches /run/keepalived.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${LVSD_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
BUILD=${LVSD_BUILD_DIR:-$SRC/build}
source "$HERE/lib/lab.sh"
source "$HERE/lib/assert.sh"
lab_require_root
if ! command -v keepalived >/dev/null 2>&1; then
  # The Debian package is the reference peer (scripts/install-deps.sh).
  DEBIAN_FRONTEND=noninteractive apt-get install -y keepalived >/dev/null 2>&1 || true
fi
lab_require_cmd jq keepalived
# shellcheck source-path=SCRIPTDIR source=lib/vrrp_lab.sh
source "$HERE/lib/vrrp_lab.sh"
SLACK_MS=${SLACK_MS:-600}
VIP4=192.0.2.200
VIP6=2001:db8::200
echo "# $(keepalived --version 2>&1 | head -1)"

lab_up 1
for d in dir1 dir2; do
  lab_bg "$d" "$LAB_DIR/echo-$d.log" "$PROBE" serve "$PORT" "$d"
done

# ------------------------------------------------------------ configs
# MODE v2: one IPv4 instance, version 2, auth PASS, 1 s.
# MODE v3: an IPv4 and an IPv6 instance, version 3, 100 ms.
keepalived_conf() {
  local d=$1 prio=$2 mode=$3
  {
    echo "global_defs { router_id ka-$d }"
    if [ "$mode" = v2 ]; then
      cat <<EOF
vrrp_instance VI_4 {
  state BACKUP
  interface eth0
  virtual_router_id 61
  version 2
  priority $prio
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress {
    $VIP4/24 dev eth0
  }
}
EOF
    else
      cat <<EOF
vrrp_instance VI_4 {
  state BACKUP
  interface eth0
  virtual_router_id 71
  version 3
  priority $prio
  advert_int 0.1
  virtual_ipaddress {
    $VIP4/24 dev eth0
  }
}
vrrp_instance VI_6 {
  state BACKUP
  interface eth0
  virtual_router_id 72
  version 3
  priority $prio
  advert_int 0.1
  virtual_ipaddress {
    $VIP6/64 dev eth0
  }
}
EOF
    fi
  } >"$LAB_DIR/ka-$d.conf"
}
lvsd_conf() {
  local d=$1 prio=$2 mode=$3
  {
    echo "global: {status_socket: {path: $LAB_DIR/$d.sock}}"
    echo "vrrp:"
    echo "  instances:"
    if [ "$mode" = v2 ]; then
      echo "    - {name: VI_4, interface: eth0, vrid: 61, version: 2, priority: $prio, advert_interval: 1s,"
      echo "       auth: {type: pass, password: s3cret}, virtual_addresses: [$VIP4/24]}"
    else
      echo "    - {name: VI_4, interface: eth0, vrid: 71, version: 3, priority: $prio, advert_interval: 100ms,"
      echo "       virtual_addresses: [$VIP4/24]}"
      echo "    - {name: VI_6, interface: eth0, vrid: 72, version: 3, priority: $prio, advert_interval: 100ms,"
      echo "       virtual_addresses: [\"$VIP6/64\"]}"
    fi
  } >"$LAB_DIR/$d.yaml"
}

declare -A PID
start_keepalived() {
  local d=$1
  rm -f "$LAB_DIR"/ka-"$d"*.pid
  lab_bg "$d" "$LAB_DIR/ka-$d.log" keepalived -f "$LAB_DIR/ka-$d.conf" -n -l -D -G -P \
    -p "$LAB_DIR/ka-$d.pid" -r "$LAB_DIR/ka-$d-vrrp.pid" -c "$LAB_DIR/ka-$d-chk.pid" \
    -b "$LAB_DIR/ka-$d-bfd.pid"
  PID[$d]=$LAB_LAST_PID
  lab_wait_for test -s "$LAB_DIR/ka-$d-vrrp.pid" ||
    fail "keepalived on $d did not start" "$(tail -20 "$LAB_DIR/ka-$d.log")"
}
# Kills keepalived's parent and VRRP child at once (a crash: no priority 0).
kill_keepalived() {
  local d=$1 sig=$2 child
  child=$(cat "$LAB_DIR/ka-$d-vrrp.pid" 2>/dev/null || true)
  if [ "$sig" = KILL ]; then
    kill -KILL "${PID[$d]}" ${child:+"$child"} 2>/dev/null || true
  else
    kill -TERM "${PID[$d]}"
  fi
  for _ in $(seq 100); do
    lab__alive "${PID[$d]}" || { [ -n "$child" ] && lab__alive "$child"; } || break
    sleep 0.05
  done
  wait "${PID[$d]}" 2>/dev/null || true
}
start_lvsd() {
  local d=$1
  lab_bg "$d" "$LAB_DIR/lvsd-$d.log" "$LVSD" --config "$LAB_DIR/$d.yaml"
  PID[$d]=$LAB_LAST_PID
  lab_wait_for test -S "$LAB_DIR/$d.sock" || fail "lvsd on $d did not start" "$(tail -20 "$LAB_DIR/lvsd-$d.log")"
}
stop_lvsd() {
  kill -"$2" "${PID[$1]}" 2>/dev/null || true
  wait "${PID[$1]}" 2>/dev/null || true
}
lstate() { ctl "$1" --json vrrp 2>/dev/null | jq -r ".instances[] | select(.name==\"$2\") | .state"; }
has_vip() { [[ "$(ip -n "$(lab_ns "$1")" addr show dev eth0)" == *" $2/"* ]]; }
no_vip() { ! has_vip "$@"; }
check_failover() {
  local out=$1 until=$2 t0=$3 bound=$4 label=$5 ms
  [ "$(field "$out" until_reached)" = 1 ] || fail "$label: $until never answered" "$out"
  ms=$((($(field "$out" first_until_ns) - t0) / 1000000))
  echo "# failover $label: ${ms} ms (bound ${bound} ms, lost $(field "$out" lost))"
  ((ms <= bound)) || fail "$label: took ${ms} ms, bound ${bound} ms" "$out"
  pass "$label: $until answers after ${ms} ms"
}
dump_logs() { tail -n 25 "$LAB_DIR"/ka-dir*.log "$LAB_DIR"/lvsd-dir*.log 2>/dev/null; }
trap 'rc=$?; ((rc)) && dump_logs; exit $rc' ERR

# instances MODE: the instance names of a mode; vips MODE: its VIPs.
instances() { if [ "$1" = v2 ]; then echo VI_4; else echo VI_4 VI_6; fi; }
vips() { if [ "$1" = v2 ]; then echo $VIP4; else echo $VIP4 $VIP6; fi; }
lvsd_all() { # lvsd_all DIR STATE MODE
  local i
  for i in $(instances "$3"); do [ "$(lstate "$1" "$i")" = "$2" ] || return 1; done
}
holds_all() { # holds_all DIR MODE: the VIPs are on DIR and not on the other
  local v other=dir1
  [ "$1" = dir1 ] && other=dir2
  for v in $(vips "$2"); do has_vip "$1" "$v" && no_vip "$other" "$v" || return 1; done
}
answered_all() { # answered_all NAME MODE
  local v
  for v in $(vips "$2"); do answered_by "$v" "$1" || return 1; done
}

# One mode, both roles. MDI_MS: Master_Down_Interval of the priority-100 side.
run_mode() {
  local mode=$1 mdi=$2 wait_s=$3 t0 out
  local limit=$((wait_s))

  # --- keepalived master (dir1, 200), lvsd backup (dir2, 100)
  keepalived_conf dir1 200 "$mode"
  lvsd_conf dir2 100 "$mode"
  start_keepalived dir1
  start_lvsd dir2
  LAB_WAIT_TIMEOUT=$limit lab_wait_for holds_all dir1 "$mode" || fail "$mode: keepalived (200) not master"
  LAB_WAIT_TIMEOUT=$limit lab_wait_for lvsd_all dir2 backup "$mode" || fail "$mode: lvsd (100) not backup"
  assert_eq "$(ctl dir2 --json vrrp | jq -r '.instances[0].master')" "$LAB_IP_DIR1" \
    "$mode: lvsd backup sees keepalived ($LAB_IP_DIR1) as master"
  assert_eq "$(ctl dir2 --json vrrp | jq '[.instances[].dropped] | add')" "0" \
    "$mode: lvsd accepts every keepalived advert (auth, checksum, interval)"
  answered_all dir1 "$mode" || fail "$mode: client not answered by keepalived's dir1"
  pass "$mode: keepalived 200 elected over lvsd 100"

  probe $VIP4 dir2 $((mdi + 3000)) 3 >"$LAB_DIR/o.out" &
  local p=$!
  sleep 0.3
  t0=$(now_ns)
  kill_keepalived dir1 KILL
  wait "$p"
  check_failover "$(cat "$LAB_DIR/o.out")" dir2 "$t0" $((mdi + SLACK_MS)) "$mode keepalived SIGKILL -> lvsd"
  LAB_WAIT_TIMEOUT=$limit lab_wait_for lvsd_all dir2 master "$mode" || fail "$mode: lvsd not master"
  # keepalived's leftover VIPs: a killed keepalived does not remove them.
  for v in $(vips "$mode"); do ip -n "$(lab_ns dir1)" addr del "$v/$([ "$v" = $VIP4 ] && echo 24 || echo 64)" dev eth0 2>/dev/null || true; done

  start_keepalived dir1
  LAB_WAIT_TIMEOUT=$limit lab_wait_for holds_all dir1 "$mode" || fail "$mode: keepalived did not preempt lvsd"
  LAB_WAIT_TIMEOUT=$limit lab_wait_for lvsd_all dir2 backup "$mode" || fail "$mode: lvsd did not step down"
  answered_all dir1 "$mode" || fail "$mode: client not back on keepalived"
  pass "$mode: restarted keepalived preempts lvsd, lvsd steps down and drops the VIPs"

  probe $VIP4 dir2 $((mdi + 3000)) 20 >"$LAB_DIR/o.out" &
  p=$!
  sleep 0.3
  t0=$(now_ns)
  kill_keepalived dir1 TERM
  wait "$p"
  out=$(cat "$LAB_DIR/o.out")
  check_failover "$out" dir2 "$t0" $((mdi + SLACK_MS)) "$mode keepalived SIGTERM (priority 0) -> lvsd"
  stop_lvsd dir2 TERM

  # --- lvsd master (dir1, 200), keepalived backup (dir2, 100)
  lvsd_conf dir1 200 "$mode"
  keepalived_conf dir2 100 "$mode"
  start_keepalived dir2
  start_lvsd dir1
  LAB_WAIT_TIMEOUT=$limit lab_wait_for lvsd_all dir1 master "$mode" || fail "$mode: lvsd (200) not master"
  LAB_WAIT_TIMEOUT=$limit lab_wait_for holds_all dir1 "$mode" || fail "$mode: keepalived (100) holds a VIP"
  sleep 1
  holds_all dir1 "$mode" || fail "$mode: keepalived took a VIP while lvsd is master" "$(tail -5 "$LAB_DIR/ka-dir2.log")"
  grep -q "(VI_4) Entering BACKUP STATE" "$LAB_DIR/ka-dir2.log" || fail "$mode: keepalived never backup"
  answered_all dir1 "$mode" || fail "$mode: client not answered by lvsd's dir1"
  pass "$mode: lvsd 200 elected over keepalived 100 (keepalived BACKUP)"

  probe $VIP4 dir2 $((mdi + 3000)) 3 >"$LAB_DIR/o.out" &
  p=$!
  sleep 0.3
  t0=$(now_ns)
  stop_lvsd dir1 KILL
  wait "$p"
  check_failover "$(cat "$LAB_DIR/o.out")" dir2 "$t0" $((mdi + SLACK_MS)) "$mode lvsd SIGKILL -> keepalived"

  start_lvsd dir1
  LAB_WAIT_TIMEOUT=$limit lab_wait_for lvsd_all dir1 master "$mode" || fail "$mode: lvsd did not preempt keepalived"
  LAB_WAIT_TIMEOUT=$limit lab_wait_for holds_all dir1 "$mode" || fail "$mode: keepalived kept a VIP"
  answered_all dir1 "$mode" || fail "$mode: client not back on lvsd"
  pass "$mode: restarted lvsd preempts keepalived, keepalived drops the VIPs"

  probe $VIP4 dir2 $((mdi + 3000)) 20 >"$LAB_DIR/o.out" &
  p=$!
  sleep 0.3
  t0=$(now_ns)
  stop_lvsd dir1 TERM
  wait "$p"
  out=$(cat "$LAB_DIR/o.out")
  check_failover "$out" dir2 "$t0" $((mdi + SLACK_MS)) "$mode lvsd SIGTERM (priority 0) -> keepalived"
  echo "# $mode lvsd SIGTERM -> keepalived: lost $(field "$out" lost) probes of $(field "$out" sent)"
  assert_eq "$(field "$out" lost)" "0" "$mode: graceful lvsd -> keepalived handover lost no probe"
  kill_keepalived dir2 TERM
}

# v2 at 1 s: MDI(100) = 3 s + 156/256 s. v3 at 100 ms: 300 ms + 60.9 ms.
run_mode v2 3610 15
run_mode v3 361 10
