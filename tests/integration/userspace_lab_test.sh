#!/usr/bin/env bash
# The userspace forwarding engine in the namespace lab (no ip_vs here): lvsd
# on dir1 with backend userspace, real nginx on three realservers.
#   - NAT (rr): 30 new connections spread exactly 10/10/10, answers come
#     back from the VIP; lvsctl services counts them;
#   - DR (rr): the realservers hold the VIP on lo (arp_ignore=1,
#     arp_announce=2) and answer the client directly;
#   - persistence: every connection of the client sticks to one realserver;
#   - UDP (NAT): datagrams reach the realservers and the answers come back;
#   - a firewall-mark service (mark set by an operator's mangle rule);
#   - a DR realserver that answers ARP for the VIP is reported (warning);
#   - TUN: the director sends IP-in-IP to the realserver (witnessed with
#     tcpdump on the realserver: this kernel cannot decapsulate, the VM test
#     does it end to end);
#   - a realserver removed on reload gets no new connections while an
#     established keep-alive connection to it goes on working;
#   - a SYN flood beyond forwarding.userspace.max_connections leaves the
#     table at its limit and the service still answers;
#   - SIGTERM removes every rule lvsd made and leaves others' rules alone.
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
SYNFLOOD=$BUILD/tests/syn_flood

lab_require_root
lab_require_cmd nginx curl jq socat tcpdump iptables-save ipset
[ -x "$LVSD" ] && [ -x "$LVSCTL" ] && [ -x "$SYNFLOOD" ] || fail "lvsd/lvsctl/syn_flood not built in $BUILD"

lab_up 3
lab_start_http_all

# Director: owns the VIPs, routes, sends no redirects (client and realservers
# share the LAN).
for vip in 200 201 202 203 205; do lab_exec dir1 ip addr add "192.0.2.$vip/32" dev eth0; done
# The operator marks traffic for a firewall-mark service (mangle PREROUTING,
# before lvsd's own chain there).
lab_exec dir1 iptables -t mangle -A PREROUTING -d 192.0.2.205/32 -p tcp --dport 80 -j MARK --set-mark 5
lab_exec dir1 sysctl -qw net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
# A rule of somebody else's, which must survive lvsd.
lab_exec dir1 iptables -t raw -A PREROUTING -s 198.51.100.0/24 -j ACCEPT

for k in 1 2 3; do
  # NAT: replies from the realserver's own address go back through dir1.
  lab_exec "rs$k" ip rule add from "192.0.2.2$k" lookup 100
  lab_exec "rs$k" ip route add default via 192.0.2.11 table 100
  # DR: the VIP on lo, not answered in ARP.
  lab_exec "rs$k" ip addr add 192.0.2.201/32 dev lo
  lab_exec "rs$k" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
  # UDP: one answer per datagram naming the realserver.
  lab_bg "rs$k" "$LAB_DIR/udp-rs$k.log" socat -T2 UDP4-RECVFROM:53,bind=192.0.2.2$k,fork SYSTEM:"echo rs$k"
done

CONFIG=$LAB_DIR/lvsd.yaml
SOCK=$LAB_DIR/lvsd.sock
write_config() {  # $1: realservers of the NAT service
  cat >"$CONFIG" <<YAML
global:
  logging: {target: console, level: info}
forwarding:
  backend: userspace
  reconcile_interval: 2s
  userspace: {queues: 1, max_connections: 500, syn_recv_timeout: 30s}
services:
  - name: nat
    address: 192.0.2.200
    port: 80
    scheduler: rr
    method: nat
    realservers: [$1]
  - name: dr
    address: 192.0.2.201
    port: 80
    scheduler: rr
    method: dr
    realservers: [{address: 192.0.2.21}, {address: 192.0.2.22}, {address: 192.0.2.23}]
  - name: sticky
    address: 192.0.2.202
    port: 80
    scheduler: rr
    persistence: {timeout: 5m}
    realservers: [{address: 192.0.2.21}, {address: 192.0.2.22}, {address: 192.0.2.23}]
  - name: dns
    address: 192.0.2.200
    port: 53
    protocol: udp
    scheduler: rr
    realservers: [{address: 192.0.2.21}, {address: 192.0.2.22}, {address: 192.0.2.23}]
  - name: marked
    fwmark: 5
    scheduler: rr
    realservers: [{address: 192.0.2.21, port: 80}, {address: 192.0.2.22, port: 80}]
  - name: tun
    address: 192.0.2.203
    port: 80
    scheduler: rr
    method: tun
    realservers: [{address: 192.0.2.23}]
YAML
}
write_config "{address: 192.0.2.21}, {address: 192.0.2.22}, {address: 192.0.2.23}"

ctl() { "$LVSCTL" --socket "$SOCK" "$@"; }
lab_bg dir1 "$LAB_DIR/lvsd.log" "$LVSD" --config "$CONFIG" --status-socket "$SOCK"
LVSD_PID=$LAB_LAST_PID
lab_wait_for test -S "$SOCK" || { cat "$LAB_DIR/lvsd.log"; fail "lvsd did not start"; }
lab_wait_for sh -c "'$LVSCTL' --socket '$SOCK' --json services | jq -e '.services | length == 6' >/dev/null" ||
  { cat "$LAB_DIR/lvsd.log"; fail "services not programmed"; }
pass "lvsd runs the userspace engine"

rules=$(lab_exec dir1 iptables-save -t raw)
assert_contains "$rules" "-A PREROUTING -m comment --comment lvsd -j LVSD-PRE" "jump to lvsd's chain installed"
assert_contains "$rules" "-A LVSD-PRE -m set --match-set LVSD-SVC4-GSO dst,dst -j LVSD-Q-GSO" "NAT services matched by their set"
assert_contains "$rules" "-A LVSD-Q-GSO -j NFQUEUE" "and queued"
assert_contains "$(lab_exec dir1 ipset list LVSD-SVC4-GSO)" "192.0.2.200,tcp:80" "VIP:port in the set"

get() { lab_exec client curl -fsS --max-time 2 "http://$1/" 2>&1 || echo "ERR"; }

# --- NAT spread
declare -A seen=()
for i in $(seq 30); do r=$(get 192.0.2.200); seen[$r]=$((${seen[$r]:-0} + 1)); done
summary=$(for k in "${!seen[@]}"; do echo "$k=${seen[$k]}"; done | sort | tr '\n' ' ')
assert_eq "$summary" "rs1=10 rs2=10 rs3=10 " "NAT rr: 30 connections spread 10/10/10"
# The answers came from the VIP (curl connected to it and got them).
stats=$(ctl --json services)
conns=$(jq '[.services[] | select(.address == "192.0.2.200" and .port == 80) | .realservers[].stats.conns] | add' <<<"$stats" 2>/dev/null || echo "?")
[ "$conns" = "30" ] || { echo "$stats" | jq . | head -60; }
assert_eq "$conns" "30" "lvsctl services counts 30 NAT connections"

# --- DR spread (answers come straight from the realservers)
declare -A dr=()
for i in $(seq 9); do r=$(get 192.0.2.201); dr[$r]=$((${dr[$r]:-0} + 1)); done
summary=$(for k in "${!dr[@]}"; do echo "$k=${dr[$k]}"; done | sort | tr '\n' ' ')
assert_eq "$summary" "rs1=3 rs2=3 rs3=3 " "DR rr: 9 connections spread 3/3/3"

# --- the "ARP problem": rs1 starts answering ARP for the DR VIP; lvsd's
# periodic probe (unicast ARP to each DR realserver) notices and warns.
lab_exec rs1 sysctl -qw net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0
LAB_WAIT_TIMEOUT=15 lab_wait_for grep -q 'event=userspace_arp_problem realserver=192.0.2.21 vip=192.0.2.201' "$LAB_DIR/lvsd.log" ||
  fail "no warning about rs1 answering ARP for the VIP"
pass "lvsd warns that rs1 answers ARP for the DR VIP"
lab_exec rs1 sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
assert_not_contains "$(grep userspace_arp_problem "$LAB_DIR/lvsd.log" | grep -v 192.0.2.21)" "userspace_arp_problem" \
  "no warning about the realservers that ignore ARP for the VIP"

# --- fwmark service (NAT): the mark set by the operator's rule selects it
declare -A fm=()
for i in $(seq 6); do r=$(get 192.0.2.205); fm[$r]=$((${fm[$r]:-0} + 1)); done
summary=$(for k in "${!fm[@]}"; do echo "$k=${fm[$k]}"; done | sort | tr '\n' ' ')
assert_eq "$summary" "rs1=3 rs2=3 " "fwmark service: 6 connections spread 3/3"

# --- persistence
declare -A st=()
for i in $(seq 12); do r=$(get 192.0.2.202); st[$r]=1; done
assert_eq "${#st[@]}" "1" "persistence: 12 connections, one realserver (${!st[*]})"

# --- UDP
declare -A u=()
for i in $(seq 6); do
  r=$(echo q | lab_exec client socat -T2 - UDP4:192.0.2.200:53 2>/dev/null || echo ERR); r=${r:-EMPTY}
  u[$r]=$((${u[$r]:-0} + 1))
done
summary=$(for k in "${!u[@]}"; do echo "$k=${u[$k]}"; done | sort | tr '\n' ' ')
assert_eq "$summary" "rs1=2 rs2=2 rs3=2 " "UDP NAT rr: 6 flows spread 2/2/2, answers returned"

# --- TUN: IP-in-IP from the director arrives at rs3
lab_bg rs3 "$LAB_DIR/tun.txt" tcpdump -n -l -i eth0 -c 1 'ip proto 4'
TCPDUMP=$LAB_LAST_PID
sleep 1
lab_exec client curl -s --max-time 1 http://192.0.2.203/ >/dev/null 2>&1 || true
lab_wait_for grep -q 'IP 192.0.2.11 > 192.0.2.23: IP 192.0.2.100' "$LAB_DIR/tun.txt" ||
  { cat "$LAB_DIR/tun.txt"; fail "no IP-in-IP packet reached rs3"; }
lab_kill "$TCPDUMP"
pass "TUN: the client's packet arrives at rs3 encapsulated (outer 192.0.2.11 > 192.0.2.23)"

# --- removal on reload: established keep-alive connection keeps working
cat >"$LAB_DIR/held.sh" <<'SH'
exec 3<>/dev/tcp/192.0.2.200/80
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >&3
first=""; while IFS= read -r -t 2 line <&3; do case $line in rs*) first=${line%$'\r'}; break;; esac; done
echo "first=$first"
# wait for the reload (the test creates this file)
for i in $(seq 40); do [ -f "$1" ] && break; sleep 0.1; done
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >&3
second=""; while IFS= read -r -t 2 line <&3; do case $line in rs*) second=${line%$'\r'}; break;; esac; done
echo "second=$second"
SH
lab_bg client "$LAB_DIR/held.out" bash "$LAB_DIR/held.sh" "$LAB_DIR/reloaded"
HELD=$LAB_LAST_PID
lab_wait_for grep -q '^first=rs' "$LAB_DIR/held.out" || fail "held connection got no answer"
victim=$(sed -n 's/^first=//p' "$LAB_DIR/held.out")
k=${victim#rs}
others=""
for j in 1 2 3; do [ "$j" = "$k" ] || others+="{address: 192.0.2.2$j}, "; done
write_config "${others%, }"
kill -HUP "$LVSD_PID"
lab_wait_for sh -c "'$LVSCTL' --socket '$SOCK' --json services | jq -e '[.services[] | select(.address == \"192.0.2.200\" and .port == 80) | .realservers | length] == [2]' >/dev/null" ||
  fail "reload did not remove $victim"
touch "$LAB_DIR/reloaded"
wait "$HELD" 2>/dev/null || true
assert_contains "$(cat "$LAB_DIR/held.out")" "second=$victim" "established connection to removed $victim keeps working"
bad=0
for i in $(seq 10); do [ "$(get 192.0.2.200)" = "$victim" ] && bad=$((bad + 1)); done
assert_eq "$bad" "0" "no new connection goes to the removed $victim"

# --- SYN flood beyond the table limit (500)
lab_exec client "$SYNFLOOD" 192.0.2.100 192.0.2.200 80 3000 >/dev/null
sleep 1
eng=$(ctl --json forwarding | jq .engine)
n=$(jq .connections <<<"$eng")
[ "$n" -le 500 ] || fail "connection table grew to $n entries (limit 500): $eng"
pass "SYN flood of 3000: table holds $n entries (limit 500)"
r=$(get 192.0.2.200)
assert_ne "$r" "ERR" "the service still answers after the flood ($r)"

# --- clean stop
kill -TERM "$LVSD_PID"
for i in $(seq 100); do kill -0 "$LVSD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$LVSD_PID" 2>/dev/null && fail "lvsd did not stop"
rules=$(lab_exec dir1 iptables-save)
assert_not_contains "$rules" "LVSD" "no lvsd rule left after SIGTERM"
assert_eq "$(lab_exec dir1 ipset list -name | grep -c LVSD || true)" "0" "no lvsd ipset left after SIGTERM"
assert_contains "$rules" "-A PREROUTING -s 198.51.100.0/24 -j ACCEPT" "somebody else's rule untouched"
rules6=$(lab_exec dir1 ip6tables-save)
assert_not_contains "$rules6" "LVSD" "no lvsd ip6tables rule left"
echo "userspace_lab: all passed"
