# shellcheck shell=bash
#
# vm.sh - run an integration test's in-VM part in the ip_vs VM (tests/vm/).
# Source after lib/assert.sh (uses skip and fail); the caller sets SRC and
# BUILD (source and build directories).
#
# vm_run_self TIMEOUT SCRIPT
#   prepares the VM (skip, exit 77, when it cannot be prepared here; fail on
#   any other preparation error), then runs `bash SCRIPT --in-vm` inside it
#   with LVSD_SOURCE_DIR=$SRC and LVSD_BUILD_DIR=$BUILD, killing the VM after
#   TIMEOUT seconds; fails unless the in-VM part exits 0.
vm_run_self() {
  local timeout=$1 script=$2 vmdir rc=0
  vmdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../vm" && pwd)
  bash "$vmdir/prepare.sh" || rc=$?
  [[ $rc -eq 0 ]] || {
    [[ $rc -eq 77 ]] && skip "cannot prepare the VM (see above)"
    fail "tests/vm/prepare.sh failed with status $rc"
  }
  rc=0
  LVSD_SOURCE_DIR=$SRC LVSD_BUILD_DIR=$BUILD \
    bash "$vmdir/run.sh" --timeout "$timeout" -- bash "$script" --in-vm || rc=$?
  [[ $rc -eq 0 ]] || fail "the in-VM part failed (status $rc)"
}
