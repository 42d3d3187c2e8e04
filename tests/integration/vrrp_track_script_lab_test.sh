#!/usr/bin/env bash
# VRRP track scripts, track files and notify commands between two lvsd
# directors in the namespace lab (issue #7). v3, IPv4, multicast, 100 ms
# adverts; the client probes the VIP (UDP, every 10 ms) and each director's
# echo answers with its name.
#   dir1: priority 200, tracks
#     - script chk_flag (interval 250 ms, fall 3, rise 4, weight -150 from its
#       definition, user daemon): fails while $FLAGS/fail exists;
#     - script chk_hang (interval 300 ms, timeout 200 ms, fall 2, rise 1,
#       weight -50 on the track entry): hangs (ignoring SIGTERM) while
#       $FLAGS/hang exists;
#     - file fw (weight -60 from its definition) and file ff (weight 0).
#   dir2: priority 100, no trackers.
#   aux (rs1's namespace, its own VRID): two scripts writable by non-root and
#     one secure control script, to see the insecure ones refused.
#   Both directors: notify.master/backup/fault/stop append "$@" to a log; while
#   $FLAGS/slow-notify exists they then sleep 5 s.
# Cases:
#   - chk_flag fails: dir1 goes to 50 after `fall` runs (not before
#     (fall-1) x interval), dir2 takes over within Master_Down_Interval(100) =
#     361 ms of the tracker event; it passes again: after `rise` runs dir1 is
#     back at 200 and preempts within Master_Down_Interval(50) = 380 ms. The
#     script ran as uid 1 (daemon) with no capabilities.
#   - chk_hang hangs past its timeout: a failure (dir1 at 150, still master);
#     while it hangs dir1's adverts keep their pace, dir2 sees no transition
#     and no probe is lost; the hung runs are killed.
#   - fw: 2 -> 80 (dir2 takes over, 361 ms), 1 -> 140 (dir1 preempts,
#     Master_Down_Interval(80) = 369 ms), -1 -> 254 (clamped), garbage -> 0,
#     5 -> -300 <= -254: FAULT (dir2 answers within Skew_Time(100) = 61 ms),
#     removed -> 0: dir1 preempts (Master_Down_Interval(200) = 322 ms).
#   - ff (weight 0) with the 5 s notify in place: 1 -> FAULT (61 ms), 0 ->
#     preempt (322 ms); the notify commands run concurrently, not one after
#     the other, and all complete.
#   - the notify logs hold exactly the transitions lvsd logged, in order, as
#     "NAME STATE PRIORITY".
# Times are from the tracker's event in lvsd's log (file: from its poll) to
# the first answer of the new master (+ SLACK_MS, resigns + RESIGN_SLACK_MS);
# printed as "# ..." lines.
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
for u in daemon nobody; do
  id "$u" >/dev/null 2>&1 || fail "user $u needed (scripts run as daemon, notify commands as nobody)"
done
SLACK_MS=${SLACK_MS:-400}
# A resign (priority 0) hands over at Skew_Time (61 ms); its bound must stay
# below Master_Down_Interval (361 ms), or a missing resign would pass.
RESIGN_SLACK_MS=${RESIGN_SLACK_MS:-150}
VIP=192.0.2.200
# Script timings (keep in sync with the configuration below).
FLAG_INTERVAL=250 FLAG_FALL=3 FLAG_RISE=4
HANG_INTERVAL=300 HANG_TIMEOUT=200 HANG_FALL=2

lab_up 1
# Scripts must sit in directories writable by root only (LAB_DIR is root's,
# 0755, under the sticky /tmp); what they write goes to OUT (sticky, 1777).
BIN=$LAB_DIR/bin FLAGS=$LAB_DIR/flags OUT=$LAB_DIR/out TRK=$LAB_DIR/trk WDIR=$LAB_DIR/wdir
mkdir -p "$BIN" "$FLAGS" "$OUT" "$TRK" "$WDIR"
chmod 0755 "$BIN" "$FLAGS" "$TRK"
chmod 1777 "$OUT"
chmod 0777 "$WDIR" # not sticky: anyone may replace what is in it
cat >"$BIN/chk_flag.sh" <<EOF
#!/bin/sh
id -u >"$OUT/chk_flag.uid"
grep '^CapEff:' /proc/self/status >"$OUT/chk_flag.caps"
[ ! -e "$FLAGS/fail" ]
EOF
cat >"$BIN/chk_hang.sh" <<EOF
#!/bin/sh
if [ -e "$FLAGS/hang" ]; then
  echo \$\$ >>"$OUT/chk_hang.starts"
  trap '' TERM      # so that only the SIGKILL after the grace period ends it
  exec sleep 31.7
fi
exit 0
EOF
cat >"$BIN/notify.sh" <<EOF
#!/bin/sh
d=\$1
shift
echo "\$*" >>"$OUT/notify-\$d.log"
if [ -e "$FLAGS/slow-notify" ]; then
  sleep 5
  echo "\$*" >>"$OUT/notify-done-\$d.log"
fi
EOF
for s in ok insecure_owner insecure_dir; do
  printf '#!/bin/sh\ntouch %s/%s.ran\n' "$OUT" "$s" >"$BIN/chk_$s.sh"
done
mv "$BIN/chk_insecure_dir.sh" "$WDIR/chk_insecure_dir.sh"
chmod 0755 "$BIN"/*.sh "$WDIR"/*.sh
chown nobody "$BIN/chk_insecure_owner.sh"

for d in dir1 dir2; do
  lab_bg "$d" "$LAB_DIR/echo-$d.log" "$PROBE" serve "$PORT" "$d"
done
notify_cfg() { # DIR
  local s out=""
  for s in master backup fault stop; do
    out+="${out:+, }$s: [$BIN/notify.sh, $1]"
  done
  echo "{$out}"
}
cat >"$LAB_DIR/dir1.yaml" <<EOF
global: {status_socket: {path: $LAB_DIR/dir1.sock}, logging: {level: info}}
vrrp:
  scripts:
    - {name: chk_flag, command: [$BIN/chk_flag.sh], interval: ${FLAG_INTERVAL}ms, timeout: ${FLAG_INTERVAL}ms,
       fall: $FLAG_FALL, rise: $FLAG_RISE, weight: -150, user: daemon}
    - {name: chk_hang, command: [$BIN/chk_hang.sh], interval: ${HANG_INTERVAL}ms, timeout: ${HANG_TIMEOUT}ms,
       fall: $HANG_FALL, rise: 1, user: daemon}
  files:
    - {name: fw, path: $TRK/fw, weight: -60}
    - {name: ff, path: $TRK/ff, weight: 0}
  instances:
    - {name: VI_4, interface: eth0, vrid: 51, version: 3, priority: 200, advert_interval: 100ms,
       virtual_addresses: [$VIP/24],
       track: {scripts: [chk_flag, {name: chk_hang, weight: -50}], files: [fw, ff]},
       notify: $(notify_cfg dir1)}
EOF
cat >"$LAB_DIR/dir2.yaml" <<EOF
global: {status_socket: {path: $LAB_DIR/dir2.sock}, logging: {level: info}}
vrrp:
  instances:
    - {name: VI_4, interface: eth0, vrid: 51, version: 3, priority: 100, advert_interval: 100ms,
       virtual_addresses: [$VIP/24], notify: $(notify_cfg dir2)}
EOF
cat >"$LAB_DIR/aux.yaml" <<EOF
global: {status_socket: {path: $LAB_DIR/aux.sock}, logging: {level: info}}
vrrp:
  scripts:
    - {name: chk_ok, command: [$BIN/chk_ok.sh], interval: 300ms}
    - {name: chk_insecure_owner, command: [$BIN/chk_insecure_owner.sh], interval: 300ms}
    - {name: chk_insecure_dir, command: [$WDIR/chk_insecure_dir.sh], interval: 300ms}
  instances:
    - {name: VI_AUX, interface: eth0, vrid: 52, version: 3, priority: 100, advert_interval: 100ms,
       virtual_addresses: [192.0.2.210/24],
       track: {scripts: [{name: chk_ok, weight: 10}, {name: chk_insecure_owner, weight: -20},
                         {name: chk_insecure_dir, weight: -20}]}}
EOF

declare -A PID NS=([dir1]=dir1 [dir2]=dir2 [aux]=rs1)
start() {
  local d=$1
  lab_bg "${NS[$d]}" "$LAB_DIR/lvsd-$d.log" "$LVSD" --config "$LAB_DIR/$d.yaml"
  PID[$d]=$LAB_LAST_PID
  lab_wait_for test -S "$LAB_DIR/$d.sock" || fail "lvsd on $d did not start" "$(tail -20 "$LAB_DIR/lvsd-$d.log")"
}
vrrp_json() { ctl "$1" --json vrrp 2>/dev/null; }
inst() { vrrp_json "$1" | jq -r ".instances[0].$2"; }
tracker() { vrrp_json "$1" | jq -c ".instances[0].trackers[] | select(.name == \"$2\") | {known, ok, value, delta, fault}"; }
states_are() { [ "$(inst "$1" state)" = "$2" ] && [ "$(inst "$3" state)" = "$4" ]; }
inst_is() { [ "$(inst "$1" "$2")" = "$3" ]; }
# Log lines of DIR matching RE, counted; the time (ns since the epoch) of the
# last one once there are more than N (waits up to 5 s).
log_count() { grep -cE "$2" "$LAB_DIR/lvsd-$1.log" || true; }
more_lines() { (($(log_count "$1" "$2") > $3)); }
log_ns_after() { # DIR RE N
  local line
  LAB_WAIT_TIMEOUT=5 lab_wait_for more_lines "$1" "$2" "$3" >/dev/null 2>&1 || return 1
  line=$(grep -E "$2" "$LAB_DIR/lvsd-$1.log" | tail -1)
  # lvsd's log lines start with its local time, e.g. 2026-11-22T08:47:51.590
  # (spdlog's default; lvsd inherits this shell's TZ).
  date -d "${line%% *}" +%s%N
}
ms_between() { echo $((($2 - $1) / 1000000)); }
check_switch() { # OUT UNTIL T0 BOUND_MS LABEL
  local out=$1 until=$2 t0=$3 bound=$4 label=$5 first ms
  [ "$(field "$out" until_reached)" = 1 ] || fail "$label: $until never answered" "$out"
  first=$(field "$out" first_until_ns)
  ms=$(ms_between "$t0" "$first")
  echo "# switch-over $label: ${ms} ms (bound ${bound} ms) [$out]"
  ((ms <= bound)) || fail "$label: took ${ms} ms, bound ${bound} ms" "$out"
  pass "$label: $until answers after ${ms} ms"
}
check_range() { # MS LO HI LABEL
  echo "# $4: $1 ms (expected $2..$3 ms)"
  (($1 >= $2 && $1 <= $3)) || fail "$4: $1 ms, expected $2..$3 ms"
  pass "$4 within $2..$3 ms"
}
# Write a track file atomically (a reader never sees it half-written).
put() { echo "$2" >"$TRK/.$1.tmp" && mv -f "$TRK/.$1.tmp" "$TRK/$1"; }
dump_logs() { tail -n 30 "$LAB_DIR"/lvsd-*.log; }
trap 'rc=$?; ((rc)) && dump_logs; exit $rc' ERR

# ------------------------------------------------------------ start-up
start dir1
LAB_WAIT_TIMEOUT=10 lab_wait_for inst_is dir1 state master || fail "dir1 did not become master alone"
start dir2
start aux
LAB_WAIT_TIMEOUT=10 lab_wait_for states_are dir1 master dir2 backup ||
  fail "no election" "$(ctl dir1 vrrp; ctl dir2 vrrp)"
answered_by $VIP dir1 || fail "$VIP not answered by dir1"
assert_eq "$(vrrp_json dir1 | jq -c '[.instances[0].trackers[] | [.kind, .name, .weight]]')" \
  '[["script","chk_flag",-150],["script","chk_hang",-50],["file","fw",-60],["file","ff",0]]' \
  "dir1 lists its trackers, weights resolved (definition's, entry's)"
known_ok() { [ "$(tracker "$1" "$2" | jq -r '.known and .ok')" = true ]; }
for s in chk_flag chk_hang; do
  lab_wait_for known_ok dir1 "$s" || fail "script $s never ran OK" "$(tracker dir1 "$s")"
done
assert_eq "$(tracker dir1 fw | jq -c '[.known, .value, .delta]')" '[true,0,0]' "a missing track file counts as 0"
assert_eq "$(inst dir1 effective_priority)" "200" "dir1 at 200 with every tracker OK"
assert_eq "$(cat "$OUT/chk_flag.uid")" "$(id -u daemon)" "chk_flag runs as its user (daemon)"
assert_eq "$(awk '{print $2}' "$OUT/chk_flag.caps")" "0000000000000000" "chk_flag runs without capabilities"

# --- scripts writable by non-root are refused (aux, rs1's namespace)
refused() { [ "$(tracker aux "$1" | jq -r '.known and (.ok | not)')" = true ]; }
for s in insecure_owner insecure_dir; do
  LAB_WAIT_TIMEOUT=5 lab_wait_for refused "chk_$s" || fail "chk_$s not refused" "$(tracker aux "chk_$s")"
done
lab_wait_for known_ok aux chk_ok || fail "aux's secure control script did not run OK"
LOG_AUX=$(cat "$LAB_DIR/lvsd-aux.log")
assert_contains "$LOG_AUX" "script=chk_insecure_owner ok=false reason=\"refusing insecure script $BIN/chk_insecure_owner.sh: $BIN/chk_insecure_owner.sh is writable by its owner uid $(id -u nobody)\"" \
  "a script owned by nobody is refused, with the reason logged"
assert_contains "$LOG_AUX" "script=chk_insecure_dir ok=false reason=\"refusing insecure script $WDIR/chk_insecure_dir.sh: $WDIR is writable by others (mode 0777)\"" \
  "a script in a directory writable by others is refused, with the reason logged"
[ -e "$OUT/ok.ran" ] || fail "the secure control script never ran"
if [ -e "$OUT/insecure_owner.ran" ] || [ -e "$OUT/insecure_dir.ran" ]; then
  fail "an insecure script was run" "$(ls -l "$OUT")"
fi
pass "the insecure scripts never ran (the secure one did)"
assert_eq "$(inst aux effective_priority)" "70" "aux: 100 + 10 (chk_ok) - 20 - 20 (refused = failing)"

# ------------------------------------------------------------ script: fall/rise
N=$(log_count dir1 'event=vrrp_tracked kind=script name=chk_flag ok=false')
probe $VIP dir2 5000 3 >"$LAB_DIR/s1.out" &
P=$!
sleep 0.3
T0=$(now_ns)
touch "$FLAGS/fail"
wait "$P"
TE=$(log_ns_after dir1 'event=vrrp_tracked kind=script name=chk_flag ok=false' "$N") || fail "no chk_flag failure logged"
check_range "$(ms_between "$T0" "$TE")" $(((FLAG_FALL - 1) * FLAG_INTERVAL - 50)) \
  $((FLAG_FALL * FLAG_INTERVAL + SLACK_MS)) "script failing -> tracker down (fall $FLAG_FALL x ${FLAG_INTERVAL} ms)"
OUT1=$(cat "$LAB_DIR/s1.out")
echo "# script fails -> dir2 answers: $(ms_between "$T0" "$(field "$OUT1" first_until_ns)") ms"
check_switch "$OUT1" dir2 "$TE" $((361 + SLACK_MS)) "script down (from the tracker event)"
LAB_WAIT_TIMEOUT=5 lab_wait_for states_are dir1 backup dir2 master || fail "dir1 did not step down"
assert_eq "$(inst dir1 effective_priority)" "50" "dir1 at 200 - 150 while chk_flag fails"
assert_eq "$(tracker dir1 chk_flag | jq -c '[.ok, .delta, .fault]')" '[false,-150,false]' "chk_flag listed as failing"

N=$(log_count dir1 'event=vrrp_tracked kind=script name=chk_flag ok=true')
probe $VIP dir1 5000 3 >"$LAB_DIR/s2.out" &
P=$!
sleep 0.3
T0=$(now_ns)
rm -f "$FLAGS/fail"
wait "$P"
TE=$(log_ns_after dir1 'event=vrrp_tracked kind=script name=chk_flag ok=true' "$N") || fail "no chk_flag recovery logged"
check_range "$(ms_between "$T0" "$TE")" $(((FLAG_RISE - 1) * FLAG_INTERVAL - 50)) \
  $((FLAG_RISE * FLAG_INTERVAL + SLACK_MS)) "script passing -> tracker up (rise $FLAG_RISE x ${FLAG_INTERVAL} ms)"
check_switch "$(cat "$LAB_DIR/s2.out")" dir1 "$TE" $((380 + SLACK_MS)) "script up, preempt (from the tracker event)"
LAB_WAIT_TIMEOUT=5 lab_wait_for states_are dir1 master dir2 backup || fail "dir1 not master again"
assert_eq "$(inst dir1 effective_priority)" "200" "dir1 back at 200"

# ------------------------------------------------------------ script: hangs
# The module's transition counters (top level of lvsctl --json vrrp).
T2_0=$(vrrp_json dir2 | jq .transitions)
T1_0=$(vrrp_json dir1 | jq .transitions)
SENT0=$(inst dir1 adverts.sent)
RECV0=$(inst dir2 adverts.received)
N=$(log_count dir1 'event=vrrp_tracked kind=script name=chk_hang ok=false')
HANG_MS=4000
probe $VIP dir2 $HANG_MS >"$LAB_DIR/h.out" &
P=$!
TW0=$(now_ns)
T0=$TW0
touch "$FLAGS/hang"
TE=$(log_ns_after dir1 'event=vrrp_tracked kind=script name=chk_hang ok=false' "$N") || fail "hanging chk_hang never failed"
check_range "$(ms_between "$T0" "$TE")" $(((HANG_FALL - 1) * HANG_INTERVAL + HANG_TIMEOUT - 50)) \
  $((HANG_FALL * HANG_INTERVAL + HANG_TIMEOUT + SLACK_MS)) \
  "script hanging -> tracker down (fall $HANG_FALL, timeout ${HANG_TIMEOUT} ms)"
lab_wait_for inst_is dir1 effective_priority 150 || fail "dir1 not at 150 while chk_hang hangs"
pass "dir1 at 200 - 50 while chk_hang hangs"
wait "$P"
TW1=$(now_ns)
rm -f "$FLAGS/hang"
HOUT=$(cat "$LAB_DIR/h.out")
SENT=$(($(inst dir1 adverts.sent) - SENT0))
RECV=$(($(inst dir2 adverts.received) - RECV0))
WIN=$(ms_between "$TW0" "$TW1")
echo "# while chk_hang hung for ${WIN} ms: $(wc -l <"$OUT/chk_hang.starts") hung runs, dir1 sent $SENT adverts, dir2 received $RECV (one per 100 ms: $((WIN / 100))) [$HOUT]"
assert_eq "$(field "$HOUT" until_reached)/$(field "$HOUT" lost)" "0/0" "no probe lost and none answered by dir2 while the script hangs"
assert_eq "$(vrrp_json dir2 | jq .transitions)" "$T2_0" "no transition on dir2 while the script hangs"
assert_eq "$(vrrp_json dir1 | jq .transitions)" "$T1_0" "no transition on dir1 while the script hangs"
((SENT * 100 >= WIN * 9 / 10 && RECV * 100 >= WIN * 9 / 10)) ||
  fail "adverts slowed down while the script hangs: sent $SENT, received $RECV in $WIN ms"
pass "adverts keep their 100 ms pace while the script hangs"
assert_contains "$(grep 'event=vrrp_script script=chk_hang ok=false' "$LAB_DIR/lvsd-dir1.log" | tail -1)" \
  'reason="timeout after' "the hanging script failed on its timeout"
lab_wait_for inst_is dir1 effective_priority 200 || fail "dir1 not back at 200 after chk_hang stopped hanging"
no_hung() { ! ip netns pids "$(lab_ns dir1)" | xargs -r -I{} cat /proc/{}/cmdline 2>/dev/null | tr '\0' ' ' | grep -q 'sleep 31.7'; }
LAB_WAIT_TIMEOUT=5 lab_wait_for no_hung || fail "hung script runs left behind (TERM ignored, no KILL?)"
pass "hung runs killed (they ignored SIGTERM), dir1 back at 200"

# ------------------------------------------------------------ track file, weight -60
file_case() { # VALUE FILE EVENT_VALUE UNTIL BOUND LABEL [SLACK]
  local value=$1 f=$2 ev=$3 until=$4 bound=$5 label=$6 slack=${7:-$SLACK_MS} n te t0 out
  n=$(log_count dir1 "event=vrrp_tracked kind=file name=$f ok=true value=$ev\$")
  probe $VIP "$until" 5000 3 >"$LAB_DIR/f.out" &
  local p=$!
  sleep 0.3
  t0=$(now_ns)
  if [ "$value" = none ]; then rm -f "$TRK/$f"; else put "$f" "$value"; fi
  wait "$p"
  te=$(log_ns_after dir1 "event=vrrp_tracked kind=file name=$f ok=true value=$ev\$" "$n") ||
    fail "$label: file change never seen"
  out=$(cat "$LAB_DIR/f.out")
  check_range "$(ms_between "$t0" "$te")" 0 $((1000 + SLACK_MS)) "$label: file written -> read (polled every 1 s)"
  echo "# $label: file written -> $until answers: $(ms_between "$t0" "$(field "$out" first_until_ns)") ms"
  check_switch "$out" "$until" "$te" $((bound + slack)) "$label (from the file's poll)"
}
file_case 2 fw 2 dir2 361 "fw 2: 200 - 120 = 80"
LAB_WAIT_TIMEOUT=5 lab_wait_for states_are dir1 backup dir2 master || fail "dir1 did not step down at 80"
assert_eq "$(tracker dir1 fw | jq -c '[.value, .delta, .fault]')" '[2,-120,false]' "fw: value 2 x weight -60"
assert_eq "$(inst dir1 effective_priority)" "80" "dir1 at 80"
file_case 1 fw 1 dir1 369 "fw 1: 140 > 100, preempt"
LAB_WAIT_TIMEOUT=5 lab_wait_for states_are dir1 master dir2 backup || fail "dir1 not master at 140"
assert_eq "$(inst dir1 effective_priority)" "140" "dir1 at 140"
put fw -1
LAB_WAIT_TIMEOUT=5 lab_wait_for inst_is dir1 effective_priority 254 || fail "fw -1: dir1 not at 254"
pass "fw -1: 200 + 60 clamped to 254"
put fw garbage
LAB_WAIT_TIMEOUT=5 lab_wait_for inst_is dir1 effective_priority 200 || fail "fw garbage: dir1 not back at 200"
assert_eq "$(tracker dir1 fw | jq -c '[.value, .delta]')" '[0,0]' "a file without a leading integer counts as 0"
file_case 5 fw 5 dir2 61 "fw 5: 5 x -60 <= -254, FAULT (resign)" "$RESIGN_SLACK_MS"
LAB_WAIT_TIMEOUT=5 lab_wait_for states_are dir1 fault dir2 master || fail "dir1 not in FAULT"
assert_eq "$(inst dir1 fault_reason)" "tracked file fw value 5" "dir1 in FAULT because of fw"
file_case none fw 0 dir1 322 "fw removed: 0, out of FAULT, preempt"
LAB_WAIT_TIMEOUT=5 lab_wait_for states_are dir1 master dir2 backup || fail "dir1 not master after fw removed"
assert_eq "$(inst dir1 effective_priority)" "200" "dir1 back at 200"

# ------------------------------------------------------------ track file, weight 0, slow notify
touch "$FLAGS/slow-notify"
file_case 1 ff 1 dir2 61 "ff 1 (weight 0): FAULT, with 5 s notify commands" "$RESIGN_SLACK_MS"
LAB_WAIT_TIMEOUT=5 lab_wait_for states_are dir1 fault dir2 master || fail "dir1 not in FAULT"
assert_eq "$(inst dir1 fault_reason)" "tracked file ff value 1" "dir1 in FAULT because of ff"
file_case 0 ff 0 dir1 322 "ff 0: out of FAULT, preempt, with 5 s notify commands"
LAB_WAIT_TIMEOUT=5 lab_wait_for states_are dir1 master dir2 backup || fail "dir1 not master after ff 0"
last_notify_is() { [ "$(tail -1 "$OUT/notify-$1.log" 2>/dev/null)" = "$2" ]; }
LAB_WAIT_TIMEOUT=3 lab_wait_for last_notify_is dir2 "VI_4 BACKUP 100" || fail "dir2's BACKUP notify did not start"
DONE2=$(cat "$OUT/notify-done-dir2.log" 2>/dev/null || true)
assert_not_contains "$DONE2" "VI_4 MASTER" \
  "dir2's BACKUP notify started while its MASTER notify still sleeps (not serialised)"
rm -f "$FLAGS/slow-notify"
done_count() { (($(cat "$OUT"/notify-done-dir*.log 2>/dev/null | wc -l) >= $1)); }
# dir1: FAULT, BACKUP, MASTER; dir2: MASTER, BACKUP.
LAB_WAIT_TIMEOUT=12 lab_wait_for done_count 5 || fail "the slow notify commands did not all finish" \
  "$(cat "$OUT"/notify-done-dir*.log 2>/dev/null)"
pass "every slow notify command ran to its end"

# ------------------------------------------------------------ notify logs, stop
for d in dir1 dir2; do
  # Every transition so far, as lvsd logged it (on the VRRP thread, when it
  # happened), in notify's argument form.
  EXPECT=$(sed -n 's/.*event=vrrp_transition instance=\([^ ]*\) .* to=\([a-z]*\) priority=\([0-9]*\) .*/\1 \2 \3/p' \
    "$LAB_DIR/lvsd-$d.log" | awk '{print $1, toupper($2), $3}')
  GOT=$(cat "$OUT/notify-$d.log")
  echo "# $d notify log: $(tr '\n' ',' <<<"$GOT")"
  assert_eq "$GOT" "$EXPECT" "$d: the notify log holds every transition lvsd logged, in order"
done
WANT1="VI_4 BACKUP 200
VI_4 MASTER 200
VI_4 BACKUP 50
VI_4 MASTER 200
VI_4 BACKUP 80
VI_4 MASTER 140"
assert_eq "$(head -6 "$OUT/notify-dir1.log")" "$WANT1" "dir1's notify arguments: name, state, priority (start, script, file)"
grep -c "event=vrrp_transition" "$LAB_DIR"/lvsd-dir*.log | sed 's/^/# transitions logged: /'

# notify.stop on SIGTERM (the graceful stop: dir1 resigns, dir2 takes over).
N=$(wc -l <"$OUT/notify-dir1.log")
kill -TERM "${PID[dir1]}"
wait "${PID[dir1]}" || true
grep -q 'event=vrrp_transition .* to=initialize priority=200 reason=shutdown' "$LAB_DIR/lvsd-dir1.log" ||
  fail "dir1 logged no shutdown transition"
LAB_WAIT_TIMEOUT=5 lab_wait_for inst_is dir2 state master || fail "dir2 did not take over on dir1's stop"
# lvsd waits (bounded) for its stop notifies before it exits: the line is
# there once the process is gone.
assert_eq "$(sed -n "$((N + 1))p" "$OUT/notify-dir1.log")" "VI_4 STOP 200" "notify.stop ran on shutdown with name, STOP, priority"
