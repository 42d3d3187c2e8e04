#!/usr/bin/env bash
# lab_selftest_test.sh - the integration lab itself works and cleans up.
#
#   1. lab_up 3 + nginx on every realserver; the client reaches each one over
#      IPv4 and IPv6 and gets "rsK"; the root namespace gains no interface.
#   2. After the lab's (sub)shell exits, no namespace with its prefix, no
#      process of it and no LAB_DIR remain.
#   3. The same when the subshell fails mid-way (fail -> exit 1), when it is
#      killed by SIGTERM, and when lab_up itself fails halfway.
#   4. Another run's namespaces (a decoy) are never touched.
#
# Needs root; exits 77 otherwise. All traffic stays inside the lab.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/lab.sh
source "$here/lib/lab.sh"
# shellcheck source=lib/assert.sh
source "$here/lib/assert.sh"

lab_require_root
lab_require_cmd nginx curl timeout

work=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-selftest.XXXXXX")
decoy="lvsd-$$-zzzz-lan" # never a real prefix: ours are hex
cleanup_main() {
  ip netns del "$decoy" 2>/dev/null || true
  rm -rf -- "$work"
}
trap cleanup_main EXIT

root_links() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort; }
links_before=$(root_links)
root_addrs() { ip -o addr show | awk '{print $2, $4}' | sort; }
addrs_before=$(root_addrs)
ip netns add "$decoy"

# Everything about a finished run must be gone: namespaces, dir, processes.
assert_gone() {
  local prefix=$1 dir=$2 what=$3
  local left
  left=$(ip netns list | awk '{print $1}' | grep -c -- "^${prefix}-" || true)
  assert_eq "$left" 0 "$what: no namespace with prefix $prefix remains"
  if [[ -e "$dir" ]]; then fail "$what: LAB_DIR $dir removed"; fi
  pass "$what: LAB_DIR removed"
  if pgrep -f -- "$dir" >/dev/null; then
    fail "$what: no process of the run remains" "$(pgrep -af -- "$dir")"
  fi
  pass "$what: no process of the run remains"
  assert_eq "$(root_links)" "$links_before" "$what: root namespace interfaces unchanged"
}

# --- 1. a working lab, torn down by a normal exit ------------------------
rc=0
(
  lab_up 3
  echo "$LAB_PREFIX $LAB_DIR" >"$work/run1"
  assert_eq "${#LAB_NS_RS[@]}" 3 "three realserver namespaces"
  [[ "$LAB_NS_LAN" == "$LAB_PREFIX-lan" ]] || fail "bridge namespace is named <prefix>-lan"
  ip -n "$LAB_NS_LAN" link show br0 >/dev/null || fail "bridge br0 lives in $LAB_NS_LAN"
  pass "bridge lives in its own namespace"
  for ns in "$LAB_NS_CLIENT" "$LAB_NS_DIR1" "$LAB_NS_DIR2" "${LAB_NS_RS[@]}"; do
    ip -n "$ns" link show eth0 >/dev/null || fail "$ns has eth0"
  done
  pass "every host has eth0"
  lab_start_http_all
  for k in 1 2 3; do
    body=$(lab_exec client curl -fsS --max-time 3 "http://${LAB_IP_RS[k]}/")
    assert_eq "$body" "rs$k" "client -> rs$k over IPv4 (${LAB_IP_RS[k]})"
    body=$(lab_exec client curl -fsS -g --max-time 3 "http://[${LAB_IP6_RS[k]}]/")
    assert_eq "$body" "rs$k" "client -> rs$k over IPv6 (${LAB_IP6_RS[k]})"
    body=$(lab_exec client curl -fsS --max-time 3 "http://${LAB_IP_RS[k]}/healthz")
    assert_eq "$body" "ok" "rs$k /healthz"
  done
  # Nothing of the lab is configured in the root namespace: same addresses
  # as before (compare, do not grep: the host may use 192.0.2.0/24 itself).
  # No probe traffic from the root namespace: it would leave the host.
  assert_eq "$(root_addrs)" "$addrs_before" "root namespace addresses unchanged while the lab is up"
  assert_eq "$(root_links)" "$links_before" "root namespace gained no interface while the lab is up"
  # lab_stop_http / restart
  lab_stop_http 2
  if lab_exec client curl -fsS --max-time 1 "http://${LAB_IP_RS[2]}/" >/dev/null 2>&1; then
    fail "rs2 still answers after lab_stop_http 2"
  fi
  pass "lab_stop_http stops nginx"
  lab_start_http 2
  assert_eq "$(lab_exec client curl -fsS --max-time 3 "http://${LAB_IP_RS[2]}/")" rs2 "lab_start_http restarts nginx"
  # lab_on_exit runs before the namespaces go.
  lab_on_exit "ip netns list | grep -q -- '^$LAB_NS_CLIENT' && touch '$work/onexit1'"
  # lab_bg: a process left running is killed by lab_down.
  lab_bg client sleeper.log sleep 120
  echo "$LAB_LAST_PID" >"$work/run1.pid"
  exit 0
) || rc=$?
assert_eq "$rc" 0 "lab run 1 exits 0"
read -r prefix1 dir1 <"$work/run1"
[[ -e "$work/onexit1" ]] || fail "lab_on_exit command ran while namespaces still existed"
pass "lab_on_exit command ran while namespaces still existed"
pid1=$(<"$work/run1.pid")
if kill -0 "$pid1" 2>/dev/null; then fail "lab_bg process $pid1 killed by lab_down"; fi
pass "lab_bg process killed by lab_down"
assert_gone "$prefix1" "$dir1" "normal exit"

# --- 2. failure mid-way ----------------------------------------------------
rc=0
(
  lab_up 2
  echo "$LAB_PREFIX $LAB_DIR" >"$work/run2"
  lab_start_http 1
  lab_bg rs2 sleeper.log sleep 120
  fail "deliberate failure mid-way (expected)" >/dev/null
) || rc=$?
assert_eq "$rc" 1 "failing lab subshell exits 1"
read -r prefix2 dir2 <"$work/run2"
assert_gone "$prefix2" "$dir2" "failure mid-way"

# --- 3. SIGTERM while waiting ----------------------------------------------
(
  lab_up 1
  echo "$LAB_PREFIX $LAB_DIR" >"$work/run3"
  lab_start_http 1
  lab_bg client sleeper.log sleep 60
  : >"$work/run3.ready"
  wait "$LAB_LAST_PID"
) &
sub=$!
LAB_WAIT_TIMEOUT=20 lab_wait_for test -e "$work/run3.ready" || fail "lab subshell 3 came up"
kill -TERM "$sub"
rc=0
wait "$sub" || rc=$?
assert_eq "$rc" 143 "subshell killed by SIGTERM exits 143"
read -r prefix3 dir3 <"$work/run3"
assert_gone "$prefix3" "$dir3" "SIGTERM"

# --- 4. lab_up fails halfway -----------------------------------------------
rc=0
(
  # Make the veth for rs2 fail: namespaces up to rs2 already exist by then.
  ip() {
    if [[ "$*" == *"link add v-rs2 "* ]]; then
      echo "$LAB_PREFIX $LAB_DIR" >"$work/run4"
      ip netns list | awk '{print $1}' | grep -c -- "^$LAB_PREFIX-" >"$work/run4.count" || true
      return 1
    fi
    command ip "$@"
  }
  if lab_up 3 2>"$work/run4.err"; then
    exit 0
  fi
  exit 3
) || rc=$?
assert_eq "$rc" 3 "lab_up reports failure when a step fails"
read -r prefix4 dir4 <"$work/run4"
(($(<"$work/run4.count") >= 5)) || fail "namespaces existed when lab_up failed" "count $(<"$work/run4.count")"
pass "lab_up failed halfway ($(<"$work/run4.count") namespaces existed)"
assert_gone "$prefix4" "$dir4" "lab_up failing halfway"

# --- 5. lab_down twice, and other runs untouched ---------------------------
rc=0
(
  lab_up 1
  lab_down
  lab_down
  [[ -z "$(ip netns list | grep -- "^$LAB_PREFIX-" || true)" ]] || fail "explicit lab_down removes the namespaces"
  exit 0
) || rc=$?
assert_eq "$rc" 0 "lab_down is idempotent"
ip netns list | awk '{print $1}' | grep -qx -- "$decoy" || fail "another run's namespace ($decoy) untouched"
pass "another run's namespace untouched"
echo "# all done"
