#!/usr/bin/env bash
# lvsd's live demo, end to end on one machine: installs dependencies, builds,
# then builds a lab of network namespaces (a client, two directors, three
# realservers running nginx and an echo service, joined by a bridge in a
# namespace of its own) and runs lvsd on both directors with etc/lab.yaml
# (director 2 with priority 100). It shows what `lvsctl` reports (services,
# health, VRRP, sync), runs client load through the VIP, kills the active
# director (lvsd SIGKILLed and its link cut), and shows the standby taking
# over with the client's connections intact. Then it tears everything down.
# Nothing is attached to or configured in the root namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/build.sh >/dev/null
BUILD_DIR=${BUILD_DIR:-build}
LVSD=$ROOT/$BUILD_DIR/daemon/lvsd
LVSCTL=$ROOT/$BUILD_DIR/daemon/lvsctl
HOLDER=$ROOT/$BUILD_DIR/tests/conn_holder
HELD=${HELD:-100}

# shellcheck source=../tests/integration/lib/lab.sh
source "$ROOT/tests/integration/lib/lab.sh"
lab_require_root

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
ctl() { local d=$1; shift; "$LVSCTL" --socket "$LAB_DIR/$d.sock" "$@"; }
vrrp_state() { ctl "$1" --json vrrp 2>/dev/null | jq -r '.instances[0].state // "?"' | tr 'A-Z' 'a-z'; }

step "building the lab: client, dir1, dir2, rs1..rs3"
lab_up 3
lab_start_http_all
for k in 1 2 3; do
  # NAT replies go back through whichever director holds 192.0.2.10.
  lab_exec "rs$k" ip rule add from "192.0.2.2$k" lookup 100
  lab_exec "rs$k" ip route add default via 192.0.2.10 table 100
  lab_bg "rs$k" "$LAB_DIR/echo-rs$k.log" socat TCP-LISTEN:7,bind=192.0.2.2$k,reuseaddr,fork,backlog=1024 EXEC:cat
done
for d in dir1 dir2; do
  lab_exec "$d" sysctl -qw net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
done
echo "namespaces: $(ip netns list | awk '{print $1}' | grep -c "^$LAB_PREFIX") with prefix $LAB_PREFIX"

step "validating etc/lab.yaml"
"$LVSD" --check-config "$ROOT/etc/lab.yaml"

step "starting lvsd on both directors (dir1 priority 150, dir2 priority 100)"
cp "$ROOT/etc/lab.yaml" "$LAB_DIR/dir1.yaml"
sed 's/^      priority: 150$/      priority: 100/' "$ROOT/etc/lab.yaml" >"$LAB_DIR/dir2.yaml"
lab_bg dir1 "$LAB_DIR/lvsd-dir1.log" "$LVSD" --config "$LAB_DIR/dir1.yaml" --status-socket "$LAB_DIR/dir1.sock"
PID1=$LAB_LAST_PID
lab_bg dir2 "$LAB_DIR/lvsd-dir2.log" "$LVSD" --config "$LAB_DIR/dir2.yaml" --status-socket "$LAB_DIR/dir2.sock"
PID2=$LAB_LAST_PID
LAB_WAIT_TIMEOUT=15 lab_wait_for sh -c "[ \"\$('$LVSCTL' --socket '$LAB_DIR/dir1.sock' --json vrrp | jq -r '.instances[0].state' | tr A-Z a-z)\" = master ]"
LAB_WAIT_TIMEOUT=15 lab_wait_for sh -c "'$LVSCTL' --socket '$LAB_DIR/dir1.sock' services | grep -c ' up' | grep -q 6"

step "dir1: lvsctl status"
ctl dir1 status
step "dir1: lvsctl services (health from the checkers)"
ctl dir1 services
step "lvsctl vrrp on both directors"
ctl dir1 vrrp
ctl dir2 vrrp

step "client load through the VIP: 30 HTTP requests"
declare -A seen=()
for _ in $(seq 30); do
  r=$(lab_exec client curl -s --max-time 2 http://192.0.2.200/ || echo error)
  seen[$r]=$((${seen[$r]:-0} + 1))
done
for k in "${!seen[@]}"; do echo "  $k: ${seen[$k]}"; done | sort

step "health checks: stop nginx on rs2, then start it again"
lab_stop_http 2
LAB_WAIT_TIMEOUT=15 lab_wait_for sh -c "'$LVSCTL' --socket '$LAB_DIR/dir1.sock' services | grep -q '192.0.2.22:80 .* down'"
ctl dir1 services | grep -E 'TCP|192.0.2.2'
lab_start_http 2
LAB_WAIT_TIMEOUT=15 lab_wait_for sh -c "'$LVSCTL' --socket '$LAB_DIR/dir1.sock' services | grep -q '192.0.2.22:80 .* up'"
echo "rs2 is back up"

step "reload with a broken config (the running config is kept)"
sed -e 's/scheduler: wlc/sheduler: wlc/' "$ROOT/etc/lab.yaml" >"$LAB_DIR/dir1.yaml"
ctl dir1 reload || true
cp "$ROOT/etc/lab.yaml" "$LAB_DIR/dir1.yaml"

step "$HELD long-lived connections to the echo service, and HTTP every 50 ms"
rm -f "$LAB_DIR/go"
lab_bg client "$LAB_DIR/held.out" "$HOLDER" 192.0.2.200 7 "$HELD" "$LAB_DIR/go" 20
HOLDER_PID=$LAB_LAST_PID
LAB_WAIT_TIMEOUT=20 lab_wait_for grep -q '^ready' "$LAB_DIR/held.out"
cat "$LAB_DIR/held.out"
cat >"$LAB_DIR/http-load.sh" <<'SH'
ok=0; bad=0
while [ ! -f "$1" ]; do
  if curl -s --max-time 1 -o /dev/null http://192.0.2.200/; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
  sleep 0.05
done
echo "http ok $ok failed $bad"
SH
rm -f "$LAB_DIR/stop-load"
lab_bg client "$LAB_DIR/http-load.out" bash "$LAB_DIR/http-load.sh" "$LAB_DIR/stop-load"
LOAD_PID=$LAB_LAST_PID
sleep 1
step "dir2 (standby) has the connections: lvsctl sync"
ctl dir2 sync

step "killing the active director (SIGKILL lvsd on dir1, link down)"
t0=$(date +%s%N)
kill -KILL "$PID1"
lab_exec dir1 ip link set eth0 down
LAB_WAIT_TIMEOUT=10 lab_wait_for sh -c "[ \"\$('$LVSCTL' --socket '$LAB_DIR/dir2.sock' --json vrrp | jq -r '.instances[0].state' | tr A-Z a-z)\" = master ]"
t1=$(date +%s%N)
failover_ms=$(((t1 - t0) / 1000000))
ctl dir2 vrrp
sleep 1
touch "$LAB_DIR/go" "$LAB_DIR/stop-load"
wait "$HOLDER_PID" 2>/dev/null || true
wait "$LOAD_PID" 2>/dev/null || true
step "dir2 after the takeover: lvsctl services"
ctl dir2 services

step "what happened"
echo "  master before: dir1 (priority 150); after: dir2 ($(vrrp_state dir2))"
echo "  failover: dir2 MASTER ${failover_ms} ms after dir1 died (advert interval 200 ms)"
echo "  long-lived connections: $(sed -n 's/^ok \([0-9]*\) reset \([0-9]*\) timeout \([0-9]*\).*/\1 of '"$HELD"' kept (resets \2, hangs \3)/p' "$LAB_DIR/held.out")"
echo "  client HTTP during the failover: $(cat "$LAB_DIR/http-load.out")"

step "stopping lvsd on dir2 (SIGTERM) and tearing the lab down"
kill -TERM "$PID2"
for _ in $(seq 50); do kill -0 "$PID2" 2>/dev/null || break; sleep 0.1; done
wait "$PID2" 2>/dev/null && echo "lvsd exited 0" || echo "lvsd exit status $?"
echo "lvsd rules left in dir2: $(lab_exec dir2 iptables-save | grep -c LVSD || true), ipsets: $(lab_exec dir2 ipset list -name | grep -c LVSD || true)"
lab_down
left=$(ip netns list | awk '{print $1}' | grep -c "^$LAB_PREFIX" || true)
echo "namespaces left with prefix $LAB_PREFIX: $left"
