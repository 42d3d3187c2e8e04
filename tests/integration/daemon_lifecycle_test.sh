#!/usr/bin/env bash
# lvsd's life in a lab namespace: start with etc/lab.yaml, answer on the status
# socket, keep the running config through a SIGHUP with a broken file (and show
# the error in `lvsctl config`), apply a SIGHUP with a good file, stream reload
# events, stop on SIGTERM with exit 0 and the socket removed; then the same
# daemon as an unprivileged user holding only its capabilities.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${LVSD_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
BUILD=${LVSD_BUILD_DIR:-$SRC/build}
source "$HERE/lib/lab.sh"
source "$HERE/lib/assert.sh"
lab_require_root
lab_require_cmd jq setpriv
LVSD=$BUILD/daemon/lvsd
LVSCTL=$BUILD/daemon/lvsctl
[ -x "$LVSD" ] && [ -x "$LVSCTL" ] || fail "lvsd/lvsctl not built in $BUILD"

lab_up 3
lab_start_http_all

# --- the CLI: --check-config and --dump-config
assert_ok "--check-config accepts etc/lab.yaml" "$LVSD" --check-config "$SRC/etc/lab.yaml"
BAD=$LAB_DIR/bad.yaml
printf 'services:\n  - address: 192.0.2.200\n    port: 80\n    realservers:\n      - {address: 192.0.2.21, weight: 70000}\n' >"$BAD"
set +e
OUT=$("$LVSD" --check-config "$BAD" 2>&1)
RC=$?
set -e
assert_eq "$RC" "1" "--check-config exits 1 on a bad file"
assert_contains "$OUT" "$BAD:5:39: services[0].realservers[0].weight: must be 0..65535, got 70000" \
  "--check-config prints file:line:column, key path and message"
DUMP=$LAB_DIR/dump.yaml
"$LVSD" --dump-config "$SRC/etc/lab.yaml" >"$DUMP"
assert_ok "--dump-config output is itself a valid config" "$LVSD" --check-config "$DUMP"
assert_contains "$(cat "$DUMP")" "syn_recv_timeout: 10s" "--dump-config fills in defaults"

CONFIG=$LAB_DIR/lvsd.yaml
SOCK=$LAB_DIR/dir1.sock
cp "$SRC/etc/lab.yaml" "$CONFIG"
ctl() { "$LVSCTL" --socket "$SOCK" "$@"; }
status_field() { ctl --json status | jq -r "$1"; }

# --- start
lab_bg dir1 "$LAB_DIR/lvsd.log" "$LVSD" --config "$CONFIG" --status-socket "$SOCK" \
  --pid-file "$LAB_DIR/lvsd.pid"
PID=$LAB_LAST_PID
lab_wait_for test -S "$SOCK" || fail "status socket never appeared" "$(cat "$LAB_DIR/lvsd.log")"
assert_eq "$(status_field .pid)" "$PID" "status answers with lvsd's pid"
assert_eq "$(cat "$LAB_DIR/lvsd.pid")" "$PID" "pid file written"
SERVICES=$(status_field .services)
assert_ne "$SERVICES" "0" "status counts the configured services ($SERVICES)"
assert_eq "$(stat -c %a "$SOCK")" "660" "socket mode 0660 from the config default"
assert_eq "$(ctl --json services | jq -r '.services[0].realservers | length')" "3" \
  "services view lists the 3 realservers"
assert_contains "$(ctl services)" "192.0.2.200:80" "lvsctl services shows the VIP"
assert_contains "$(ctl vrrp)" "VI_LAB" "lvsctl vrrp shows the instance"
# lvsd runs inside dir1's network namespace.
assert_eq "$(readlink /proc/"$PID"/ns/net)" "$(lab_exec dir1 readlink /proc/self/ns/net)" \
  "lvsd runs in the director's namespace"

# --- an event subscriber for the whole run
ctl --json events >"$LAB_DIR/events.jsonl" 2>&1 &
SUB=$!
lab_on_exit "kill $SUB 2>/dev/null || true"
lab_wait_for sh -c "[ \"\$('$LVSCTL' --socket '$SOCK' --json status | jq .subscribers)\" = 1 ]" ||
  fail "subscriber did not register"

# --- a broken file: rejected, old config kept, error visible
cat >"$CONFIG" <<'YAML'
services:
  - name: web
    address: 192.0.2.200
    port: 80
    realservers:
      - address: 192.0.2.21
        weight: -1
      - address: 192.0.2.22
        wieght: 2
YAML
kill -HUP "$PID"
lab_wait_for sh -c "[ \"\$('$LVSCTL' --socket '$SOCK' --json status | jq .reloads.rejected)\" = 1 ]" ||
  fail "broken reload not reported"
assert_eq "$(status_field .services)" "$SERVICES" "running config kept after a broken reload"
CFG_OUT=$(ctl config)
assert_contains "$CFG_OUT" "REJECTED" "lvsctl config says the reload was rejected"
assert_contains "$CFG_OUT" "$CONFIG:7:17: services[0].realservers[0].weight: must be 0..65535, got -1" \
  "the weight error with file:line:column and key path"
assert_contains "$CFG_OUT" "$CONFIG:9:9: services[0].realservers[1].wieght" \
  "the unknown key error, reported in the same pass"
assert_contains "$CFG_OUT" "did you mean 'weight'" "unknown key gets a suggestion"
assert_contains "$CFG_OUT" "192.0.2.23" "the running config (with rs3) is still shown"
set +e
ctl reload >/dev/null 2>"$LAB_DIR/reload.err"
RC=$?
set -e
assert_eq "$RC" "1" "lvsctl reload of a broken file exits 1"
assert_contains "$(cat "$LAB_DIR/reload.err")" "must be 0..65535" "and prints the error"
kill -0 "$PID" || fail "lvsd died on a broken reload"

# --- a good file: applied
cat >"$CONFIG" <<'YAML'
services:
  - name: web
    address: 192.0.2.200
    port: 80
    realservers:
      - address: 192.0.2.21
      - address: 192.0.2.22
  - name: web-tls
    address: 192.0.2.200
    port: 443
    realservers:
      - address: 192.0.2.23
YAML
kill -HUP "$PID"
lab_wait_for sh -c "[ \"\$('$LVSCTL' --socket '$SOCK' --json status | jq .reloads.applied)\" = 1 ]" ||
  fail "good reload not applied" "$(cat "$LAB_DIR/lvsd.log")"
assert_eq "$(status_field .services)" "2" "new config applied: 2 services"
assert_eq "$(status_field .last_reload.ok)" "true" "last reload ok"
assert_contains "$(cat "$LAB_DIR/lvsd.log")" "event=config_change" "the diff is logged"

# --- events: the two rejected reloads (SIGHUP, lvsctl reload), then the applied one
lab_wait_for sh -c "[ \$(jq -s '[.[] | select(.type == \"reload\")] | length' '$LAB_DIR/events.jsonl') -ge 3 ]" ||
  fail "event subscriber did not see three reloads" "$(cat "$LAB_DIR/events.jsonl")"
kill "$SUB" 2>/dev/null || true
# (other modules publish too: VRRP transitions, forwarding changes; only the
# reload events are checked here)
assert_eq "$(jq -s -c '[.[] | select(.type == "reload") | [.type, .ok]]' "$LAB_DIR/events.jsonl")" \
  '[["reload",false],["reload",false],["reload",true]]' \
  "subscriber saw the three reloads in order"

# --- SIGUSR1: a state dump in the log
kill -USR1 "$PID"
lab_wait_for grep -q "event=state_dump part=daemon" "$LAB_DIR/lvsd.log" || fail "no state dump"
pass "SIGUSR1 writes a state dump"

# --- SIGTERM: clean exit
kill -TERM "$PID"
RC=0
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
wait "$PID" || RC=$?
assert_eq "$RC" "0" "SIGTERM: exit status 0"
[ ! -e "$SOCK" ] || fail "socket left behind"
pass "socket removed on stop"
[ ! -e "$LAB_DIR/lvsd.pid" ] || fail "pid file left behind"
pass "pid file removed on stop"
set +e
ctl status >/dev/null 2>&1
RC=$?
set -e
assert_eq "$RC" "3" "lvsctl exits 3 when the daemon is unreachable"

# --- as an unprivileged user with only lvsd's capabilities
RUNDIR=$LAB_DIR/nonroot
mkdir -p "$RUNDIR"
chown nobody "$RUNDIR"
chmod 755 "$LAB_DIR"
cp "$SRC/etc/lab.yaml" "$RUNDIR/lvsd.yaml"
chmod 644 "$RUNDIR/lvsd.yaml"
CAPS=+net_admin,+net_raw,+net_bind_service,+setuid,+setgid,+kill,+chown
lab_bg dir1 "$LAB_DIR/lvsd-nonroot.log" setpriv --reuid=nobody --regid=nogroup --clear-groups \
  --inh-caps="$CAPS" --ambient-caps="$CAPS" --bounding-set=-all,"$CAPS" \
  "$LVSD" --config "$RUNDIR/lvsd.yaml" --status-socket "$RUNDIR/lvsd.sock"
NPID=$LAB_LAST_PID
lab_wait_for test -S "$RUNDIR/lvsd.sock" ||
  fail "non-root lvsd did not start" "$(cat "$LAB_DIR/lvsd-nonroot.log")"
assert_eq "$(stat -c %U /proc/"$NPID")" "nobody" "lvsd runs as nobody"
# cap_net_admin (bit 12) and cap_net_raw (bit 13) are effective, cap_sys_admin (21) is not.
CAPEFF=$((16#$(awk '/^CapEff/ {print $2}' /proc/"$NPID"/status)))
assert_eq "$(((CAPEFF >> 12) & 3))" "3" "non-root lvsd holds CAP_NET_ADMIN and CAP_NET_RAW"
assert_eq "$(((CAPEFF >> 21) & 1))" "0" "and not CAP_SYS_ADMIN"
assert_eq "$("$LVSCTL" --socket "$RUNDIR/lvsd.sock" --json status | jq .pid)" "$NPID" \
  "non-root lvsd answers on its socket"
kill -TERM "$NPID"
RC=0
for _ in $(seq 100); do kill -0 "$NPID" 2>/dev/null || break; sleep 0.1; done
wait "$NPID" || RC=$?
assert_eq "$RC" "0" "non-root lvsd stops with exit 0"
[ ! -e "$RUNDIR/lvsd.sock" ] || fail "non-root socket left behind"
pass "non-root socket removed"
