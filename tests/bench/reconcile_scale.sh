#!/usr/bin/env bash
# Forwarding reconcile cost at scale (issue 6's 10,000 realservers): how long
# lvsd's control thread is busy when ONE realserver changes, and for a full
# reconcile (start, reload), with the userspace engine (no ip_vs here).
#
#   tests/bench/reconcile_scale.sh [N...]      (default: 1000 10000)
#     N  realservers, 100 per service (svc0, svc1, ...), NAT, all on
#        127.0.0.1 ports BASE_PORT.. (nothing needs to listen: no checks)
#   env: BUILD=build (where daemon/lvsd and daemon/lvsctl are), REPEAT=7
#        (samples per measure; the median is shown), BASE_PORT=20000,
#        VERBOSE=1 (also the phases of each kind's last sample), KEEP=1
#
# Measured per N, in a network namespace of its own (lvsd installs its
# iptables chains and ipsets there; the namespace is deleted on exit):
#   start      the first reconcile (programs everything)
#   down       `lvsctl maint SVC RS`: the realserver leaves the table (a
#              DelDest: the steering set of NAT realservers changes)
#   up         `lvsctl ready SVC RS`: it comes back (an AddDest)
#   drain      `lvsctl drain SVC RS`: weight 0 (an EditDest, no set change)
#   reload     SIGHUP after a one-line change (one realserver's weight): a
#              full read-back, plan and compare
# each as lvsd's own last_reconcile_ms (`lvsctl --json forwarding`; the
# realserver commands reconcile synchronously, a reload right after loading
# the config). The reference, measured in the same run, is `ipset -exist
# restore` creating and filling one hash:ip,port set with the same N members
# (what a reconcile that refills the NAT realserver set pays at least, fork
# and exec included); each measure is shown in ms and as a ratio to it (these
# machines are shared and noisy: compare ratios, not milliseconds). The
# spawn floor (`ipset version`) is shown too: a reconcile that runs no
# command stays below it.
#
# Needs root (netns, iptables, ipset), jq. Not part of the test suite.
set -euo pipefail

NS_LIST=("$@")
[[ ${#NS_LIST[@]} -gt 0 ]] || NS_LIST=(1000 10000)
REPEAT=${REPEAT:-7}
BASE_PORT=${BASE_PORT:-20000}
VERBOSE=${VERBOSE:-0}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/bench/lib/scale_services.sh"
BUILD=${BUILD:-$ROOT/build}
LVSD=$BUILD/daemon/lvsd
LVSCTL=$BUILD/daemon/lvsctl
PER_SERVICE=100

[[ $(id -u) -eq 0 ]] || { echo "reconcile_scale: needs root (network namespace, iptables, ipset)" >&2; exit 2; }
for t in jq ipset iptables ip; do
  command -v "$t" >/dev/null || { echo "reconcile_scale: missing $t" >&2; exit 2; }
done
[[ -x $LVSD && -x $LVSCTL ]] || { echo "reconcile_scale: build $BUILD first" >&2; exit 2; }

TMP=$(mktemp -d /tmp/reconcile_scale.XXXXXX)
NS=
LVSD_PID=
cleanup() {
  if [[ -n $LVSD_PID ]]; then
    kill "$LVSD_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$LVSD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$LVSD_PID" 2>/dev/null || true
    wait "$LVSD_PID" 2>/dev/null || true
  fi
  [[ -n $NS ]] && ip netns del "$NS" 2>/dev/null
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }
median() { sort -g | awk '{a[NR]=$1} END{if(!NR){print "n/a";exit} print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.3f", a/b; else print "n/a" }'; }
in_ns() { ip netns exec "$NS" "$@"; }
ctl() { "$LVSCTL" -s "$SOCK" -t 60 "$@"; }
fwd() { ctl --json forwarding | jq -c '.data // .'; }

write_config() { # write_config N WEIGHT_OF_LAST
  local n=$1 w=$2
  {
    echo "global:"
    echo "  status_socket: {path: $SOCK}"
    echo "  logging: {target: console, level: warn}"
    echo "forwarding:"
    echo "  backend: userspace"
    echo "  reconcile_interval: 1d"
    scale_services "$n" "$BASE_PORT" "$PER_SERVICE" "" "$w"
  } >"$CONFIG.tmp"
  mv "$CONFIG.tmp" "$CONFIG"
}

# One realserver command; prints lvsd's last_reconcile_ms (and the phases).
rs_op() { # rs_op CMD SVC RS KIND
  ctl "$1" "$2" "$3" >/dev/null
  local j; j=$(fwd)
  [[ $(jq -r .last_reconcile_reason <<<"$j") == admin ]] || { echo "reconcile_scale: $1 did not reconcile" >&2; exit 1; }
  jq -r .last_reconcile_ms <<<"$j" >>"$TMP/$4"
  jq -c .last_reconcile_phases_ms <<<"$j" >"$TMP/$4.phases"
}

printf '%-6s %9s %9s | %9s %7s | %8s %7s | %8s %7s | %8s %7s | %9s %7s\n' \
  N ref_ms spawn_ms start_ms ratio down_ms ratio up_ms ratio drain_ms ratio reload_ms ratio

for N in "${NS_LIST[@]}"; do
  ((N % PER_SERVICE == 0 && N >= PER_SERVICE)) || { echo "reconcile_scale: N must be a multiple of $PER_SERVICE" >&2; exit 2; }
  ((BASE_PORT + N < 32768)) || { echo "reconcile_scale: ports must stay below 32768" >&2; exit 2; }
  rm -f "$TMP"/{ref,spawn,down,up,drain,reload}*
  NS=lvsd-rb-$$
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  SOCK=$TMP/lvsd.sock
  CONFIG=$TMP/lvsd.yaml
  write_config "$N" 1

  # Reference: one set of the same N members, created, filled, destroyed.
  {
    echo "create LVSD-BENCH-REF hash:ip,port family inet maxelem $((N > 65536 ? N : 65536))"
    for ((i = 0; i < N; i++)); do echo "add LVSD-BENCH-REF 127.0.0.1,tcp:$((BASE_PORT + i))"; done
    echo "destroy LVSD-BENCH-REF"
  } >"$TMP/ref.in"
  for ((r = 0; r < REPEAT; r++)); do
    t0=$(now_ns); in_ns ipset -exist restore <"$TMP/ref.in"; t1=$(now_ns)
    echo $(((t1 - t0) / 1000))e-3 >>"$TMP/ref"
    t0=$(now_ns); in_ns ipset version >/dev/null; t1=$(now_ns)
    echo $(((t1 - t0) / 1000))e-3 >>"$TMP/spawn"
  done

  # exec: $! is lvsd itself (ip netns exec execs too), not a subshell.
  ip netns exec "$NS" "$LVSD" --config "$CONFIG" >"$TMP/lvsd.log" 2>&1 &
  LVSD_PID=$!
  for _ in $(seq 600); do
    [[ -S $SOCK ]] && fwd 2>/dev/null | jq -e '.counters.reconciles >= 1' >/dev/null 2>&1 && break
    kill -0 "$LVSD_PID" 2>/dev/null || { cat "$TMP/lvsd.log" >&2; exit 1; }
    sleep 0.1
  done
  j=$(fwd)
  [[ $(jq -r .counters.ops_applied <<<"$j") -eq $((N + N / PER_SERVICE)) ]] ||
    { echo "reconcile_scale: lvsd did not program $N realservers: $j" >&2; cat "$TMP/lvsd.log" >&2; exit 1; }
  jq -r .last_reconcile_ms <<<"$j" >"$TMP/start"
  jq -c .last_reconcile_phases_ms <<<"$j" >"$TMP/start.phases"
  in_ns ipset list -terse LVSD-RS4 | grep -q "Number of entries: $N" ||
    { echo "reconcile_scale: LVSD-RS4 does not hold $N members" >&2; exit 1; }

  for ((r = 0; r < REPEAT; r++)); do
    i=$(((r * 37 + 11) % N))  # a different realserver each time
    svc=svc$((i / PER_SERVICE))
    rs=127.0.0.1:$((BASE_PORT + i))
    rs_op maint "$svc" "$rs" down
    rs_op ready "$svc" "$rs" up
    rs_op drain "$svc" "$rs" drain
    ctl ready "$svc" "$rs" >/dev/null
  done
  in_ns ipset list -terse LVSD-RS4 | grep -q "Number of entries: $N" ||
    { echo "reconcile_scale: LVSD-RS4 does not hold $N members after the runs" >&2; exit 1; }

  for ((r = 0; r < REPEAT; r++)); do
    before=$(fwd | jq .counters.reconciles)
    write_config "$N" $((r % 2 == 0 ? 2 : 1))
    kill -HUP "$LVSD_PID"
    for _ in $(seq 600); do
      j=$(fwd)
      (($(jq .counters.reconciles <<<"$j") > before)) && break
      sleep 0.05
    done
    [[ $(jq -r .last_reconcile_reason <<<"$j") == reload ]] || { echo "reconcile_scale: no reload reconcile" >&2; exit 1; }
    jq -r .last_reconcile_ms <<<"$j" >>"$TMP/reload"
    jq -c .last_reconcile_phases_ms <<<"$j" >"$TMP/reload.phases"
  done

  ref=$(median <"$TMP/ref")
  spawn=$(median <"$TMP/spawn")
  row=$(printf '%-6s %9.2f %9.2f' "$N" "$ref" "$spawn")
  for k in start down up drain reload; do
    m=$(median <"$TMP/$k")
    row+=$(printf ' | %8.2f %7s' "$m" "$(ratio "$m" "$ref")")
  done
  echo "$row"
  if [[ $VERBOSE == 1 ]]; then
    for k in start down up drain reload; do echo "    $k phases (last sample): $(cat "$TMP/$k.phases")"; done
  fi

  kill "$LVSD_PID"
  for _ in $(seq 100); do kill -0 "$LVSD_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$LVSD_PID" 2>/dev/null || true
  LVSD_PID=
  ip netns del "$NS"
  NS=
done
echo "(ms: lvsd's own last_reconcile_ms, median of $REPEAT; ratio: to ref_ms, ipset restore of N members)"
