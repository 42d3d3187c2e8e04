#!/usr/bin/env bash
# lvsd's live demo: installs dependencies, builds, then builds a lab of network
# namespaces (a client, two directors, three realservers running nginx, joined
# by a bridge in a namespace of its own), runs lvsd on director 1 with
# etc/lab.yaml, shows what `lvsctl` reports, reloads, and tears it all down.
# Nothing is attached to or configured in the root namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/build.sh >/dev/null
BUILD_DIR=${BUILD_DIR:-build}
LVSD=$ROOT/$BUILD_DIR/daemon/lvsd
LVSCTL=$ROOT/$BUILD_DIR/daemon/lvsctl

# shellcheck source=../tests/integration/lib/lab.sh
source "$ROOT/tests/integration/lib/lab.sh"
lab_require_root

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "building the lab (3 realservers)"
lab_up 3
lab_start_http_all
echo "namespaces: $(ip netns list | awk '{print $1}' | grep -c "^$LAB_PREFIX") with prefix $LAB_PREFIX"
for k in 1 2 3; do
  printf 'client -> rs%s (%s): %s\n' "$k" "${LAB_IP_RS[$k]}" \
    "$(lab_exec client curl -s --max-time 2 "http://${LAB_IP_RS[$k]}/")"
done

step "validating etc/lab.yaml"
"$LVSD" --check-config "$ROOT/etc/lab.yaml"

step "starting lvsd on director 1"
SOCK=$LAB_DIR/lvsd-dir1.sock
CONFIG=$LAB_DIR/lvsd-dir1.yaml
cp "$ROOT/etc/lab.yaml" "$CONFIG"
lab_bg dir1 "$LAB_DIR/lvsd-dir1.log" "$LVSD" --config "$CONFIG" --status-socket "$SOCK"
LVSD_PID=$LAB_LAST_PID
lab_wait_for test -S "$SOCK"
export LVSD_SOCKET=$SOCK

step "lvsctl status"
"$LVSCTL" status
step "lvsctl services"
"$LVSCTL" services
step "health checks: stop nginx on rs2"
lab_stop_http 2
LAB_WAIT_TIMEOUT=15 lab_wait_for sh -c "'$LVSCTL' services | grep -q '192.0.2.22:80 .* down'"
"$LVSCTL" services
step "start nginx on rs2 again"
lab_start_http 2
LAB_WAIT_TIMEOUT=15 lab_wait_for sh -c "'$LVSCTL' services | grep -q '192.0.2.22:80 .* up'"
"$LVSCTL" services
step "lvsctl vrrp"
"$LVSCTL" vrrp

step "reload with a broken config (the running config is kept)"
# Two mistakes: a misspelt key and a port out of range; both are reported.
sed -e 's/scheduler: wlc/sheduler: wlc/' -e '0,/port: 80$/! {0,/        port: 80$/ s/port: 80$/port: 80000/}' \
  "$ROOT/etc/lab.yaml" >"$CONFIG"
"$LVSCTL" reload || true
cp "$ROOT/etc/lab.yaml" "$CONFIG"
step "reload with the good config again (SIGHUP)"
kill -HUP "$LVSD_PID"
lab_wait_for sh -c "'$LVSCTL' status --json | grep -q '\"applied\": 1'"
"$LVSCTL" status | grep -E 'reload'

step "stopping lvsd (SIGTERM)"
kill -TERM "$LVSD_PID"
for _ in $(seq 50); do kill -0 "$LVSD_PID" 2>/dev/null || break; sleep 0.1; done
wait "$LVSD_PID" 2>/dev/null && echo "lvsd exited 0" || echo "lvsd exit status $?"
[ -S "$SOCK" ] && echo "status socket still present!" || echo "status socket removed"
echo; echo "--- lvsd log ---"; cat "$LAB_DIR/lvsd-dir1.log"

step "tearing the lab down"
lab_down
left=$(ip netns list | awk '{print $1}' | grep -c "^$LAB_PREFIX" || true)
echo "namespaces left with prefix $LAB_PREFIX: $left"
