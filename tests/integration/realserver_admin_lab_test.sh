#!/usr/bin/env bash
# Runtime realserver operations (lvsctl drain / ready / maint / weight) in the
# namespace lab: lvsd on dir1 with the userspace engine (NAT), nginx and a TCP
# echo service on three realservers, real traffic through the VIP.
#   - drain rs2: new HTTP requests never reach rs2, new echo connections do
#     not either, while echo connections held open to rs2 (conn_holder) still
#     echo; the change is logged once, published as an `admin` event, shown
#     by `lvsctl services` (Admin column) and `lvsctl checks`;
#   - a reload (SIGHUP) keeps the drain;
#   - ready: rs2 gets new requests again, the held connections still echo;
#   - maint: rs2 gets nothing, its check goes on running (stopping its nginx
#     shows down in `lvsctl checks`); ready then follows the check;
#   - weight rs1 3 with wrr: 50 requests split 30/10/10; reset: 10/10/10;
#   - unknown service / realserver, bad weight: exit 1 and a clear message.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/assert.sh
source "$here/lib/assert.sh"
# shellcheck source-path=SCRIPTDIR source=lib/lab.sh
source "$here/lib/lab.sh"
SRC=${LVSD_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
BUILD=${LVSD_BUILD_DIR:-$SRC/build}
LVSD=$BUILD/daemon/lvsd
LVSCTL=$BUILD/daemon/lvsctl
HOLDER=$BUILD/tests/conn_holder

lab_require_root
lab_require_cmd nginx curl jq socat ss
[ -x "$LVSD" ] && [ -x "$LVSCTL" ] && [ -x "$HOLDER" ] || fail "lvsd/lvsctl/conn_holder not built in $BUILD"

lab_up 3
lab_start_http_all

VIP=192.0.2.200
lab_exec dir1 ip addr add "$VIP/32" dev eth0
lab_exec dir1 sysctl -qw net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
for k in 1 2 3; do
  # NAT: replies from the realserver's own address go back through dir1.
  lab_exec "rs$k" ip rule add from "192.0.2.2$k" lookup 100
  lab_exec "rs$k" ip route add default via "$LAB_IP_DIR1" table 100
  # TCP echo for the long-lived connections.
  lab_bg "rs$k" "$LAB_DIR/echo-rs$k.log" socat TCP-LISTEN:7,bind=192.0.2.2$k,reuseaddr,fork,backlog=256 EXEC:cat
done

CONFIG=$LAB_DIR/lvsd.yaml
SOCK=$LAB_DIR/lvsd.sock
cat >"$CONFIG" <<YAML
global:
  logging: {target: console, level: info}
forwarding:
  backend: userspace
  reconcile_interval: 2s
  userspace: {queues: 1}
checks:
  - {name: healthz, type: http, path: /healthz, interval: 500ms, timeout: 400ms, rise: 1, fall: 1}
services:
  - name: web
    address: $VIP
    port: 80
    scheduler: wrr
    check: healthz
    realservers: [{address: 192.0.2.21}, {address: 192.0.2.22}, {address: 192.0.2.23}]
  - name: echo
    address: $VIP
    port: 7
    scheduler: rr
    realservers: [{address: 192.0.2.21}, {address: 192.0.2.22}, {address: 192.0.2.23}]
YAML

ctl() { "$LVSCTL" --socket "$SOCK" "$@"; }
dump() { tail -n 40 "$LAB_DIR/lvsd.log"; }
lab_bg dir1 "$LAB_DIR/lvsd.log" "$LVSD" --config "$CONFIG" --status-socket "$SOCK"
LVSD_PID=$LAB_LAST_PID
lab_wait_for test -S "$SOCK" || { dump; fail "lvsd did not start"; }
lab_wait_for sh -c "'$LVSCTL' --socket '$SOCK' --json services | jq -e '[.services[].realservers | length] == [3,3]' >/dev/null" ||
  { dump; fail "services not programmed"; }
pass "lvsd runs web (wrr, checked) and echo (rr) with 3 realservers each"

# spread N: N HTTP requests through the VIP, one connection each; prints the
# count per realserver as "rs1=a rs2=b rs3=c " (missing ones as 0), errors
# as ERR=n.
spread() {
  local n=$1 i r out
  declare -A seen=([rs1]=0 [rs2]=0 [rs3]=0)
  for ((i = 0; i < n; i++)); do
    r=$(lab_exec client curl -fsS --max-time 2 "http://$VIP/" 2>/dev/null || echo ERR)
    seen[$r]=$((${seen[$r]:-0} + 1))
  done
  out=""
  for r in $(printf '%s\n' "${!seen[@]}" | sort); do out+="$r=${seen[$r]} "; done
  printf '%s' "$out"
}
# established echo connections on rsK
echo_conns() { lab_exec "rs$1" ss -Htn state established "( sport = :7 )" | wc -l; }
# the web service's realserver row for rsK in `lvsctl --json services`
rs_row() {
  ctl --json services | jq -c --arg a "192.0.2.2$1" \
    '.services[] | select(.name == "web") | .realservers[] | select(.address == $a) | {health, admin, weight_override, weight}'
}

assert_eq "$(spread 30)" "rs1=10 rs2=10 rs3=10 " "baseline: 30 requests spread 10/10/10"

# --- long-lived connections: 9 echo connections, 3 per realserver (rr)
lab_bg client "$LAB_DIR/held.out" "$HOLDER" "$VIP" 7 9 "$LAB_DIR/t-drain" 60 "$LAB_DIR/t-ready"
HELD=$LAB_LAST_PID
LAB_WAIT_TIMEOUT=20 lab_wait_for grep -q '^ready' "$LAB_DIR/held.out" || { dump; fail "held connections not ready"; }
assert_contains "$(cat "$LAB_DIR/held.out")" "ready 9 connected 9" "9 held echo connections work"
assert_eq "$(echo_conns 2)" "3" "3 of them are on rs2"

# --- drain rs2 in both services; watch the event stream meanwhile
lab_bg dir1 "$LAB_DIR/events.out" "$LVSCTL" --socket "$SOCK" --json events
EVENTS=$LAB_LAST_PID
lab_wait_for sh -c "[ \$('$LVSCTL' --socket '$SOCK' --json status | jq .subscribers) -ge 1 ]" || fail "event subscriber not attached"
out=$(ctl drain web 192.0.2.22)
assert_eq "$out" "web 192.0.2.22:80: admin drain (was ready); now draining, weight 0, checks say up" \
  "lvsctl drain web rs2: one line"
out=$(ctl --json drain echo 192.0.2.22:7)
assert_eq "$(jq -c '[.changed, .admin, .state, .weight]' <<<"$out")" '[true,"drain","draining",0]' \
  "lvsctl --json drain echo rs2 prints the answer"
lab_wait_for sh -c "[ \$(grep -c '\"type\":\"admin\"' '$LAB_DIR/events.out') -ge 2 ]" || fail "admin events not published" "$(cat "$LAB_DIR/events.out")"
lab_kill "$EVENTS" || true
events=$(jq -c 'select(.type == "admin") | [.service, .realserver, .admin, .previous_admin]' "$LAB_DIR/events.out")
assert_eq "$events" '["tcp 192.0.2.200:80","192.0.2.22:80","drain","ready"]
["tcp 192.0.2.200:7","192.0.2.22:7","drain","ready"]' "both drains published as admin events"
assert_eq "$(grep -c 'event=realserver_admin service="tcp 192.0.2.200:80" realserver=192.0.2.22:80 admin=drain' "$LAB_DIR/lvsd.log")" "1" \
  "the drain is logged once"
assert_eq "$(rs_row 2)" '{"health":"draining","admin":"drain","weight_override":null,"weight":0}' \
  "lvsctl services: rs2 draining, weight 0"
assert_contains "$(ctl services | grep -F '192.0.2.22:80')" "draining" "lvsctl services (human) shows draining"
assert_contains "$(ctl services | grep -F '192.0.2.22:80')" "drain" "lvsctl services (human) shows the admin state"
assert_contains "$(ctl checks)" "web      192.0.2.22:80  draining  up      drain" "lvsctl checks: runtime table shows the drain and the check's verdict"
{ ctl services; ctl checks; } | sed 's/^/# /'

assert_eq "$(spread 30)" "rs1=15 rs2=0 rs3=15 " "drained: 30 new requests, none to rs2"
# New echo connections avoid rs2 too.
lab_bg client "$LAB_DIR/new.out" "$HOLDER" "$VIP" 7 6 "$LAB_DIR/t-new" 10
NEW=$LAB_LAST_PID
LAB_WAIT_TIMEOUT=20 lab_wait_for grep -q '^ready' "$LAB_DIR/new.out" || fail "new echo connections not ready"
assert_contains "$(cat "$LAB_DIR/new.out")" "ready 6 connected 6" "6 new echo connections work"
assert_eq "$(echo_conns 2)" "3" "none of the 6 new echo connections went to drained rs2"
touch "$LAB_DIR/t-new"
wait "$NEW" 2>/dev/null || true
# The held ones, rs2's included, still echo.
touch "$LAB_DIR/t-drain"
lab_wait_for sh -c "grep -q '^ok' '$LAB_DIR/held.out'" || fail "held connections did not answer after the drain"
assert_contains "$(sed -n 2p "$LAB_DIR/held.out")" "ok 9 reset 0 timeout 0 lost 0" \
  "all 9 held connections (3 on drained rs2) still echo"

# --- a reload keeps the drain (the reload changes the echo service's scheduler)
reloads=$(ctl --json status | jq .reloads.applied)
sed -i '/name: echo/,$ s/scheduler: rr/scheduler: wlc/' "$CONFIG"
kill -HUP "$LVSD_PID"
lab_wait_for sh -c "[ \$('$LVSCTL' --socket '$SOCK' --json status | jq .reloads.applied) -gt $reloads ]" || { dump; fail "reload not applied"; }
assert_eq "$(ctl --json services | jq -r '.services[] | select(.name == "echo") | .scheduler')" "wlc" "the reload changed the echo service's scheduler"
assert_eq "$(rs_row 2)" '{"health":"draining","admin":"drain","weight_override":null,"weight":0}' \
  "after SIGHUP: rs2 still draining"
assert_eq "$(ctl --json services | jq -c '.services[] | select(.name == "echo") | .realservers[] | select(.address == "192.0.2.22") | [.admin, .weight]')" '["drain",0]' \
  "after SIGHUP: rs2 still draining in the edited echo service"
after=$(spread 30)
[[ "$after" == "rs1="*" rs2=0 rs3="* ]] || fail "after SIGHUP: rs2 got new requests: $after"
pass "after SIGHUP: 30 more requests, none to rs2 ($after)"

# --- ready: new requests reach rs2 again
assert_contains "$(ctl ready web 192.0.2.22)" "admin ready (was drain); now up, weight 1" "lvsctl ready web rs2"
ctl ready echo 192.0.2.22 >/dev/null
assert_eq "$(spread 30)" "rs1=10 rs2=10 rs3=10 " "ready: 30 requests spread 10/10/10 again"
touch "$LAB_DIR/t-ready"
wait "$HELD" 2>/dev/null || true
assert_contains "$(sed -n 3p "$LAB_DIR/held.out")" "ok 9 reset 0 timeout 0 lost 0" "held connections still echo after ready"

# --- maint: rs2 gets nothing, its check goes on
assert_contains "$(ctl maint web 192.0.2.22)" "admin maint (was ready); now maint, out of the table" "lvsctl maint web rs2"
assert_eq "$(spread 30)" "rs1=15 rs2=0 rs3=15 " "maint: 30 requests, none to rs2"
assert_eq "$(rs_row 2)" '{"health":"maint","admin":"maint","weight_override":null,"weight":null}' \
  "lvsctl services: rs2 in maint, not in the table"
lab_stop_http 2 || true
lab_wait_for sh -c "'$LVSCTL' --socket '$SOCK' --json checks | jq -e '.checkers[] | select(.target == \"192.0.2.22:80\") | .state == \"down\"' >/dev/null" ||
  fail "the check of rs2 did not report down during maint"
pass "checks run during maint: lvsctl checks shows rs2's nginx down"
assert_contains "$(ctl ready web 192.0.2.22)" "now down, out of the table, checks say down" \
  "ready while the check fails: rs2 stays out"
assert_eq "$(spread 6)" "rs1=3 rs2=0 rs3=3 " "rs2 still gets nothing (checks say down)"
lab_start_http 2
lab_wait_for sh -c "'$LVSCTL' --socket '$SOCK' --json services | jq -e '.services[] | select(.name == \"web\") | .realservers[] | select(.address == \"192.0.2.22\") | .health == \"up\"' >/dev/null" ||
  fail "rs2 did not come back up"
assert_eq "$(spread 30)" "rs1=10 rs2=10 rs3=10 " "rs2 back (check up, admin ready): 10/10/10"

# --- weight override with wrr
assert_contains "$(ctl weight web 192.0.2.21 3)" "weight override 3 (was none); now up, weight 3" "lvsctl weight web rs1 3"
assert_eq "$(rs_row 1)" '{"health":"up","admin":"ready","weight_override":3,"weight":3}' "lvsctl services: rs1 weight 3 (override)"
assert_eq "$(spread 50)" "rs1=30 rs2=10 rs3=10 " "wrr 3:1:1: 50 requests split 30/10/10"
assert_contains "$(ctl weight web 192.0.2.21 reset)" "weight override none (was 3); now up, weight 1" "lvsctl weight web rs1 reset"
assert_eq "$(spread 30)" "rs1=10 rs2=10 rs3=10 " "reset: 10/10/10"

# --- errors: exit 1, a clear message, nothing changed
rc=0; err=$(ctl drain nosuch 192.0.2.22 2>&1) || rc=$?
assert_eq "$rc" "1" "unknown service: exit 1"
assert_contains "$err" 'lvsctl: drain: unknown service "nosuch"; services: web (tcp 192.0.2.200:80), echo (tcp 192.0.2.200:7)' \
  "unknown service: the message lists the services"
rc=0; err=$(ctl drain wbe 192.0.2.22 2>&1) || rc=$?
assert_contains "$rc $err" '1 lvsctl: drain: unknown service "wbe" (did you mean "web"?)' "a near miss gets a suggestion"
rc=0; err=$(ctl maint web 192.0.2.29 2>&1) || rc=$?
assert_eq "$rc" "1" "unknown realserver: exit 1"
assert_contains "$err" 'service web has no realserver "192.0.2.29" (did you mean "192.0.2.21:80"?); realservers: 192.0.2.21:80, 192.0.2.22:80, 192.0.2.23:80' \
  "unknown realserver: the message lists the realservers"
rc=0; err=$(ctl weight web 192.0.2.21 70000 2>&1) || rc=$?
assert_contains "$rc $err" "1 lvsctl: weight: bad weight 70000: expected an integer 0..65535" "weight out of range: exit 1"
rc=0; out=$(ctl --json ready web nosuch 2>&1) || rc=$?
assert_eq "$rc $(jq -c '[.ok, .command]' <<<"$out")" '1 [false,"realserver"]' "--json: the error answer, exit 1"
assert_eq "$(grep -c 'event=realserver_admin' "$LAB_DIR/lvsd.log")" "8" "8 changes logged, none for the refused requests"

# --- clean stop
kill -TERM "$LVSD_PID"
for ((i = 0; i < 100; i++)); do kill -0 "$LVSD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$LVSD_PID" 2>/dev/null && fail "lvsd did not stop"
pass "lvsd stopped"
echo "realserver_admin_lab: all passed"
