#!/usr/bin/env bash
# Health-check scale: lvsd's HTTP checkers against HAProxy 2.6 checking the
# same N realservers at the same interval, measured in the same run (issue 6,
# "Performance"). The reference is HAProxy; the last column is lvsd/HAProxy.
#
#   tests/bench/checker_scale.sh [N] [T]
#     N  realservers (default 1000; the issue also asks for 10000)
#     T  measured window in seconds per contender (default 30)
#   env: BUILD=build (where daemon/lvsd and daemon/lvsctl are), WARMUP=5 (s),
#        BASE_PORT=20000, HAPROXY_THREADS=1, KEEP=1 (keep the temp dir),
#        POLL=0 (sample latency only at the window's end, not every second:
#        shows how much of the CPU is the status poll itself)
#
# Setup: one nginx (worker_processes 1, access_log off) listens on
# 127.0.0.1:BASE_PORT .. BASE_PORT+N-1 and answers 200 on /healthz; its
# stub_status on BASE_PORT-1 counts requests. The contenders run one after the
# other (never together, so neither steals the other's CPU or server time):
#   lvsd:    generated config, forwarding.backend auto (no ip_vs here: checking
#            only), one service per 100 realservers, one http check
#            (GET /healthz, interval 1s, timeout 1s, rise 2, fall 3).
#   HAProxy: `haproxy -f cfg -db`, nbthread HAPROXY_THREADS, one backend per
#            100 servers, `option httpchk GET /healthz`, `check inter 1s
#            fall 3 rise 2`, timeout check 1s.
# Each runs WARMUP seconds, then a window of T seconds in which we measure:
#   checks/s     server-side request delta (nginx stub_status) / T -- the same
#                measure for both; lvsd's own `attempts` delta is shown too;
#   CPU          utime+stime of the contender from /proc/PID/stat over T;
#                "CPU s/1k" = CPU seconds per second per 1000 checks/s
#                (i.e. the fraction of a core needed for 1000 checks/s);
#   latency      every second, the last result's latency of every checker:
#                lvsd `checks` (status socket) .latency_ms, HAProxy `show stat`
#                check_duration (ms, integer); p50/p99/max over all samples,
#                and the share of samples above the 1s timeout (HAProxy
#                reports whole ms, so its p50 is often 0 and ratios are coarse);
#   down         checkers not up/UP at the end of the window (should be 0).
# The once-a-second status poll is part of the load for both (lvsd serialises
# N checkers to JSON, HAProxy N stat lines). Everything is on 127.0.0.1, in a network namespace of its own when root; all
# processes are killed and the temp dir removed on exit.
#
# Needs: nginx (nginx-light is enough: stub_status), haproxy 2.6, curl,
# python3 (both status sockets). `ulimit -n` is raised to the hard limit.
set -euo pipefail

N=${1:-1000}
T=${2:-30}
WARMUP=${WARMUP:-5}
BASE_PORT=${BASE_PORT:-20000}
HAPROXY_THREADS=${HAPROXY_THREADS:-1}
POLL=${POLL:-1}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/bench/lib/scale_services.sh"
BUILD=${BUILD:-$ROOT/build}
LVSD=$BUILD/daemon/lvsd
LVSCTL=$BUILD/daemon/lvsctl
PER_SERVICE=100
HZ=$(getconf CLK_TCK)

# The reference peer and its stats client, installed the project's way.
if ! command -v haproxy >/dev/null || ! command -v python3 >/dev/null; then
  [[ $(id -u) -eq 0 ]] || { echo "checker_scale: needs haproxy and python3 (run as root to install)" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy python3 >/dev/null
  # The package starts a system instance; this benchmark runs its own.
  { systemctl stop haproxy || service haproxy stop || pkill -x haproxy; } >/dev/null 2>&1 || true
fi
for t in nginx haproxy curl python3; do
  command -v "$t" >/dev/null || { echo "checker_scale: missing $t" >&2; exit 2; }
done
[[ -x $LVSD && -x $LVSCTL ]] || { echo "checker_scale: build $BUILD first" >&2; exit 2; }
(( BASE_PORT - 1 > 1024 && BASE_PORT + N < 32768 )) ||
  { echo "checker_scale: ports $BASE_PORT..$((BASE_PORT + N)) must stay below the ephemeral range" >&2; exit 2; }

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
(( NOFILE > N + 1000 )) || echo "checker_scale: warning: ulimit -n is $NOFILE for N=$N" >&2

TMP=$(mktemp -d /tmp/checker_scale.XXXXXX)
# Everything runs in a network namespace of its own (as root): lvsd's
# forwarding backend (the userspace engine here) installs its steering rules
# there, not in the host's, and a killed lvsd leaves nothing behind.
IN=()
NS=
if [[ $(id -u) -eq 0 ]]; then
  NS=lvsd-cs-$$
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  IN=(ip netns exec "$NS")
fi
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [[ -n $NS ]] && ip netns del "$NS" 2>/dev/null
  [[ ${KEEP:-0} == 1 ]] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cpu_ticks() { # utime+stime of PID (fields 14,15; comm may hold spaces)
  local s; s=$(<"/proc/$1/stat"); s=${s##*) }
  awk '{print $12 + $13}' <<<"$s"
}
requests() { # nginx stub_status: "accepts handled requests" line
  "${IN[@]}" curl -s --max-time 2 "http://127.0.0.1:$((BASE_PORT - 1))/status" | awk 'NR==3{print $3}'
}
pct() { # pct FILE P -> P-th percentile (nearest rank) of the numbers in FILE
  sort -g "$1" | awk -v p="$2" '{a[NR]=$1} END{if(!NR){print "n/a";exit}
    i=int(NR*p/100+0.999999); if(i<1)i=1; if(i>NR)i=NR; print a[i]}'
}
wait_for() { # wait_for SECONDS CMD...
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < end )) || return 1
    sleep 0.2
  done
}

# ---- the realservers: one nginx on N ports ---------------------------------
mkdir -p "$TMP/nginx"
{
  echo "worker_processes 1; worker_rlimit_nofile $NOFILE; daemon off; master_process on;"
  echo "pid $TMP/nginx/nginx.pid; error_log $TMP/nginx/error.log warn; user root;"
  echo "events { worker_connections $(( NOFILE - 100 > N + 1024 ? NOFILE - 100 : N + 1024 )); multi_accept on; }"
  echo "http { access_log off; keepalive_timeout 0;"
  for d in client_body proxy fastcgi uwsgi scgi; do echo " ${d}_temp_path $TMP/nginx/$d;"; done
  echo " server { listen 127.0.0.1:$((BASE_PORT - 1)); location = /status { stub_status; } }"
  echo " server {"
  for ((i = 0; i < N; i++)); do echo "  listen 127.0.0.1:$((BASE_PORT + i));"; done
  echo "  location = /healthz { return 200 \"ok\\n\"; }"
  echo "  location / { return 404; }"
  echo " }"
  echo "}"
} >"$TMP/nginx/nginx.conf"
"${IN[@]}" nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" >"$TMP/nginx/out.log" 2>&1 &
PIDS+=($!)
wait_for 20 requests || { echo "checker_scale: nginx did not start:" >&2; cat "$TMP/nginx/error.log" "$TMP/nginx/out.log" >&2; exit 1; }
# The status port answers first; the other listeners follow (seconds at N=10000).
last_ok() { [[ $("${IN[@]}" curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$((BASE_PORT + N - 1))/healthz") == 200 ]]; }
wait_for 30 last_ok || { echo "checker_scale: nginx does not answer on the last port" >&2; exit 1; }

# ---- configs ------------------------------------------------------------------
SOCK=$TMP/lvsd.sock
{
  echo "global:"
  echo "  status_socket: {path: $SOCK}"
  echo "  logging: {target: console, level: warn}"
  echo "forwarding:"
  echo "  backend: auto"
  echo "checks:"
  echo "  - {name: healthz, type: http, path: /healthz, status: [200-299], interval: 1s, timeout: 1s, rise: 2, fall: 3}"
  scale_services "$N" "$BASE_PORT" "$PER_SERVICE" healthz
} >"$TMP/lvsd.yaml"

HSOCK=$TMP/haproxy.sock
{
  echo "global"
  echo "  nbthread $HAPROXY_THREADS"
  echo "  stats socket $HSOCK mode 600 level admin"
  echo "  maxconn $(( (NOFILE - N - 500) / 2 > 100 ? (NOFILE - N - 500) / 2 : 100 ))"
  echo "defaults"
  echo "  mode http"
  echo "  timeout connect 1s"
  echo "  timeout check 1s"
  echo "  timeout client 5s"
  echo "  timeout server 5s"
  for ((i = 0; i < N; i++)); do
    if (( i % PER_SERVICE == 0 )); then
      echo "backend svc$((i / PER_SERVICE))"
      echo "  option httpchk GET /healthz"
    fi
    echo "  server rs$i 127.0.0.1:$((BASE_PORT + i)) check inter 1s fall 3 rise 2"
  done
} >"$TMP/haproxy.cfg"

# ---- samplers -----------------------------------------------------------------
lvsd_checks() { "$LVSCTL" -s "$SOCK" -t 10 --json checks; }
lvsd_sample() { # latency samples -> $1; prints "attempts_sum not_up"
  # Python on the status socket, as haproxy_stat below: at N=10000 the answer
  # is ~6 MB of JSON, and jq took most of a core a second to read it, stealing
  # CPU from the contender it measures.
  python3 - "$SOCK" "$1" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(b'{"command":"checks"}\n'); buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(1 << 20)
    if not d: break
    buf += d
checkers = json.loads(buf)["data"]["checkers"]
with open(sys.argv[2], "a") as f:
    for c in checkers:
        if "latency_ms" in c: f.write("%s\n" % c["latency_ms"])
print(sum(c["attempts"] for c in checkers), sum(1 for c in checkers if c["state"] != "up"))
EOF
}
haproxy_stat() {
  python3 - "$HSOCK" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(b"show stat -1 4 -1\n"); buf = b""
while True:
    d = s.recv(1 << 20)
    if not d: break
    buf += d
sys.stdout.write(buf.decode())
EOF
}
haproxy_sample() { # check_duration samples -> $1; prints "0 not_up"
  haproxy_stat | awk -F, -v f="$1" '
    NR==1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) c[$i] = i; next }
    $1 != "" && $(c["svname"]) != "BACKEND" && $(c["svname"]) != "FRONTEND" {
      if ($(c["status"]) !~ /^UP/) down++
      if ($(c["check_duration"]) != "") print $(c["check_duration"]) >> f
    } END { print 0, down + 0 }'
}

# measure NAME PID SAMPLER -> appends a result row to $TMP/rows
measure() {
  local name=$1 pid=$2 sampler=$3 lat=$TMP/$1.lat
  : >"$lat"
  sleep "$WARMUP"
  kill -0 "$pid" 2>/dev/null || { echo "checker_scale: $name died" >&2; exit 1; }
  local r0 c0 a0 d0 a1 d1 r1 c1 t0 t1 i
  read -r a0 d0 < <($sampler /dev/null)
  r0=$(requests); c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
  for ((i = 1; i < T; i++)); do
    sleep $(awk -v t0="$t0" -v i="$i" -v now="$(date +%s.%N)" 'BEGIN{d=t0+i-now; print (d > 0 ? d : 0)}')
    if (( POLL )); then $sampler "$lat" >/dev/null; fi
  done
  sleep $(awk -v t0="$t0" -v T="$T" -v now="$(date +%s.%N)" 'BEGIN{d=t0+T-now; print (d > 0 ? d : 0)}')
  r1=$(requests); c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
  read -r a1 d1 < <($sampler "$lat")
  kill -0 "$pid" 2>/dev/null || { echo "checker_scale: $name died" >&2; exit 1; }
  awk -v n="$name" -v r=$((r1 - r0)) -v a=$((a1 - a0)) -v c=$((c1 - c0)) -v hz="$HZ" \
      -v t0="$t0" -v t1="$t1" -v p50="$(pct "$lat" 50)" -v p99="$(pct "$lat" 99)" \
      -v mx="$(pct "$lat" 100)" -v d="$d1" -v cnt="$(wc -l <"$lat")" \
      -v over="$(awk '$1 > 1000' "$lat" | wc -l)" 'BEGIN{
    w = t1 - t0; rate = r / w; cpu = c / hz
    printf "%s %.1f %.1f %.3f %.4f %s %s %s %.4f %d\n", n, rate, (n == "lvsd" ? a / w : -1),
      cpu / w, (rate > 0 ? cpu / w / (rate / 1000) : 0), p50, p99, mx,
      (cnt ? 100 * over / cnt : 0), d }' >>"$TMP/rows"
}

echo "checker_scale: N=$N realservers, T=${T}s window after ${WARMUP}s warm-up, ulimit -n $NOFILE" >&2

# ---- lvsd ---------------------------------------------------------------------
"$LVSD" --check-config "$TMP/lvsd.yaml" >"$TMP/lvsd.check" 2>&1 ||
  { echo "checker_scale: lvsd rejects the config:" >&2; head -20 "$TMP/lvsd.check" >&2; exit 1; }
"${IN[@]}" "$LVSD" -c "$TMP/lvsd.yaml" --pid-file "$TMP/lvsd.pid" >"$TMP/lvsd.log" 2>&1 &
LVSD_PID=$!
PIDS+=("$LVSD_PID")
wait_for 30 lvsd_checks || { echo "checker_scale: lvsd did not answer:" >&2; tail -20 "$TMP/lvsd.log" >&2; exit 1; }
echo "  lvsd pid $LVSD_PID ..." >&2
measure lvsd "$LVSD_PID" lvsd_sample
kill "$LVSD_PID"; wait "$LVSD_PID" 2>/dev/null || true

# ---- HAProxy ------------------------------------------------------------------
haproxy -c -f "$TMP/haproxy.cfg" >"$TMP/haproxy.check" 2>&1 ||
  { echo "checker_scale: haproxy rejects the config:" >&2; head -20 "$TMP/haproxy.check" >&2; exit 1; }
"${IN[@]}" haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
HAP_PID=$!
PIDS+=("$HAP_PID")
wait_for 30 haproxy_stat || { echo "checker_scale: haproxy did not answer:" >&2; tail -20 "$TMP/haproxy.log" >&2; exit 1; }
echo "  haproxy pid $HAP_PID ($(haproxy -v | head -1 | awk '{print $3}'), nbthread $HAPROXY_THREADS) ..." >&2
measure haproxy "$HAP_PID" haproxy_sample
kill "$HAP_PID"; wait "$HAP_PID" 2>/dev/null || true

# ---- table --------------------------------------------------------------------
awk -v N="$N" -v T="$T" '
  { for (i = 1; i <= 10; i++) v[$1, i] = $i }
  END {
    printf "checker_scale N=%d T=%ds (HTTP GET /healthz, interval 1s, timeout 1s)\n", N, T
    printf "%-22s %12s %12s %12s\n", "", "lvsd", "haproxy", "lvsd/haproxy"
    split("checks/s (server side)|attempts/s (lvsd)|CPU (cores)|CPU s per 1k checks/s|latency p50 ms|latency p99 ms|latency max ms|samples > timeout %|not up at end", L, "|")
    for (k = 2; k <= 10; k++) {
      a = v["lvsd", k]; h = v["haproxy", k]
      if (k == 3) { printf "%-22s %12s %12s %12s\n", L[k-1], a, "-", "-"; continue }
      r = (h + 0 != 0 && a != "n/a" && h != "n/a") ? sprintf("%.2f", a / h) : "-"
      printf "%-22s %12s %12s %12s\n", L[k-1], a, h, r
    }
  }' "$TMP/rows"
