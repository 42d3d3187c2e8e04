#!/usr/bin/env bash
# VRRP virtual MAC (use_vmac) and Accept_Mode (accept: false) in the lab.
#
#   1. Two lvsd directors with use_vmac (v3, 100 ms, IPv4 and IPv6): the
#      macvlan is made as keepalived makes it (mode private, the RFC MAC,
#      sysctls), the adverts leave with the virtual MAC (tcpdump -e on the
#      LAN), the client's neighbour entry for each VIP is the virtual MAC,
#      and stays so across a SIGKILL failover (no broadcast ARP from the
#      client) and the preemption back (the restarted lvsd adopts its
#      leftover macvlan); SIGTERM removes the macvlans and restores the
#      base interface's sysctls.
#   2. keepalived 2.2.7 with use_vmac as the peer, both roles.
#   3. accept: false: the master's VIPs answer neither ping nor UDP (IPv6:
#      neighbour discovery still works), the backup has no rules, a reload
#      to accept: true removes them (and the VIP answers), SIGTERM removes
#      them, and a killed lvsd's rules are removed by the next start.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${LVSD_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
BUILD=${LVSD_BUILD_DIR:-$SRC/build}
source "$HERE/lib/lab.sh"
source "$HERE/lib/assert.sh"
lab_require_root
if ! command -v keepalived >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y keepalived >/dev/null 2>&1 || true
fi
lab_require_cmd jq tcpdump iptables ip6tables keepalived
# shellcheck source-path=SCRIPTDIR source=lib/vrrp_lab.sh
source "$HERE/lib/vrrp_lab.sh"
SLACK_MS=${SLACK_MS:-600}
VIP4=192.0.2.200
VIP6=2001:db8::200
MAC4=00:00:5e:00:01:33 # vrid 51
MAC6=00:00:5e:00:02:34 # vrid 52
MDI_MS=361             # Master_Down_Interval(100) at 100 ms: 300 + 60.9 ms

lab_up 1
for d in dir1 dir2; do
  lab_bg "$d" "$LAB_DIR/echo-$d.log" "$PROBE" serve "$PORT" "$d"
done

declare -A PID
# lvsd_conf DIR PRIORITY ACCEPT: two use_vmac instances (IPv4 vrid 51, IPv6 vrid 52).
lvsd_conf() {
  cat >"$LAB_DIR/$1.yaml" <<EOF
global: {status_socket: {path: $LAB_DIR/$1.sock}}
vrrp:
  instances:
    - {name: VI_4, interface: eth0, vrid: 51, version: 3, priority: $2, advert_interval: 100ms,
       use_vmac: true, accept: $3, virtual_addresses: [$VIP4/24]}
    - {name: VI_6, interface: eth0, vrid: 52, version: 3, priority: $2, advert_interval: 100ms,
       use_vmac: true, accept: $3, virtual_addresses: ["$VIP6/64"]}
EOF
}
start_lvsd() {
  local d=$1
  rm -f "$LAB_DIR/$d.sock"
  lab_bg "$d" "$LAB_DIR/lvsd-$d.log" "$LVSD" --config "$LAB_DIR/$d.yaml"
  PID[$d]=$LAB_LAST_PID
  lab_wait_for test -S "$LAB_DIR/$d.sock" || fail "lvsd on $d did not start" "$(tail -20 "$LAB_DIR/lvsd-$d.log")"
}
stop_lvsd() {
  kill -"$2" "${PID[$1]}" 2>/dev/null || true
  wait "${PID[$1]}" 2>/dev/null || true
}
lstate() { ctl "$1" --json vrrp 2>/dev/null | jq -r ".instances[] | select(.name==\"$2\") | .state"; }
is_state() { [ "$(lstate "$1" "$2")" = "$3" ]; }
both_state() { [ "$(lstate "$1" VI_4)" = "$2" ] && [ "$(lstate "$1" VI_6)" = "$2" ]; }
on_dev() { [[ "$(ip -n "$(lab_ns "$1")" addr show dev "$2" 2>/dev/null)" == *" $3/"* ]]; }
neigh_mac() { ip -n "$(lab_ns client)" neigh show "$1" dev eth0 | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p'; }
sysctl_in() { lab_exec "$1" cat "/proc/sys/net/$2"; }
dump_logs() { tail -n 25 "$LAB_DIR"/lvsd-dir*.log "$LAB_DIR"/ka-dir*.log 2>/dev/null; }
trap 'rc=$?; ((rc)) && dump_logs; exit $rc' ERR

# ---------------------------------------------------------------- 1. lvsd + lvsd
ARP_IGNORE0=$(sysctl_in dir1 ipv4/conf/eth0/arp_ignore)
lvsd_conf dir1 200 true
lvsd_conf dir2 100 true
start_lvsd dir1
LAB_WAIT_TIMEOUT=10 lab_wait_for both_state dir1 master || fail "dir1 (200) not master"
# A backup's start: its macvlan joins 224.0.0.18 / ff02::12, and the IGMP /
# MLD reports carry the virtual MAC; the bridge points it at dir2 until
# dir1's next advert (or gratuitous ARP) — measured, bounded loosely.
probe $VIP4 nobody 2500 >"$LAB_DIR/o.out" &
p=$!
sleep 0.3
start_lvsd dir2
wait "$p"
out=$(cat "$LAB_DIR/o.out")
echo "# backup start with vmac: $(field "$out" lost) of $(field "$out" sent) probes lost (10 ms apart), max gap $(field "$out" max_gap_ms) ms"
(($(field "$out" lost) <= 30)) || fail "a backup's start lost more than 300 ms of probes" "$out"
LAB_WAIT_TIMEOUT=10 lab_wait_for both_state dir2 backup || fail "dir2 (100) not backup"
for d in dir1 dir2; do
  link=$(ip -d -n "$(lab_ns "$d")" link show vrrp.51)
  assert_contains "$link" "link/ether $MAC4" "$d: vrrp.51 carries 00-00-5E-00-01-{VRID}"
  assert_contains "$link" "macvlan mode private" "$d: vrrp.51 is a private macvlan on eth0"
  assert_contains "$link" "vrrp.51@eth0" "$d: vrrp.51's lower device is eth0"
  assert_contains "$(ip -n "$(lab_ns "$d")" link show vrrp.52)" "link/ether $MAC6" "$d: vrrp.52 carries 00-00-5E-00-02-{VRID}"
  assert_contains "$(ip -n "$(lab_ns "$d")" link show vrrp.51)" "state UP" "$d: the macvlan is up (also as backup)"
done
assert_eq "$(sysctl_in dir2 ipv4/conf/vrrp.51/arp_ignore) $(sysctl_in dir2 ipv4/conf/vrrp.51/rp_filter) $(sysctl_in dir2 ipv4/conf/vrrp.51/accept_local)" \
  "1 0 1" "vmac sysctls: arp_ignore=1 rp_filter=0 accept_local=1"
assert_eq "$(sysctl_in dir2 ipv4/conf/eth0/arp_ignore) $(sysctl_in dir2 ipv4/conf/eth0/arp_filter)" "1 1" \
  "base interface: arp_ignore=1 arp_filter=1 (it must not answer ARP for the VIPs)"
assert_eq "$(sysctl_in dir2 ipv6/conf/vrrp.51/disable_ipv6) $(sysctl_in dir2 ipv6/conf/vrrp.52/addr_gen_mode)" "1 1" \
  "IPv4 vmac without IPv6; IPv6 vmac without a generated link-local"
on_dev dir1 vrrp.51 $VIP4 && on_dev dir1 vrrp.52 $VIP6 || fail "dir1: VIPs not on the macvlans" "$(ip -n "$(lab_ns dir1)" addr)"
on_dev dir2 vrrp.51 $VIP4 && fail "dir2 (backup) holds $VIP4"
pass "master holds the VIPs on its macvlans, the backup on none"
j=$(ctl dir1 --json vrrp)
assert_eq "$(jq -r '.instances[0].vmac | "\(.name) \(.mac) \(.ready)"' <<<"$j")" "vrrp.51 $MAC4 true" "lvsctl --json vrrp shows the vmac"
assert_eq "$(ctl dir2 --json vrrp | jq '[.instances[].dropped] | add')" "0" "the backup accepts every advert (received on its macvlan)"

# Adverts on the LAN: source MAC is the virtual MAC.
lab_exec lan timeout 2 tcpdump -i br0 -e -n -l -c 20 'ip proto 112 or ip6 proto 112' >"$LAB_DIR/adv.txt" 2>/dev/null || true
n4=$(grep -c "vrid 51" "$LAB_DIR/adv.txt" || true)
n6=$(grep -c "vrid 52" "$LAB_DIR/adv.txt" || true)
((n4 > 0 && n6 > 0)) || fail "no adverts captured" "$(head -5 "$LAB_DIR/adv.txt")"
assert_eq "$(grep "vrid 51" "$LAB_DIR/adv.txt" | awk '{print $2}' | sort -u)" "$MAC4" "IPv4 adverts ($n4) leave from $MAC4"
assert_eq "$(grep "vrid 52" "$LAB_DIR/adv.txt" | awk '{print $2}' | sort -u)" "$MAC6" "IPv6 adverts ($n6) leave from $MAC6"

answered_by $VIP4 dir1 || fail "client not answered by dir1 on $VIP4"
answered_by $VIP6 dir1 || fail "client not answered by dir1 on $VIP6"
assert_eq "$(neigh_mac $VIP4)" "$MAC4" "client: $VIP4 is at the virtual MAC"
assert_eq "$(neigh_mac $VIP6)" "$MAC6" "client: $VIP6 is at the virtual MAC"

# Failover by SIGKILL: no broadcast ARP / multicast NS from the client.
CLIENT_MAC=$(ip -n "$(lab_ns client)" link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
lab_exec client timeout 4 tcpdump -i eth0 -e -n -l "ether src $CLIENT_MAC and ((arp and ether dst ff:ff:ff:ff:ff:ff) or (icmp6 and ip6[40] == 135 and ether[0] == 0x33))" \
  >"$LAB_DIR/res.txt" 2>/dev/null &
tcpd=$!
sleep 0.5
probe $VIP4 dir2 $((MDI_MS + 3000)) 3 >"$LAB_DIR/o.out" &
p=$!
sleep 0.3
t0=$(now_ns)
stop_lvsd dir1 KILL
wait "$p"
out=$(cat "$LAB_DIR/o.out")
[ "$(field "$out" until_reached)" = 1 ] || fail "dir2 never answered after the kill" "$out"
ms=$((($(field "$out" first_until_ns) - t0) / 1000000))
echo "# failover SIGKILL with vmac: ${ms} ms (bound $((MDI_MS + SLACK_MS)) ms, lost $(field "$out" lost))"
((ms <= MDI_MS + SLACK_MS)) || fail "failover took ${ms} ms" "$out"
answered_by $VIP6 dir2 || fail "client not answered by dir2 on $VIP6"
wait "$tcpd" 2>/dev/null || true
assert_eq "$(grep -c . "$LAB_DIR/res.txt" || true)" "0" "the client sent no broadcast ARP / multicast NS during the failover"
assert_eq "$(neigh_mac $VIP4) $(neigh_mac $VIP6)" "$MAC4 $MAC6" "client: the VIPs are still at the virtual MACs after the failover"
pass "SIGKILL failover with vmac: dir2 answers after ${ms} ms"

# Restart dir1: it adopts the macvlans its killed predecessor left and preempts.
start_lvsd dir1
LAB_WAIT_TIMEOUT=10 lab_wait_for both_state dir1 master || fail "dir1 did not preempt"
LAB_WAIT_TIMEOUT=10 lab_wait_for both_state dir2 backup || fail "dir2 did not step down"
grep -q 'event=vrrp_vmac .*vmac=vrrp.51.*op=adopted' "$LAB_DIR/lvsd-dir1.log" || fail "dir1 did not adopt its leftover vrrp.51" "$(grep vmac "$LAB_DIR/lvsd-dir1.log")"
answered_by $VIP4 dir1 || fail "client not answered by dir1 after preemption"
assert_eq "$(neigh_mac $VIP4)" "$MAC4" "client: still the virtual MAC after preemption"
pass "restarted lvsd adopts its leftover macvlan and preempts back"

for d in dir1 dir2; do stop_lvsd "$d" TERM; done
for d in dir1 dir2; do
  ip -n "$(lab_ns "$d")" link show vrrp.51 >/dev/null 2>&1 && fail "$d: vrrp.51 left after SIGTERM"
  ip -n "$(lab_ns "$d")" link show vrrp.52 >/dev/null 2>&1 && fail "$d: vrrp.52 left after SIGTERM"
done
assert_eq "$(sysctl_in dir2 ipv4/conf/eth0/arp_ignore)" "$ARP_IGNORE0" "the base's arp_ignore is restored after stop"
pass "SIGTERM removes the macvlans"

# ---------------------------------------------------------------- 2. keepalived peer
ka_conf() {
  cat >"$LAB_DIR/ka-$1.conf" <<EOF
global_defs { router_id ka-$1 }
vrrp_instance VI_4 {
  state BACKUP
  interface eth0
  use_vmac
  virtual_router_id 51
  version 3
  priority $2
  advert_int 0.1
  virtual_ipaddress {
    $VIP4/24
  }
}
EOF
}
lvsd_conf4() {
  cat >"$LAB_DIR/$1.yaml" <<EOF
global: {status_socket: {path: $LAB_DIR/$1.sock}}
vrrp:
  instances:
    - {name: VI_4, interface: eth0, vrid: 51, version: 3, priority: $2, advert_interval: 100ms,
       use_vmac: true, virtual_addresses: [$VIP4/24]}
EOF
}
start_keepalived() {
  local d=$1
  rm -f "$LAB_DIR"/ka-"$d"*.pid
  lab_bg "$d" "$LAB_DIR/ka-$d.log" keepalived -f "$LAB_DIR/ka-$d.conf" -n -l -D -G -P \
    -p "$LAB_DIR/ka-$d.pid" -r "$LAB_DIR/ka-$d-vrrp.pid" -c "$LAB_DIR/ka-$d-chk.pid" \
    -b "$LAB_DIR/ka-$d-bfd.pid"
  PID[ka-$d]=$LAB_LAST_PID
  lab_wait_for test -s "$LAB_DIR/ka-$d-vrrp.pid" || fail "keepalived on $d did not start" "$(tail -20 "$LAB_DIR/ka-$d.log")"
}
kill_keepalived() {
  local d=$1 sig=$2 child
  child=$(cat "$LAB_DIR/ka-$d-vrrp.pid" 2>/dev/null || true)
  kill -"$sig" "${PID[ka-$d]}" ${child:+"$child"} 2>/dev/null || true
  for _ in $(seq 100); do
    lab__alive "${PID[ka-$d]}" || { [ -n "$child" ] && lab__alive "$child"; } || break
    sleep 0.05
  done
  wait "${PID[ka-$d]}" 2>/dev/null || true
}

# keepalived master (dir1, 200), lvsd backup (dir2, 100).
ka_conf dir1 200
lvsd_conf4 dir2 100
start_keepalived dir1
start_lvsd dir2
LAB_WAIT_TIMEOUT=10 lab_wait_for on_dev dir1 vrrp.51 $VIP4 || fail "keepalived did not put $VIP4 on its vrrp.51" "$(tail "$LAB_DIR/ka-dir1.log")"
LAB_WAIT_TIMEOUT=10 lab_wait_for is_state dir2 VI_4 backup || fail "lvsd not backup under keepalived"
sleep 0.5
assert_eq "$(lstate dir2 VI_4)" "backup" "lvsd (100) stays backup under keepalived (200) with both on vmacs"
assert_eq "$(ctl dir2 --json vrrp | jq -r '.instances[0].master')" "$LAB_IP_DIR1" "lvsd sees keepalived as master"
assert_eq "$(ctl dir2 --json vrrp | jq '.instances[0].dropped')" "0" "lvsd accepts keepalived's adverts from the same virtual MAC"
answered_by $VIP4 dir1 || fail "client not answered by keepalived's dir1"
assert_eq "$(neigh_mac $VIP4)" "$MAC4" "client: keepalived's VIP is at the virtual MAC"
probe $VIP4 dir2 $((MDI_MS + 3000)) 3 >"$LAB_DIR/o.out" &
p=$!
sleep 0.3
t0=$(now_ns)
kill_keepalived dir1 KILL
wait "$p"
out=$(cat "$LAB_DIR/o.out")
[ "$(field "$out" until_reached)" = 1 ] || fail "lvsd never answered after keepalived's kill" "$out"
ms=$((($(field "$out" first_until_ns) - t0) / 1000000))
echo "# failover keepalived SIGKILL -> lvsd, both vmac: ${ms} ms"
((ms <= MDI_MS + SLACK_MS)) || fail "took ${ms} ms" "$out"
assert_eq "$(neigh_mac $VIP4)" "$MAC4" "client: still the virtual MAC after keepalived -> lvsd"
pass "keepalived (use_vmac) SIGKILL -> lvsd (use_vmac) in ${ms} ms"
ip -n "$(lab_ns dir1)" link del vrrp.51 2>/dev/null || true # a killed keepalived leaves its vmac
stop_lvsd dir2 TERM

# lvsd master (dir1, 200), keepalived backup (dir2, 100).
lvsd_conf4 dir1 200
ka_conf dir2 100
start_keepalived dir2
start_lvsd dir1
LAB_WAIT_TIMEOUT=10 lab_wait_for is_state dir1 VI_4 master || fail "lvsd (200) not master"
sleep 1
grep -q "(VI_4) Entering BACKUP STATE" "$LAB_DIR/ka-dir2.log" || fail "keepalived never backup" "$(tail "$LAB_DIR/ka-dir2.log")"
on_dev dir2 vrrp.51 $VIP4 && fail "keepalived took $VIP4 while lvsd is master" "$(tail "$LAB_DIR/ka-dir2.log")"
answered_by $VIP4 dir1 || fail "client not answered by lvsd's dir1"
pass "keepalived (use_vmac, 100) stays backup under lvsd (use_vmac, 200)"
probe $VIP4 dir2 $((MDI_MS + 3000)) 20 >"$LAB_DIR/o.out" &
p=$!
sleep 0.3
stop_lvsd dir1 TERM
wait "$p"
out=$(cat "$LAB_DIR/o.out")
[ "$(field "$out" until_reached)" = 1 ] || fail "keepalived never answered after lvsd's stop" "$out"
assert_eq "$(neigh_mac $VIP4)" "$MAC4" "client: still the virtual MAC after lvsd -> keepalived"
pass "lvsd SIGTERM -> keepalived (use_vmac): lost $(field "$out" lost) probes"
kill_keepalived dir2 TERM
ip -n "$(lab_ns dir1)" link show vrrp.51 >/dev/null 2>&1 && fail "dir1: vrrp.51 left after lvsd's SIGTERM"

# ---------------------------------------------------------------- 3. accept: false
chain() { lab_exec "$1" "$2" -w 5 -S LVSD-VRRP-ACCEPT 2>/dev/null || true; }
chain_has() { [[ "$(chain "$1" "$2")" == *"$3"* ]]; }
no_chain() { [ -z "$(chain "$1" iptables)$(chain "$1" ip6tables)" ]; }
# ICMP(v6) echo from the client (python3: the lab has no ping); success = a reply within 1 s.
ping_ok() {
  lab_exec client python3 - "$1" <<'PY' >/dev/null 2>&1
import socket, struct, sys, time
a = sys.argv[1]
v6 = ":" in a
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
def csum(b):
    b += b"\0" * (len(b) % 2)
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
body = struct.pack("!HH", 0x4c56, 1) + b"lvsd"
typ = 128 if v6 else 8
pkt = struct.pack("!BBH", typ, 0, 0) + body
if not v6:
    pkt = struct.pack("!BBH", typ, 0, csum(pkt)) + body
for _ in range(2):
    s.sendto(pkt, (a, 0))
    end = time.time() + 1
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            d, src = s.recvfrom(2048)
        except socket.timeout:
            break
        icmp = d if v6 else d[(d[0] & 15) * 4:]
        if icmp[0] == (129 if v6 else 0) and icmp[4:6] == b"\x4c\x56":
            sys.exit(0)
sys.exit(1)
PY
}
lvsd_conf dir1 200 false
lvsd_conf dir2 100 false
start_lvsd dir1
start_lvsd dir2
LAB_WAIT_TIMEOUT=10 lab_wait_for both_state dir1 master || fail "dir1 not master (accept false)"
LAB_WAIT_TIMEOUT=10 lab_wait_for both_state dir2 backup || fail "dir2 not backup (accept false)"
LAB_WAIT_TIMEOUT=5 lab_wait_for chain_has dir1 iptables "-d $VIP4/32 -j DROP" || fail "no DROP rule for $VIP4" "$(chain dir1 iptables)"
assert_contains "$(chain dir1 ip6tables)" "-d $VIP6/128 -j DROP" "ip6tables drops $VIP6 on the master"
assert_contains "$(lab_exec dir1 iptables -w 5 -S INPUT)" "--comment lvsd-vrrp -j LVSD-VRRP-ACCEPT" "INPUT jumps to LVSD-VRRP-ACCEPT"
assert_eq "$(chain dir2 iptables)" "" "the backup has no Accept_Mode rules"
ip -n "$(lab_ns client)" neigh flush dev eth0
ping_ok $VIP4 && fail "the master answered a ping to $VIP4 with accept: false"
ping_ok $VIP6 && fail "the master answered a ping to $VIP6 with accept: false"
out=$(probe $VIP4 dir1 1000)
assert_eq "$(field "$out" answered)" "0" "UDP to $VIP4 is not answered locally with accept: false"
out=$(probe $VIP6 dir1 1000)
assert_eq "$(field "$out" answered)" "0" "UDP to $VIP6 is not answered locally with accept: false"
ping_ok $LAB_IP_DIR1 || fail "the master's own address stopped answering a ping"
answered_by $LAB_IP_DIR1 dir1 || fail "the master's own address stopped answering UDP"
assert_eq "$(neigh_mac $VIP6)" "$MAC6" "IPv6: neighbour discovery for the VIP still works (NS/NA allowed)"
sleep 1
assert_eq "$(lstate dir1 VI_4) $(lstate dir2 VI_4)" "master backup" "VRRP unaffected by the rules (no spurious takeover)"
assert_eq "$(ctl dir1 --json vrrp | jq -r '.instances[0] | "\(.accept) \(.accept_enforced)"')" "false true" "lvsctl shows accept false, enforced"
pass "accept: false: the master's VIPs accept no local traffic"

# Reload to accept: true: rules removed, the VIP answers.
lvsd_conf dir1 200 true
kill -HUP "${PID[dir1]}"
LAB_WAIT_TIMEOUT=5 lab_wait_for no_chain dir1 || fail "rules left after reload to accept: true" "$(chain dir1 iptables)"
[[ "$(lab_exec dir1 iptables -w 5 -S INPUT)" == *LVSD-VRRP-ACCEPT* ]] && fail "the INPUT jump is left after reload"
ping_ok $VIP4 || fail "no ping answer from $VIP4 with accept: true"
answered_by $VIP4 dir1 || fail "no UDP answer from $VIP4 with accept: true"
pass "reload to accept: true removes the rules; the VIP answers"

# Back to false, then SIGTERM: removed.
lvsd_conf dir1 200 false
kill -HUP "${PID[dir1]}"
LAB_WAIT_TIMEOUT=5 lab_wait_for chain_has dir1 iptables DROP || fail "rules not back after reload to accept: false"
stop_lvsd dir1 TERM
assert_eq "$(chain dir1 iptables)$(chain dir1 ip6tables)" "" "SIGTERM removes the Accept_Mode chains"
[[ "$(lab_exec dir1 iptables -w 5 -S INPUT)" == *LVSD-VRRP-ACCEPT* ]] && fail "the INPUT jump is left after SIGTERM"
pass "rules vanish on stop"

# dir2 took over (accept: false): its rules; kill it: the rules stay; the
# next start (accept: true) removes them.
LAB_WAIT_TIMEOUT=5 lab_wait_for chain_has dir2 iptables DROP || fail "dir2 as master has no rules"
stop_lvsd dir2 KILL
[ -n "$(chain dir2 iptables)" ] || fail "expected the killed lvsd's rules to be left"
lvsd_conf dir2 100 true
start_lvsd dir2
LAB_WAIT_TIMEOUT=5 lab_wait_for no_chain dir2 || fail "leftover rules not removed at start"
pass "a killed lvsd's Accept_Mode rules are removed by the next start"
stop_lvsd dir2 TERM
