#!/usr/bin/env bash
# shellcheck disable=SC2317 # the contenders' setup_/teardown_ are called by name
# Dataplane benchmark (issue 5, "Performance"): the userspace engine against
# the kernel's own forwarding and HAProxy, side by side in one run, in the
# namespace lab (tests/integration/lib/lab.sh: client, dir1, rs1..rs3 on one
# bridge, 192.0.2.0/24; nothing leaves the lab namespaces).
#
#   tests/bench/dataplane.sh [D] [R]
#     D  seconds per wrk run (default 10)
#     R  rounds (default 3); every figure is the median over the R rounds
#   env: BUILD=build (where daemon/lvsd and daemon/lvsctl are),
#        THREADS=3 CONNS=12 (wrk -t/-c for every contender; THREADS should be
#        a multiple of 3, see "direct"), SETTLE=0.5 (s between runs),
#        CONTENDERS="direct knat kdr haproxy lvsd-nat lvsd-dr lvsd-tun",
#        WORKLOADS="ka close 1m", HAPROXY_THREADS= (nbthread; default:
#        HAProxy's own, one per CPU), KEEP=1 (keep the lab dir: logs,
#        configs, wrk output, and per run the client's sockets at mid-run and
#        nstat counters of every host before/after, for post-mortems)
#
# Realservers: nginx per realserver (worker_processes 1, access_log off,
# keepalive_requests 1000000, sendfile), listening on 0.0.0.0:80:
#   /small  `return 200 "rsK\n"` (4-byte body)      /1m  a 1 MiB static file
#   /status stub_status (request counts per realserver: the "spread" column)
# Every realserver permanently holds the VIP 192.0.2.200/32 on lo with
# arp_ignore=1/arp_announce=2 (needed by DR, harmless otherwise).
#
# The client reaches the VIP through a static route "192.0.2.200 via dir1"
# (as behind a router), for every contender: kernel DR needs the VIP NOT to be
# local on dir1 (a local VIP makes the local table win and the packet is
# delivered to dir1's own stack instead of being forwarded), so nobody can
# rely on dir1 answering ARP for it. The contenders that terminate or steer
# on dir1 (kernel NAT, HAProxy, lvsd) have the VIP on dir1's eth0 (/32), as in
# tests/integration/userspace_lab_test.sh; kernel DR runs without it.
#
# dir1 forwards (ip_forward=1) and sends no ICMP redirects (client and
# realservers share the LAN); tcp_tw_reuse=1 and ip_local_port_range
# 10000-65000 for HAProxy's connections to the realservers. The client (the
# load generator) has the same port range and tcp_max_tw_buckets=0: wrk often
# closes first, and the TIME_WAIT left by one connection-per-request run
# (60 s) would otherwise fill the client's even ports, which connect()
# prefers, and slow down the connects of whatever contender runs next.
# Conntrack is registered in dir1 from the start (the nat table used by
# kernel NAT; iptables-nft cannot unregister it again, so it is there for
# every round, not only after the first kernel NAT run);
# the contenders that do not need conntrack exempt their flows with
# `CT --notrack` in raw (kernel DR and HAProxy here; lvsd does it itself for
# the flows it steers), so nobody pays for conntrack but kernel NAT.
#
# Contenders (each set up before and torn down after its runs, every round):
#   direct   client -> realservers, no director: the ceiling. One wrk process;
#            its script (setup()) points wrk thread i at rs(i mod 3 + 1), so
#            THREADS=3 gives an exact 1/3 spread and one latency histogram.
#            It connects from a second client address, 192.0.2.101: at 50k
#            connections/s the client's ports wrap every second and the
#            realservers' TIME_WAIT sockets for (RIP:80, client:port) would
#            reject (PAWS/sequence) the NAT contenders' SYNs, which carry the
#            same 4-tuple but an ISN and timestamps derived from client->VIP:
#            1 s SYN retransmits (kernel NAT fell to 82 req/s after "direct").
#   knat     kernel NAT: iptables DNAT on dir1 (nat PREROUTING, exact round
#            robin with `-m statistic --mode nth`: every 3rd/2nd/rest of the
#            new connections), realservers route replies back through dir1
#            (`ip rule add from RIP lookup 100; default via dir1 table 100`,
#            like the integration test; installed for the NAT contenders only,
#            so that "direct" answers go straight to the client).
#   kdr      kernel direct routing: on dir1, mangle PREROUTING HMARK (a
#            stateless hash of the 5-tuple, mod 3 -> fwmark 1..3: conntrack
#            marks cannot be used, dir1 sees only the client's half of each
#            flow, see the issue's trap 1) and `ip rule fwmark K table 10K`,
#            table 10K: "192.0.2.200 via rsK"; raw notrack for VIP:80.
#            Sockets on dir1 bound to the VIP (HAProxy's TIME_WAIT) are
#            removed first with `ss -K` (the issue's trap 2: early demux ties
#            such a 4-tuple to the socket and ip_forward() drops it).
#            A hash, not round robin: with few keep-alive connections the
#            spread is uneven (see the spread column).
#   haproxy  HAProxy (2.6) `mode tcp`, bind VIP:80, balance roundrobin over
#            the 3 realservers, `haproxy -db` (one process), notrack on its
#            front and back flows.
#   lvsd-nat lvsd forwarding.backend userspace, scheduler rr, method nat,
#            VIP:80 (other settings lvsd's defaults), replies routed back as
#            for knat.
#   lvsd-dr  the same with method dr.
#   lvsd-tun lvsd TUN: needs realservers that decapsulate IP-in-IP; this
#            kernel has no ipip (`ip link add type ipip` fails in a netns), so
#            it prints "n/a" unless that works here.
# Each round runs the contenders in a rotated order (round r starts with the
# r-th contender), and all three workloads back to back per contender.
#
# Workloads (wrk from the client namespace, -t THREADS -c CONNS -d D --latency):
#   ka     GET /small, HTTP keep-alive
#   close  GET /small with `Connection: close`: a new TCP connection per request
#   1m     GET /1m (1 MiB), keep-alive
# Columns:
#   req/s    wrk's requests / duration; "/direct" is the ratio to the ceiling
#   p99 ms   wrk's latency p99 (wrk measures from writing the request to the
#            end of the response: TCP connect time is not included)
#   errors   wrk socket errors (connect, read, write, timeout) + non-2xx/3xx
#            + "stuck" client connections (SYN retransmitted, or another timer
#            fired twice; sampled with ss in the middle of the run: wrk itself
#            does not notice a connection that never completes), summed over
#            the rounds: must be 0 for a figure to mean anything
#   dir CPU  utime+stime of the director's process (lvsd or HAProxy; /proc/PID
#            /stat, all threads) during the run: % of one core and us per
#            request. Kernel forwarding runs in softirq, in the context of
#            whichever process happened to send the packet (wrk, nginx, lvsd's
#            verdicts): it is NOT attributed to the director ("-" for knat and
#            kdr), and the lvsd/HAProxy figures include only the kernel work
#            done inside their own system calls.
#   sirq     host-wide softirq time (/proc/stat) per request, us: every lab
#            namespace (client, bridge, director, realservers) together, and
#            any other traffic on the host; a rough comparison only.
#   spread   share of the requests each realserver served (%, rs1/rs2/rs3).
# After the lvsd runs it prints `lvsctl --json forwarding | jq .engine` and
# /proc/net/netfilter/nfnetlink_queue of dir1 (queue_dropped and
# user_dropped are the 6th and 7th fields; with fail_open (lvsd's default) a
# full queue lets packets through unbalanced instead of counting them, so the
# script also compares the NFQUEUE rules' packet counters ("steered") with
# the queues' id_sequence ("queued"): fewer queued than steered = refused by
# a full queue; more = the kernel split GSO packets into segments to queue
# them, i.e. the queue was not opened with NFQA_CFG_F_GSO).
# Finally the ratios the issue's goal is stated in, per workload.
#
# The host is shared (2 cores for client, director and realservers, and
# whatever else runs): absolute numbers move with the load (printed), the
# ratios within one interleaved run are what to compare.
#
# Needs root, wrk, haproxy, nginx, curl, jq, iptables; wrk and haproxy are
# installed with apt-get when missing.
set -euo pipefail

D=${1:-${D:-10}}
R=${2:-${R:-3}}
THREADS=${THREADS:-3}
CONNS=${CONNS:-12}
SETTLE=${SETTLE:-0.5}
CONTENDERS=${CONTENDERS:-direct knat kdr haproxy lvsd-nat lvsd-dr lvsd-tun}
WORKLOADS=${WORKLOADS:-ka close 1m}
HAPROXY_THREADS=${HAPROXY_THREADS:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LVSD=$BUILD/daemon/lvsd
LVSCTL=$BUILD/daemon/lvsctl
HZ=$(getconf CLK_TCK)
VIP=192.0.2.200
CLIENT_DIRECT=192.0.2.101
[[ ${KEEP:-0} == 1 ]] && export LAB_KEEP=1

# shellcheck source-path=SCRIPTDIR source=../integration/lib/lab.sh
source "$ROOT/tests/integration/lib/lab.sh"

say() { printf 'dataplane: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[[ $D =~ ^[0-9]+$ && $D -ge 1 && $R =~ ^[0-9]+$ && $R -ge 1 ]] || die "usage: $0 [D seconds] [R rounds]"
(( THREADS >= 1 && CONNS >= THREADS )) || die "need CONNS >= THREADS >= 1"
(( THREADS % 3 == 0 )) || say "warning: THREADS=$THREADS is not a multiple of 3: 'direct' spreads unevenly"

lab_require_root
missing=()
for t in wrk haproxy; do command -v "$t" >/dev/null || missing+=("$t"); done
if ((${#missing[@]})); then
  say "installing ${missing[*]} (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The haproxy package starts a system instance on the host; this
  # benchmark runs its own inside the lab.
  if [[ " ${missing[*]} " == *" haproxy "* ]]; then
    { systemctl stop haproxy || service haproxy stop; } >/dev/null 2>&1 || true
  fi
fi
lab_require_cmd wrk haproxy nginx curl jq iptables iptables-save
[[ -x $LVSD && -x $LVSCTL ]] || die "lvsd/lvsctl not built in $BUILD (set BUILD=...)"

# ------------------------------------------------------------------- the lab
lab_up 3
RS_IPS=("${LAB_IP_RS[1]}" "${LAB_IP_RS[2]}" "${LAB_IP_RS[3]}")
DIR1=$LAB_IP_DIR1
W=$LAB_DIR

# Realservers: nginx with a small and a 1 MiB response.
mkdir -p "$W/www"
head -c 1048576 /dev/urandom >"$W/www/1m"
chmod -R a+rX "$W/www"
rs_status() { # rs_status K -> requests served so far by rsK
  lab_exec "rs$1" curl -s --max-time 2 http://127.0.0.1/status | awk 'NR == 3 {print $3}'
}
for k in 1 2 3; do
  d=$W/nginx-rs$k
  mkdir -p "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen 0.0.0.0:80 reuseport backlog=4096;
        server_name _;
        root $W/www;
        location = /small { return 200 "rs$k\n"; }
        location = /1m { }
        location = /status { stub_status; allow 127.0.0.1; deny all; }
        location / { return 404; }
    }
}
EOF
  lab_bg "rs$k" "$d/stdout.log" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf"
  lab_wait_for sh -c "[ -n \"\$(ip netns exec ${LAB_NS_RS[k]} curl -s --max-time 1 http://127.0.0.1/status)\" ]" ||
    { cat "$d/error.log" "$d/stdout.log" >&2; die "nginx on rs$k did not start"; }
  # DR: the VIP on lo, never answered in ARP.
  lab_exec "rs$k" ip addr add "$VIP/32" dev lo
  lab_exec "rs$k" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
  # NAT replies: table 100 (used only while a NAT contender runs, see nat_rules).
  lab_exec "rs$k" ip route add default via "$DIR1" table 100
done

# Client: the VIP behind dir1; a wide port range for connection-per-request.
lab_exec client ip route add "$VIP/32" via "$DIR1" dev eth0
lab_exec client sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
# The load generator keeps no TIME_WAIT (see the header): wrk often closes
# first, and 60 s of TIME_WAIT from one contender's connection-per-request run
# filled the client's even ports (connect() prefers them) for the next ones,
# whose connect() then crawled through the port space (HAProxy 319 req/s,
# lvsd DR 230 req/s after such runs, no error anywhere).
lab_exec client sysctl -qw net.ipv4.tcp_max_tw_buckets=0
# "direct" connects from a second address (TIME_WAIT clash, see the header).
lab_exec client ip addr add "$CLIENT_DIRECT/24" dev eth0
for rs in "${RS_IPS[@]}"; do lab_exec client ip route add "$rs/32" dev eth0 src "$CLIENT_DIRECT"; done

# Director (HAProxy's connections to the realservers use its port range;
# tcp_tw_reuse as on any proxy opening many connections).
lab_exec dir1 sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
  net.ipv4.conf.default.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0 \
  net.ipv4.ip_local_port_range="10000 65000" net.ipv4.tcp_tw_reuse=1
lab_exec dir1 iptables -t nat -N BENCH-NAT
lab_exec dir1 iptables -t nat -A PREROUTING -j BENCH-NAT
lab_exec dir1 iptables -t raw -N BENCH-RAWPRE
lab_exec dir1 iptables -t raw -A PREROUTING -j BENCH-RAWPRE
lab_exec dir1 iptables -t raw -N BENCH-RAWOUT
lab_exec dir1 iptables -t raw -A OUTPUT -j BENCH-RAWOUT
lab_exec dir1 iptables -t mangle -N BENCH-MANGLE
lab_exec dir1 iptables -t mangle -A PREROUTING -j BENCH-MANGLE
for k in 1 2 3; do # kernel DR: fwmark K -> table 10K -> VIP via rsK
  lab_exec dir1 ip rule add fwmark "$k" table "10$k" pref "10$k"
  lab_exec dir1 ip route add "$VIP/32" via "${RS_IPS[k - 1]}" dev eth0 table "10$k"
done

vip_on_dir1() { lab_exec dir1 ip addr replace "$VIP/32" dev eth0; }
vip_off_dir1() { lab_exec dir1 ip addr del "$VIP/32" dev eth0 2>/dev/null || true; }
nat_rules() { # nat_rules add|del: realservers send their own replies via dir1
  local k
  for k in 1 2 3; do
    lab_exec "rs$k" ip rule "$1" from "${RS_IPS[k - 1]}" lookup 100 pref 100 2>/dev/null || [[ $1 == del ]]
  done
}
flush_bench_rules() {
  lab_exec dir1 iptables -t nat -F BENCH-NAT
  lab_exec dir1 iptables -t raw -F BENCH-RAWPRE
  lab_exec dir1 iptables -t raw -F BENCH-RAWOUT
  lab_exec dir1 iptables -t mangle -F BENCH-MANGLE
}

# wrk: per-thread target spread (direct) and a machine-readable summary.
cat >"$W/bench.lua" <<'LUA'
local addrs, n = {}, 0
for a in string.gmatch(os.getenv("BENCH_SPREAD") or "", "[^,]+") do addrs[#addrs + 1] = a end
function setup(thread)
  if #addrs > 0 then
    thread.addr = wrk.lookup(addrs[(n % #addrs) + 1], "80")[1]
    n = n + 1
  end
end
function done(s, lat, req)
  local e = s.errors
  io.write(string.format("BENCH %d %d %d %.0f %.0f %d %d %d %d %d\n", s.requests, s.duration,
    s.bytes, lat:percentile(50), lat:percentile(99), e.connect, e.read, e.write, e.status,
    e.timeout))
end
LUA

# ------------------------------------------------------------ the contenders
DIR_PID=""       # the director's process while a contender runs (lvsd, haproxy)
SOCK=$W/lvsd.sock
ctl() { "$LVSCTL" --socket "$SOCK" "$@"; }
via_vip() { lab_exec client curl -fs --max-time 1 -o /dev/null "http://$VIP/small"; }
via_vip_3() { via_vip && via_vip && via_vip; }

TUN_OK=0
probe_ipip() {
  local err
  if err=$(lab_exec dir2 ip link add bench-ipip type ipip remote 192.0.2.1 local "$LAB_IP_DIR2" 2>&1); then
    lab_exec dir2 ip link del bench-ipip 2>/dev/null || true
    TUN_OK=1
  else
    say "lvsd-tun: n/a, this kernel cannot decapsulate IP-in-IP ($err)"
  fi
}

# The issue's trap 2: a socket on dir1 bound to the VIP (HAProxy's TIME_WAIT,
# 60 s after its runs) makes early demux attach it to the client's packets of
# that 4-tuple, and ip_forward() drops a packet that has a socket: kernel DR
# then loses every SYN whose client port matches one (seen: kdr right after
# haproxy did not answer at all). A dedicated DR director has no such
# sockets, so they are removed (ss -K) before kernel DR runs. lvsd is not
# affected: it takes the packets in raw PREROUTING, before early demux.
clear_vip_sockets() {
  lab_exec dir1 ss -K -Htan state time-wait src "$VIP" >/dev/null 2>&1 || true
  local left
  left=$(lab_exec dir1 ss -Htan src "$VIP" | wc -l)
  ((left == 0)) || say "kdr: $left sockets on the VIP left on dir1 (ss -K failed): expect lost SYNs"
}

setup_direct() { :; }
teardown_direct() { :; }

setup_knat() {
  vip_on_dir1
  nat_rules add
  local k
  for k in 1 2 3; do # exact round robin over new connections
    local nth=()
    ((k < 3)) && nth=(-m statistic --mode nth --every $((4 - k)) --packet 0)
    lab_exec dir1 iptables -t nat -A BENCH-NAT -d "$VIP" -p tcp --dport 80 "${nth[@]}" \
      -j DNAT --to-destination "${RS_IPS[k - 1]}:80"
  done
  lab_wait_for via_vip_3
}
teardown_knat() { flush_bench_rules; nat_rules del; vip_off_dir1; }

setup_kdr() {
  vip_off_dir1
  clear_vip_sockets
  lab_exec dir1 iptables -t raw -A BENCH-RAWPRE -d "$VIP" -p tcp --dport 80 -j CT --notrack
  lab_exec dir1 iptables -t mangle -A BENCH-MANGLE -d "$VIP" -p tcp --dport 80 -j HMARK \
    --hmark-tuple src,dst,sport,dport --hmark-mod 3 --hmark-offset 1 --hmark-rnd 0x6c767364
  lab_wait_for via_vip_3
}
teardown_kdr() { flush_bench_rules; }

setup_haproxy() {
  vip_on_dir1
  local rs
  for rs in "${RS_IPS[@]}"; do
    lab_exec dir1 iptables -t raw -A BENCH-RAWPRE -s "$rs" -p tcp --sport 80 -j CT --notrack
    lab_exec dir1 iptables -t raw -A BENCH-RAWOUT -d "$rs" -p tcp --dport 80 -j CT --notrack
  done
  lab_exec dir1 iptables -t raw -A BENCH-RAWPRE -d "$VIP" -p tcp --dport 80 -j CT --notrack
  lab_exec dir1 iptables -t raw -A BENCH-RAWOUT -s "$VIP" -p tcp --sport 80 -j CT --notrack
  {
    echo "global"
    echo "  maxconn 4096"
    [[ -n $HAPROXY_THREADS ]] && echo "  nbthread $HAPROXY_THREADS"
    echo "defaults"
    echo "  mode tcp"
    echo "  timeout connect 2s"
    echo "  timeout client 30s"
    echo "  timeout server 30s"
    echo "frontend fe"
    echo "  bind $VIP:80"
    echo "  default_backend be"
    echo "backend be"
    echo "  balance roundrobin"
    for rs in 1 2 3; do echo "  server rs$rs ${RS_IPS[rs - 1]}:80"; done
  } >"$W/haproxy.cfg"
  lab_bg dir1 "$W/haproxy.log" haproxy -db -f "$W/haproxy.cfg"
  DIR_PID=$LAB_LAST_PID
  lab_wait_for via_vip_3 || { tail -5 "$W/haproxy.log" >&2; return 1; }
}
teardown_haproxy() {
  lab_kill "$DIR_PID" || true # (under set -e, lab__reap's wait would exit on the killed child's status)
  DIR_PID=""
  flush_bench_rules
  vip_off_dir1
}

# lvsd: one instance per contender (a VIP:port is one service, NAT or DR).
lvsd_start() { # lvsd_start METHOD
  cat >"$W/lvsd-$1.yaml" <<YAML
global:
  logging: {target: console, level: warn}
forwarding:
  backend: userspace
services:
  - name: bench
    address: $VIP
    port: 80
    scheduler: rr
    method: $1
    realservers: [{address: ${RS_IPS[0]}}, {address: ${RS_IPS[1]}}, {address: ${RS_IPS[2]}}]
YAML
  rm -f "$SOCK"
  lab_bg dir1 "$W/lvsd-$1.log" "$LVSD" --config "$W/lvsd-$1.yaml" --status-socket "$SOCK"
  DIR_PID=$LAB_LAST_PID
  lab_wait_for test -S "$SOCK" || { tail -5 "$W/lvsd-$1.log" >&2; say "lvsd ($1) did not start"; return 1; }
  lab_wait_for sh -c "'$LVSCTL' --socket '$SOCK' --json services 2>/dev/null | jq -e '.services | length == 1' >/dev/null" ||
    { tail -5 "$W/lvsd-$1.log" >&2; say "lvsd ($1): service not programmed"; return 1; }
  lab_wait_for via_vip_3 || { tail -5 "$W/lvsd-$1.log" >&2; return 1; }
}
# The queue's kernel counters: "queue peer_portid total copy_mode copy_range
# queue_dropped user_dropped id_sequence 1" (nfnetlink_queue.c seq_show).
nfq_line() { lab_exec dir1 cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null || true; }
nfq_ids() { nfq_line | awk '{s += $8} END {print s + 0}'; }
# Packets lvsd's steering rules sent to NFQUEUE (raw LVSD-PRE, mangle LVSD-MARK).
steered() {
  { lab_exec dir1 iptables -t raw -nvxL LVSD-PRE 2>/dev/null
    lab_exec dir1 iptables -t mangle -nvxL LVSD-MARK 2>/dev/null; } |
    awk '/NFQUEUE/ {s += $1} END {print s + 0}'
}
lvsd_report() { # lvsd_report NAME: printed once per contender, after its last round
  {
    echo "--- $1: lvsctl --json forwarding | jq .engine (after round $2)"
    ctl --json forwarding | jq -c .engine
    echo "--- $1: dir1 /proc/net/netfilter/nfnetlink_queue"
    echo "    queue portid total copy_mode copy_range queue_dropped user_dropped id_sequence 1"
    nfq_line | sed 's/^/    /'
    echo "--- $1: lvsctl services (this round's instance)"
    ctl services | sed 's/^/    /'
  } >>"$W/lvsd-report"
}
lvsd_stop() {
  lab_kill "$DIR_PID" || true
  DIR_PID=""
  lab_exec dir1 iptables-save | grep -q LVSD && say "warning: lvsd left rules behind"
  return 0
}
setup_lvsd-nat() { vip_on_dir1; nat_rules add; lvsd_start nat; }
teardown_lvsd-nat() { lvsd_stop; nat_rules del; vip_off_dir1; }
setup_lvsd-dr() { vip_on_dir1; lvsd_start dr; }
teardown_lvsd-dr() { lvsd_stop; vip_off_dir1; }

# ------------------------------------------------------------------ measuring
cpu_ticks() { # utime+stime of PID, all threads (fields 14, 15)
  local s
  [[ -n ${1:-} && -r /proc/$1/stat ]] || { echo 0; return; }
  s=$(<"/proc/$1/stat")
  s=${s##*) }
  awk '{print $12 + $13}' <<<"$s"
}
softirq_ticks() { awk '$1 == "cpu" {print $8}' /proc/stat; }
# TCP/IP counters of every lab host, for KEEP=1 post-mortems of odd runs.
nstat_all() {
  [[ ${KEEP:-0} == 1 ]] || return 0
  local h
  for h in client dir1 rs1 rs2 rs3; do lab_exec "$h" nstat -asz | sed "s/^/$h /"; done >"$1" 2>/dev/null || true
}
# Client connections to port 80 that are stuck: a SYN sent again (1 s lost
# at least), or another retransmission timer that fired at least twice. wrk does not see them (it
# counts a timeout only for a response that does arrive late), so the script
# looks at the client's sockets in the middle of every run.
stuck_sample() { # stuck_sample FILE: the socket list goes to FILE (kept with KEEP=1)
  lab_exec client ss -Htano '( dport = :80 )' | tee "$1" | awk '
    match($0, /timer:\(on,[^,]*,[0-9]+\)/) {
      t = substr($0, RSTART, RLENGTH); sub(/.*,/, "", t); sub(/\)/, "", t)
      if (t + 0 >= ($1 == "SYN-SENT" ? 1 : 2)) n++
    }
    END { print n + 0 }'
}

# run_one CONTENDER WORKLOAD ROUND -> a line in $W/rows:
# contender workload round requests duration_us p50_us p99_us errors
# dir_ticks softirq_ticks rs1 rs2 rs3 steered queued stuck
run_one() {
  local c=$1 w=$2 r=$3 url path hdr=() spread="" out
  case $w in
    ka) path=/small ;;
    close) path=/small; hdr=(-H "Connection: close") ;;
    1m) path=/1m ;;
  esac
  if [[ $c == direct ]]; then
    url="http://${RS_IPS[0]}$path"
    spread=$(IFS=,; echo "${RS_IPS[*]}")
  else
    url="http://$VIP$path"
  fi
  local rs0=() rs1=() k c0 c1 s0 s1 q0=0 q1=0 i0=0 i1=0
  for k in 1 2 3; do rs0[k]=$(rs_status "$k"); done
  if [[ $c == lvsd-* ]]; then q0=$(steered); i0=$(nfq_ids); fi
  rm -f "$W/stuck"
  (sleep "$(awk -v d="$D" 'BEGIN {print d / 2}')"; stuck_sample "$W/ss-$c-$w-$r.txt" >"$W/stuck") &
  local sampler=$!
  nstat_all "$W/nstat-$c-$w-$r.before"
  c0=$(cpu_ticks "$DIR_PID"); s0=$(softirq_ticks)
  out=$(lab_exec client env BENCH_SPREAD="$spread" timeout $((D + 30)) \
    wrk -t "$THREADS" -c "$CONNS" -d "${D}s" --latency -s "$W/bench.lua" "${hdr[@]}" "$url" 2>&1) || true
  c1=$(cpu_ticks "$DIR_PID"); s1=$(softirq_ticks)
  wait "$sampler" || true
  nstat_all "$W/nstat-$c-$w-$r.after"
  local stuck
  stuck=$(cat "$W/stuck" 2>/dev/null || echo 0)
  if [[ $c == lvsd-* ]]; then q1=$(steered); i1=$(nfq_ids); fi
  for k in 1 2 3; do rs1[k]=$(rs_status "$k"); done
  printf '%s\n' "=== $c $w round $r" "$out" >>"$W/wrk.log"
  local b
  b=$(grep '^BENCH ' <<<"$out" | tail -1) || true
  if [[ -z $b ]]; then
    say "$c/$w round $r: wrk gave no result:"
    tail -5 <<<"$out" >&2
    b="BENCH 0 1 0 0 0 1 0 0 0 0"
  fi
  # steered: packets lvsd's NFQUEUE rules matched; queued: messages the
  # queues took (id_sequence). queued > steered: GSO packets were split into
  # segments before queueing; queued < steered: a full queue refused some.
  awk -v c="$c" -v w="$w" -v r="$r" -v dt=$((c1 - c0)) -v st=$((s1 - s0)) \
      -v a=$((rs1[1] - rs0[1])) -v b2=$((rs1[2] - rs0[2])) -v b3=$((rs1[3] - rs0[3])) \
      -v sq=$((q1 - q0)) -v iq=$((i1 - i0)) -v stuck="${stuck:-0}" '{
    printf "%s %s %s %d %d %d %d %d %d %d %d %d %d %d %d %d\n", c, w, r, $2, $3, $5, $6,
      $7 + $8 + $9 + $10 + $11, dt, st, a, b2, b3, sq, iq, stuck }' <<<"$b" >>"$W/rows"
  awk -v c="$c" -v w="$w" -v r="$r" '{ printf "  %-8s %-5s round %d: %8.0f req/s, p99 %.2f ms, errors %d, stuck %d, rs %d/%d/%d\n",
    c, w, r, $4 / ($5 / 1e6), $7 / 1000, $8, $16, $11, $12, $13 }' <<<"$(tail -1 "$W/rows")" >&2
}

# What the director looks like when a contender does not come up.
diagnose() {
  echo "--- dir1: ip addr / ip rule / neigh / iptables-save; client: route get"
  lab_exec dir1 ip -br addr
  lab_exec dir1 ip rule
  lab_exec dir1 ip neigh
  lab_exec dir1 iptables-save | grep -v '^#'
  lab_exec client ip route get "$VIP"
  lab_exec client curl -sS --max-time 1 -o /dev/null "http://$VIP/small" 2>&1
}

# ------------------------------------------------------------------ the run
probe_ipip
read -r -a CS <<<"$CONTENDERS"
read -r -a WS <<<"$WORKLOADS"
RUN=()
for c in "${CS[@]}"; do
  case $c in
    direct | knat | kdr | haproxy | lvsd-nat | lvsd-dr) RUN+=("$c") ;;
    lvsd-tun) ((TUN_OK)) && say "lvsd-tun: ipip works here but this script has no TUN realserver setup yet" ;;
    *) die "unknown contender $c" ;;
  esac
done
for w in "${WS[@]}"; do [[ $w == ka || $w == close || $w == 1m ]] || die "unknown workload $w"; done
: >"$W/rows"
: >"$W/lvsd-report"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$SECONDS
say "D=${D}s R=$R wrk -t$THREADS -c$CONNS; contenders: ${RUN[*]}; workloads: ${WS[*]}; load $LOAD0"
say "estimated $(( ${#RUN[@]} * ${#WS[@]} * R * D / 60 + 1 )) min"
n=${#RUN[@]}
for ((r = 1; r <= R; r++)); do
  for ((j = 0; j < n; j++)); do
    c=${RUN[(j + r - 1) % n]}
    # A contender that does not come up is reported and skipped this round
    # (its setup runs with errexit off: the final check decides).
    if ! "setup_$c"; then
      say "$c: does not answer on the VIP after setup (round $r): skipped"
      diagnose >&2
      "teardown_$c" || true
      continue
    fi
    for w in "${WS[@]}"; do
      sleep "$SETTLE"
      run_one "$c" "$w" "$r"
    done
    [[ $c == lvsd-* && $r == "$R" ]] && lvsd_report "$c" "$r"
    "teardown_$c" || say "$c: teardown failed (round $r)"
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ the table
{
  echo
  echo "dataplane: D=${D}s x R=$R rounds (medians), wrk -t$THREADS -c$CONNS, $(nproc) CPUs, load $LOAD0 -> $LOAD1, $((SECONDS - T0)) s"
  echo "  $(uname -r), HAProxy $(haproxy -v | awk 'NR == 1 {print $3}'), $(wrk -v 2>&1 | awk 'NR == 1 {print $1, $2}'), lvsd $BUILD"
  awk -v hz="$HZ" -v ws="${WS[*]}" -v cs="${RUN[*]}" -v tun="$TUN_OK" -v R="$R" '
    function median(list,   a, n, i, j, t) {
      n = split(list, a, " ")
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      if (n == 0) return -1
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function add(k, v) { L[k] = (k in L) ? L[k] " " v : v }
    function nfq(s, q) {
      # queued is read just after steered: a few more is the read order.
      if (q > s + 10 && q > s * 1.001) return sprintf("%d -> %d (GSO split, x%.1f)", s, q, s ? q / s : 0)
      if (q < s) return sprintf("%d -> %d (%d refused: queue full)", s, q, s - q)
      return sprintf("%d -> %d", s, q)
    }
    {
      k = $1 SUBSEP $2; rps = ($5 > 0) ? $4 / ($5 / 1e6) : 0; runs[k]++
      add(k SUBSEP "rps", rps); add(k SUBSEP "p99", $7 / 1000)
      err[k] += $8 + $16
      if ($4 > 0) {
        add(k SUBSEP "cpu", $9 / hz * 1e6 / $4); add(k SUBSEP "pct", 100 * $9 / hz / ($5 / 1e6))
        add(k SUBSEP "sirq", $10 / hz * 1e6 / $4)
      }
      s1[k] += $11; s2[k] += $12; s3[k] += $13; sq[k] += $14; iq[k] += $15
    }
    END {
      nw = split(ws, W, " "); nc = split(cs, C, " ")
      title["ka"] = "keep-alive, small response"; title["close"] = "new connection per request (Connection: close)"
      title["1m"] = "1 MiB response, keep-alive"
      for (i = 1; i <= nw; i++) {
        w = W[i]
        printf "\n[%s] %s\n", w, title[w]
        printf "  %-9s %10s %7s %8s %7s %8s %9s %8s  %-11s %s\n", "", "req/s", "/direct", "p99 ms", "errors",
          "dirCPU%", "dirCPUus", "sirq us", "spread %", "NFQUEUE steered -> queued"
        for (j = 1; j <= nc; j++) {
          c = C[j]; k = c SUBSEP w
          if (!(k in runs)) { printf "  %-9s %10s  (no run: setup failed every round)\n", c, "-"; continue }
          m = median(L[k SUBSEP "rps"]); M[c, w] = m
          d = M["direct", w]
          rel = (d > 0 && m >= 0) ? sprintf("%.2f", m / d) : "-"
          dir = (c == "haproxy" || c ~ /^lvsd/)
          tot = s1[k] + s2[k] + s3[k]
          sp = tot > 0 ? sprintf("%.0f/%.0f/%.0f", 100 * s1[k] / tot, 100 * s2[k] / tot, 100 * s3[k] / tot) : "-"
          name = runs[k] < R ? sprintf("%s(%d)", c, runs[k]) : c
          printf "  %-9s %10.0f %7s %8.2f %7d %8s %9s %8.1f  %-11s %s\n", name, m, rel, median(L[k SUBSEP "p99"]), err[k],
            dir ? sprintf("%.0f", median(L[k SUBSEP "pct"])) : "-",
            dir ? sprintf("%.1f", median(L[k SUBSEP "cpu"])) : "-",
            median(L[k SUBSEP "sirq"]), sp, (c ~ /^lvsd/) ? nfq(sq[k], iq[k]) : ""
        }
        if (!tun) printf "  %-9s %s\n", "lvsd-tun", "n/a (no ipip on this kernel)"
      }
      printf "\nratios of median req/s (goal in brackets)\n"
      printf "  %-26s", ""; for (i = 1; i <= nw; i++) printf " %10s", W[i]; printf "\n"
      split("lvsd-nat/knat lvsd-dr/kdr haproxy/knat lvsd-nat/haproxy knat/direct kdr/direct haproxy/direct lvsd-nat/direct lvsd-dr/direct", P, " ")
      goal["lvsd-nat/knat", "ka"] = 0.85; goal["lvsd-nat/knat", "close"] = 0.75; goal["lvsd-nat/knat", "1m"] = 0.8
      goal["lvsd-dr/kdr", "ka"] = 0.85; goal["lvsd-dr/kdr", "close"] = 0.85; goal["lvsd-dr/kdr", "1m"] = 0.85
      goal["lvsd-nat/haproxy", "ka"] = 1; goal["lvsd-nat/haproxy", "close"] = 1; goal["lvsd-nat/haproxy", "1m"] = 1
      for (p = 1; p <= 9; p++) {
        split(P[p], ab, "/")
        line = sprintf("  %-26s", P[p]); any = 0
        for (i = 1; i <= nw; i++) {
          a = M[ab[1], W[i]]; b = M[ab[2], W[i]]
          if (a == "" || b == "" || b <= 0) { line = line sprintf(" %10s", "-"); continue }
          any = 1; v = a / b
          g = ((P[p], W[i]) in goal) ? goal[P[p], W[i]] : 0
          cell = sprintf("%.2f", v)
          if (g > 0) cell = cell (v >= g ? " ok " : " MISS") "[" g "]"
          line = line sprintf(" %10s", cell)
        }
        if (any) print line
      }
    }' "$W/rows"
  if [[ -s $W/lvsd-report ]]; then
    echo
    cat "$W/lvsd-report"
  fi
  echo
  echo "dirCPU: lvsd/HAProxy process only (kernel forwarding in softirq is not attributed to the director);"
  echo "sirq: host-wide softirq per request; NFQUEUE: packets lvsd's rules steered -> messages the queues"
  echo "took (id_sequence), all rounds; refused = queue full (fail-open: passed unbalanced); GSO split ="
  echo "the kernel segmented GSO packets to queue them; errors: wrk socket errors + non-2xx + stuck"
  echo "client connections at mid-run, all rounds. name(n): only n of the $R rounds ran (setup failed)."
} | tee "$W/table"
[[ ${KEEP:-0} == 1 ]] && say "kept $W (rows, wrk.log, configs, logs)"
exit 0
