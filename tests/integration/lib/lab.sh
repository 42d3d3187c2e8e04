# shellcheck shell=bash
#
# lab.sh - a disposable network lab for lvsd integration tests and demos.
#
# Source this file from bash (>= 4.3). It does not change shell options
# (set -e/-u/-o pipefail in the caller are fine).
#
# Topology (all inside network namespaces; nothing is created in, attached to
# or configured in the root namespace):
#
#     client    dir1    dir2    rs1 ... rsN        one namespace each,
#       |        |       |       |       |         interface eth0 (veth)
#   +---+--------+-------+-------+-------+---+
#   |  br0 in namespace <prefix>-lan         |     ports v-client, v-dir1,
#   +----------------------------------------+     v-dir2, v-rs1 ... v-rsN
#
#   host     IPv4            IPv6
#   client   192.0.2.100/24  2001:db8::100/64
#   dir1     192.0.2.11/24   2001:db8::11/64
#   dir2     192.0.2.12/24   2001:db8::12/64
#   rsK      192.0.2.(20+K)  2001:db8::(20+K)    (K = 1..N, N <= 50)
#
# Namespace names are "<prefix>-<host>" with a per-run prefix
# "lvsd-<pid>-<4 hex digits>", e.g. lvsd-4242-1a2b-rs1. Interface names do not
# depend on the prefix (they are per namespace), so they stay short.
#
# Functions (public):
#   lab_require_root          exit 77 unless root and netns/veth/bridge work
#   lab_require_cmd CMD...    exit 77 unless every CMD is in PATH
#   lab_up [N]                build the lab with N realservers (default 3)
#   lab_down                  tear it down (idempotent; also the EXIT trap)
#   lab_on_exit CMD           register cleanup run by lab_down, before
#                             processes are killed and namespaces removed
#   lab_ns NAME               print the namespace name for client|dir1|dir2|
#                             lan|rsK (full names are passed through)
#   lab_exec NS CMD...        run CMD inside namespace NS (short or full name)
#   lab_bg NS LOGFILE CMD...  start CMD in NS in the background, output to
#                             LOGFILE; sets LAB_LAST_PID; lab_down kills it
#   lab_kill PID...           TERM, wait (bounded), then KILL the given pids
#   lab_wait_for CMD...       retry CMD every 0.1s until it succeeds or
#                             LAB_WAIT_TIMEOUT (default 10) seconds pass
#   lab_start_http K          start nginx on rsK (port 80, IPv4 and IPv6)
#   lab_start_http_all        start nginx on every realserver
#   lab_stop_http K           stop nginx on rsK
#
# Variables set by lab_up (scalars exported; bash arrays cannot be exported,
# they are plain globals, indexed 1..N so that index K is rsK):
#   LAB_PREFIX                per-run prefix, e.g. lvsd-4242-1a2b
#   LAB_DIR                   per-run temp dir (configs, logs, pids, sockets)
#   LAB_RS_COUNT              N
#   LAB_NS_CLIENT LAB_NS_DIR1 LAB_NS_DIR2 LAB_NS_LAN     namespace names
#   LAB_NS_RS[K]                                         namespace of rsK
#   LAB_IP_CLIENT  LAB_IP_DIR1  LAB_IP_DIR2  LAB_IP_RS[K]   IPv4 addresses
#   LAB_IP6_CLIENT LAB_IP6_DIR1 LAB_IP6_DIR2 LAB_IP6_RS[K]  IPv6 addresses
#   LAB_IP_NET=192.0.2.0/24   LAB_IP6_NET=2001:db8::/64
#
# Knobs (environment):
#   LAB_WAIT_TIMEOUT   seconds for lab_wait_for (default 10)
#   LAB_KILL_TIMEOUT   seconds between TERM and KILL in lab_down (default 5)
#   LAB_KEEP=1         keep LAB_DIR after lab_down (namespaces still go)
#
# Cleanup: lab_up installs traps: EXIT runs lab_down and then whatever EXIT
# trap the caller had set before lab_up; INT and TERM exit with 130/143, which
# runs the EXIT trap. Use it in the process (or subshell) that owns the lab.
# The caller's earlier EXIT trap is chained only when lab_up runs in the
# top-level shell (bash cannot tell, in a subshell, whether a trap it shows
# is really active); in a ( subshell ) register cleanup with lab_on_exit.
# While a test waits for something long, prefer "cmd & wait $!" over a
# foreground command so that TERM/INT are handled promptly.

if [[ -n "${LAB_SH_SOURCED:-}" ]]; then
  return 0
fi
LAB_SH_SOURCED=1

# ---------------------------------------------------------------- internals

lab__log() { printf 'lab: %s\n' "$*" >&2; }

# lab__run CMD...: run a command, report it on failure.
lab__run() {
  "$@" || {
    local rc=$?
    lab__log "command failed (rc=$rc): $*"
    return "$rc"
  }
}

# Inode of a namespace's net ns, to test whether a pid lives in one of ours.
lab__ns_inode() { stat -L -c %i "/run/netns/$1" 2>/dev/null; }

# Our namespaces, as listed by ip netns (prefix match with the trailing dash).
lab__our_namespaces() {
  [[ -n "${LAB_PREFIX:-}" ]] || return 0
  ip netns list 2>/dev/null | awk '{print $1}' | while read -r ns; do
    [[ "$ns" == "${LAB_PREFIX}-"* ]] && printf '%s\n' "$ns"
  done
  return 0
}

# Is pid alive (not a zombie)?
lab__alive() {
  local pid=$1 state
  [[ -r "/proc/$pid/stat" ]] || return 1
  state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# Does pid live in one of this run's namespaces?
lab__pid_is_ours() {
  local pid=$1 pino ns
  pino=$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null) || return 1
  while read -r ns; do
    [[ -n "$ns" ]] || continue
    [[ "$(lab__ns_inode "$ns")" == "$pino" ]] && return 0
  done < <(lab__our_namespaces)
  return 1
}

# --------------------------------------------------------------- requirements

# lab_require_root: exit 77 (CTest "skipped") with a message unless we are
# root and can create a namespace with a bridge and a veth pair in it.
lab_require_root() {
  if [[ "$(id -u)" != 0 ]]; then
    echo "SKIP: needs root (network namespaces)" >&2
    exit 77
  fi
  # As root a missing capability is a broken environment, not a reason to
  # skip quietly: with LVSD_REQUIRE_NETNS=1 (scripts/test.sh sets it for root)
  # the test fails instead, so CI can never pass without running it.
  local unusable=77
  [[ "${LVSD_REQUIRE_NETNS:-0}" == 1 ]] && unusable=1
  if ! command -v ip >/dev/null 2>&1; then
    echo "SKIP: iproute2 (ip) not installed" >&2
    exit "$unusable"
  fi
  local probe err
  probe="lvsd-probe-$$-$(printf '%04x' $((RANDOM & 0xffff)))"
  if ! err=$(ip netns add "$probe" 2>&1); then
    echo "SKIP: 'ip netns add' does not work here: $err" >&2
    exit "$unusable"
  fi
  local ok=1 why=""
  if ! err=$(ip -n "$probe" link add br0 type bridge 2>&1); then
    ok=0
    why="bridge"
  elif ! err=$(ip -n "$probe" link add v0 type veth peer name v1 2>&1); then
    ok=0
    why="veth"
  fi
  ip netns del "$probe" 2>/dev/null
  if ((!ok)); then
    echo "SKIP: cannot create a $why in a network namespace: $err" >&2
    exit "$unusable"
  fi
  return 0
}

# lab_require_cmd CMD...: exit 77 unless every command is available.
lab_require_cmd() {
  local c
  for c in "$@"; do
    if ! command -v "$c" >/dev/null 2>&1; then
      echo "SKIP: '$c' not installed" >&2
      exit 77
    fi
  done
  return 0
}

# ------------------------------------------------------------------- helpers

# lab_ns NAME: print the full namespace name. NAME is client, dir1, dir2, lan,
# rsK, or already a full name "<prefix>-..." (passed through unchanged).
lab_ns() {
  local n=$1
  if [[ -n "${LAB_PREFIX:-}" && "$n" != "${LAB_PREFIX}-"* ]]; then
    printf '%s\n' "${LAB_PREFIX}-$n"
  else
    printf '%s\n' "$n"
  fi
}

# lab_exec NS CMD...: run CMD in namespace NS (short or full name).
lab_exec() {
  local ns
  ns=$(lab_ns "$1")
  shift
  ip netns exec "$ns" "$@"
}

# lab_wait_for CMD...: run CMD until it succeeds; at most LAB_WAIT_TIMEOUT
# seconds (default 10), 0.1s between attempts. Returns 0 on success, 1 on
# timeout. CMD may be a shell function. CMD itself must not block forever
# (use curl --max-time, timeout(1), ...).
lab_wait_for() {
  local timeout=${LAB_WAIT_TIMEOUT:-10}
  local max=$((timeout * 10)) i deadline
  deadline=$(($(date +%s) + timeout + 1))
  for ((i = 0; i <= max; i++)); do
    if "$@"; then
      return 0
    fi
    (($(date +%s) > deadline)) && break
    sleep 0.1
  done
  lab__log "timed out after ${timeout}s waiting for: $*"
  return 1
}

# lab_bg NS LOGFILE CMD...: start CMD inside namespace NS in the background,
# stdout+stderr to LOGFILE (relative paths are under LAB_DIR), stdin from
# /dev/null. Sets LAB_LAST_PID. The pid is recorded in $LAB_DIR/bg.pids so
# lab_down kills it even when lab_bg ran in a subshell. Do not call it as
# $(lab_bg ...); read LAB_LAST_PID instead.
lab_bg() {
  local ns log
  ns=$(lab_ns "$1")
  log=$2
  shift 2
  [[ -n "${LAB_DIR:-}" && -d "$LAB_DIR" ]] || { lab__log "lab_bg: no lab (lab_up first)"; return 1; }
  [[ "$log" == /* ]] || log="$LAB_DIR/$log"
  ip netns exec "$ns" "$@" </dev/null >>"$log" 2>&1 &
  LAB_LAST_PID=$!
  echo "$LAB_LAST_PID" >>"$LAB_DIR/bg.pids"
  return 0
}

# Reap those of the given pids that are our dead children (never blocks on a
# live process).
lab__reap() {
  local pid
  for pid in "$@"; do
    lab__alive "$pid" || wait "$pid" 2>/dev/null
  done
  return 0
}

# lab_kill PID...: send TERM, wait up to LAB_KILL_TIMEOUT (default 5) seconds
# for the processes to go, then KILL the rest; reaps our own children. Only
# pids living in this run's namespaces are signalled (protects against pid
# reuse after a recorded process died).
lab_kill() {
  local pid pids=() left i max
  for pid in "$@"; do
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    lab__alive "$pid" && lab__pid_is_ours "$pid" && pids+=("$pid")
  done
  if ((${#pids[@]} == 0)); then
    lab__reap "$@"
    return 0
  fi
  kill -TERM "${pids[@]}" 2>/dev/null
  max=$((${LAB_KILL_TIMEOUT:-5} * 10))
  for ((i = 0; i < max; i++)); do
    left=()
    for pid in "${pids[@]}"; do
      lab__alive "$pid" && left+=("$pid")
    done
    ((${#left[@]})) || break
    sleep 0.1
  done
  left=()
  for pid in "${pids[@]}"; do
    lab__alive "$pid" && left+=("$pid")
  done
  if ((${#left[@]})); then
    lab__log "killing (KILL) pids that ignored TERM: ${left[*]}"
    kill -KILL "${left[@]}" 2>/dev/null
  fi
  lab__reap "${pids[@]}"
  return 0
}

# lab_on_exit CMD: register a cleanup command (a string, eval'ed) that lab_down
# runs before killing processes and removing namespaces. Commands run in
# reverse order of registration; failures are ignored.
lab_on_exit() {
  LAB_ON_EXIT+=("$1")
}

# ---------------------------------------------------------------- lab_up

LAB_ON_EXIT=()

lab__signal() {
  local sig=$1
  lab__log "caught SIG$sig, cleaning up"
  case $sig in
    INT) exit 130 ;;
    TERM) exit 143 ;;
    *) exit 1 ;;
  esac
}

lab__exit_trap() {
  local rc=$?
  lab_down
  if [[ -n "${LAB_PREV_EXIT_TRAP:-}" ]]; then
    # Give the previous trap the original $? (and no errexit surprises).
    if ((rc)); then
      (exit "$rc") || eval "$LAB_PREV_EXIT_TRAP"
    else
      { true; eval "$LAB_PREV_EXIT_TRAP"; } || true
    fi
  fi
  return "$rc"
}

# lab__host NAME IDX4 IDX6: create namespace <prefix>-NAME with eth0 bridged
# into the lan namespace, and its addresses.
lab__host() {
  local name=$1 ip4=$2 ip6=$3 ns
  ns="${LAB_PREFIX}-$name"
  lab__run ip netns add "$ns" || return 1
  # IPv6: no duplicate address detection delays, no router solicitations.
  local k
  for k in all default; do
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$k.accept_dad=0" >/dev/null 2>&1
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$k.dad_transmits=0" >/dev/null 2>&1
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$k.disable_ipv6=0" >/dev/null 2>&1
  done
  lab__run ip -n "$ns" link set lo up || return 1
  # Create the pair inside the lan namespace, move one end straight into the
  # host namespace: it never exists in the root namespace.
  lab__run ip -n "$LAB_NS_LAN" link add "v-$name" type veth peer name eth0 netns "$ns" || return 1
  lab__run ip -n "$LAB_NS_LAN" link set "v-$name" master br0 up || return 1
  lab__run ip -n "$ns" addr add "$ip4/24" dev eth0 || return 1
  lab__run ip -n "$ns" addr add "$ip6/64" dev eth0 nodad || return 1
  lab__run ip -n "$ns" link set eth0 up || return 1
  return 0
}

# True when no address in namespace $1 is tentative and eth0 is up.
lab__ns_ready() {
  local ns=$1
  [[ -z "$(ip -n "$ns" -6 addr show tentative 2>/dev/null)" ]] || return 1
  ip -n "$ns" link show eth0 2>/dev/null | grep -q 'state UP' || return 1
}

# lab__reachable NS ADDR: the neighbour entry for ADDR in NS gets a link-layer
# address after we poke ADDR (a TCP connect to the discard port; refused or
# not, it makes the kernel resolve the neighbour). Needs no ping.
lab__reachable() {
  local ns=$1 addr=$2
  ip netns exec "$ns" timeout 1 bash -c "exec 3<>/dev/tcp/$addr/9" >/dev/null 2>&1
  ip -n "$ns" neigh show "$addr" 2>/dev/null | grep -q lladdr
}

lab__up_impl() {
  local n=$1 k

  LAB_NS_LAN="${LAB_PREFIX}-lan"
  LAB_NS_CLIENT="${LAB_PREFIX}-client"
  LAB_NS_DIR1="${LAB_PREFIX}-dir1"
  LAB_NS_DIR2="${LAB_PREFIX}-dir2"
  LAB_IP_NET=192.0.2.0/24
  LAB_IP6_NET=2001:db8::/64
  LAB_IP_CLIENT=192.0.2.100
  LAB_IP6_CLIENT=2001:db8::100
  LAB_IP_DIR1=192.0.2.11
  LAB_IP6_DIR1=2001:db8::11
  LAB_IP_DIR2=192.0.2.12
  LAB_IP6_DIR2=2001:db8::12
  LAB_RS_COUNT=$n
  LAB_NS_RS=()
  LAB_IP_RS=()
  LAB_IP6_RS=()
  for ((k = 1; k <= n; k++)); do
    LAB_NS_RS[k]="${LAB_PREFIX}-rs$k"
    LAB_IP_RS[k]="192.0.2.$((20 + k))"
    LAB_IP6_RS[k]="2001:db8::$((20 + k))"
  done
  export LAB_NS_LAN LAB_NS_CLIENT LAB_NS_DIR1 LAB_NS_DIR2 LAB_RS_COUNT \
    LAB_IP_NET LAB_IP6_NET LAB_IP_CLIENT LAB_IP6_CLIENT LAB_IP_DIR1 \
    LAB_IP6_DIR1 LAB_IP_DIR2 LAB_IP6_DIR2

  LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/${LAB_PREFIX}.XXXXXX") || return 1
  # Readable by unprivileged users (nginx workers, scripts run as nobody).
  chmod 0755 "$LAB_DIR"
  export LAB_DIR
  : >"$LAB_DIR/bg.pids"

  # The bridge, in a namespace of its own.
  lab__run ip netns add "$LAB_NS_LAN" || return 1
  lab__run ip -n "$LAB_NS_LAN" link set lo up || return 1
  ip netns exec "$LAB_NS_LAN" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1
  ip netns exec "$LAB_NS_LAN" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
  # No STP, no forward delay, no multicast snooping (VRRP and ND just flood).
  lab__run ip -n "$LAB_NS_LAN" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 || return 1
  lab__run ip -n "$LAB_NS_LAN" link set br0 up || return 1

  lab__host client "$LAB_IP_CLIENT" "$LAB_IP6_CLIENT" || return 1
  lab__host dir1 "$LAB_IP_DIR1" "$LAB_IP6_DIR1" || return 1
  lab__host dir2 "$LAB_IP_DIR2" "$LAB_IP6_DIR2" || return 1
  for ((k = 1; k <= n; k++)); do
    lab__host "rs$k" "${LAB_IP_RS[k]}" "${LAB_IP6_RS[k]}" || return 1
  done

  local ns
  for ns in "$LAB_NS_CLIENT" "$LAB_NS_DIR1" "$LAB_NS_DIR2" "${LAB_NS_RS[@]}"; do
    lab_wait_for lab__ns_ready "$ns" || { lab__log "namespace $ns not ready"; return 1; }
  done
  # Bridge ports forwarding and the LAN passing traffic both ways: the client
  # resolves dir1's and the last realserver's addresses (ARP and ND).
  local dst
  for dst in "$LAB_IP_DIR1" "$LAB_IP6_DIR1" "${LAB_IP_RS[n]}" "${LAB_IP6_RS[n]}"; do
    lab_wait_for lab__reachable "$LAB_NS_CLIENT" "$dst" ||
      { lab__log "no connectivity on the lab LAN (client -> $dst)"; return 1; }
  done
  return 0
}

# lab_up [N]: build the lab with N realservers (default 3, 1..50). Sets and
# exports the LAB_* variables listed at the top, and installs the EXIT/INT/TERM
# traps (the caller's previous EXIT trap is kept and runs after lab_down).
# On failure it removes whatever it had built and returns 1.
lab_up() {
  local n=${1:-3}
  if ! [[ "$n" =~ ^[0-9]+$ ]] || ((n < 1 || n > 50)); then
    lab__log "lab_up: realserver count must be 1..50, got '$n'"
    return 1
  fi
  if [[ -n "${LAB_PREFIX:-}" ]] && [[ -n "$(lab__our_namespaces)" ]]; then
    lab__log "lab_up: a lab ($LAB_PREFIX) is already up in this shell"
    return 1
  fi
  command -v ip >/dev/null 2>&1 || { lab__log "lab_up: ip (iproute2) not found"; return 1; }

  # Unique prefix (pid of this shell or subshell + random), no clashes.
  local tries=0
  while :; do
    LAB_PREFIX="lvsd-${BASHPID}-$(printf '%04x' $((RANDOM & 0xffff)))"
    [[ -z "$(lab__our_namespaces)" ]] && break
    ((++tries < 20)) || { lab__log "lab_up: cannot find a free prefix"; return 1; }
  done
  export LAB_PREFIX
  LAB_ON_EXIT=()
  LAB_DIR=""

  # Traps first, so that a failure halfway still cleans up. Keep the caller's
  # EXIT trap (unless it is ours from an earlier lab in this shell).
  # Only in the top-level shell: inside a ( subshell ), bash's trap -p still
  # shows the parent's EXIT trap although it is not active there, and running
  # it would clean up the parent's things. In a subshell use lab_on_exit.
  local prev=""
  if [[ "$BASHPID" == "$$" ]]; then
    prev=$(trap -p EXIT)
  fi
  if [[ -n "$prev" && "$prev" != *lab__exit_trap* ]]; then
    eval "set -- $prev"   # trap -- 'CMD' EXIT
    LAB_PREV_EXIT_TRAP=$3
  elif [[ "$prev" != *lab__exit_trap* ]]; then
    LAB_PREV_EXIT_TRAP=""
  fi
  trap lab__exit_trap EXIT
  trap 'lab__signal INT' INT
  trap 'lab__signal TERM' TERM

  if ! lab__up_impl "$n"; then
    lab__log "lab_up failed; removing the partial lab $LAB_PREFIX"
    lab_down
    return 1
  fi
  lab__log "up: prefix $LAB_PREFIX, $n realservers, dir $LAB_DIR"
  return 0
}

# ---------------------------------------------------------------- lab_down

lab__down_impl() {
  local i cmd ns pid pids=()

  # 1. Registered cleanup, last registered first.
  for ((i = ${#LAB_ON_EXIT[@]} - 1; i >= 0; i--)); do
    cmd=${LAB_ON_EXIT[i]}
    [[ -n "$cmd" ]] || continue
    eval "$cmd" || lab__log "on-exit command failed: $cmd"
  done
  LAB_ON_EXIT=()

  # 2. Recorded background processes (lab_bg, nginx), plus anything else
  #    still running in our namespaces.
  if [[ -n "${LAB_DIR:-}" && -f "$LAB_DIR/bg.pids" ]]; then
    while read -r pid; do pids+=("$pid"); done <"$LAB_DIR/bg.pids"
  fi
  while read -r ns; do
    [[ -n "$ns" ]] || continue
    while read -r pid; do [[ -n "$pid" ]] && pids+=("$pid"); done < <(ip netns pids "$ns" 2>/dev/null)
  done < <(lab__our_namespaces)
  ((${#pids[@]})) && lab_kill "${pids[@]}"

  # 3. Namespaces (veth pairs and the bridge go with them). Retry a couple of
  #    times in case something still held one.
  for ((i = 0; i < 3; i++)); do
    while read -r ns; do
      [[ -n "$ns" ]] || continue
      ip netns del "$ns" 2>/dev/null
    done < <(lab__our_namespaces)
    [[ -z "$(lab__our_namespaces)" ]] && break
    sleep 0.2
  done
  if [[ -n "$(lab__our_namespaces)" ]]; then
    lab__log "could not remove namespaces: $(lab__our_namespaces | tr '\n' ' ')"
  fi

  # 4. The run directory.
  if [[ -n "${LAB_DIR:-}" && -d "$LAB_DIR" ]]; then
    if [[ "${LAB_KEEP:-0}" == 1 ]]; then
      lab__log "LAB_KEEP=1: keeping $LAB_DIR"
    else
      rm -rf -- "$LAB_DIR"
    fi
  fi
  return 0
}

# lab_down: idempotent teardown. Runs lab_on_exit commands, kills recorded
# processes and nginx (TERM, then KILL after LAB_KILL_TIMEOUT), kills any
# other process left in this run's namespaces, deletes every namespace named
# "<LAB_PREFIX>-*" (only this run's), removes LAB_DIR unless LAB_KEEP=1.
# Safe when lab_up failed halfway or was never called. Never fails.
lab_down() {
  [[ -n "${LAB_PREFIX:-}" ]] || return 0
  lab__down_impl || true
  return 0
}

# ------------------------------------------------------------------- nginx

# lab__http_dir K: per-realserver nginx directory.
lab__http_dir() { printf '%s/nginx-rs%s\n' "$LAB_DIR" "$1"; }

lab__http_answers() {
  local ns=$1 body
  body=$(ip netns exec "$ns" curl -fsS --max-time 1 http://127.0.0.1/healthz 2>/dev/null) || return 1
  [[ "$body" == ok ]] || return 1
  body=$(ip netns exec "$ns" curl -fsS -g --max-time 1 'http://[::1]/healthz' 2>/dev/null) || return 1
  [[ "$body" == ok ]]
}

# lab_start_http K: start nginx in rsK's namespace, listening on 0.0.0.0:80
# and [::]:80. "/" answers "rsK\n", "/healthz" answers "ok\n". Config, pid,
# logs and temp dirs live in $LAB_DIR/nginx-rsK. Waits (up to 5s) until it
# answers on 127.0.0.1 and ::1; returns 1 (with the error log) otherwise.
lab_start_http() {
  local k=$1 ns dir
  [[ -n "${LAB_NS_RS[k]:-}" ]] || { lab__log "lab_start_http: no realserver rs$k"; return 1; }
  command -v nginx >/dev/null 2>&1 || { lab__log "lab_start_http: nginx not installed"; return 1; }
  ns=${LAB_NS_RS[k]}
  dir=$(lab__http_dir "$k")
  mkdir -p "$dir/logs" "$dir/tmp" || return 1
  cat >"$dir/nginx.conf" <<EOF
# lvsd lab: nginx for rs$k (namespace $ns)
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    default_type text/plain;
    keepalive_timeout 5s;
    server {
        listen 0.0.0.0:80 reuseport;
        listen [::]:80 ipv6only=on reuseport;
        server_name _;
        location = /healthz { return 200 "ok\n"; }
        location / { return 200 "rs$k\n"; }
    }
}
EOF
  lab_bg "$ns" "$dir/logs/stdout.log" nginx -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf" || return 1
  echo "$LAB_LAST_PID" >"$dir/bg.pid"
  local i
  for ((i = 0; i < 50; i++)); do
    if lab__http_answers "$ns"; then
      return 0
    fi
    if ! lab__alive "$LAB_LAST_PID"; then
      break
    fi
    sleep 0.1
  done
  lab__log "nginx on rs$k did not come up; error log:"
  cat "$dir/logs/error.log" "$dir/logs/stdout.log" >&2 2>/dev/null
  return 1
}

# lab_start_http_all: lab_start_http for K = 1..LAB_RS_COUNT.
lab_start_http_all() {
  local k
  for ((k = 1; k <= ${LAB_RS_COUNT:-0}; k++)); do
    lab_start_http "$k" || return 1
  done
  return 0
}

# lab_stop_http K: stop rsK's nginx (TERM, KILL after LAB_KILL_TIMEOUT).
lab_stop_http() {
  local k=$1 dir pid
  dir=$(lab__http_dir "$k")
  [[ -f "$dir/bg.pid" ]] || return 0
  pid=$(<"$dir/bg.pid")
  lab_kill "$pid"
  rm -f "$dir/bg.pid"
  return 0
}
