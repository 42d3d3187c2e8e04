# shellcheck shell=bash
#
# assert.sh - tiny TAP-like assertions for lvsd integration tests.
#
# Output format (stdout):   ok - MSG
#                           not ok - MSG
#                           #   detail lines
#                           ok - # SKIP MSG
#
#   pass MSG                       print "ok - MSG"
#   fail MSG [DETAIL...]           print "not ok - MSG" (+ details), exit 1
#   skip MSG                       print "ok - # SKIP MSG", exit 77
#   assert_eq ACTUAL EXPECTED MSG  pass if equal, else fail showing both
#   assert_ne ACTUAL UNEXPECTED MSG
#   assert_contains HAYSTACK NEEDLE MSG   pass if NEEDLE is a substring
#   assert_not_contains HAYSTACK NEEDLE MSG
#   assert_ok MSG CMD...           pass if CMD succeeds, else fail (with rc)
#
# fail exits the current (sub)shell with status 1; with lab.sh's EXIT trap
# that tears the lab down.

if [[ -n "${ASSERT_SH_SOURCED:-}" ]]; then
  return 0
fi
ASSERT_SH_SOURCED=1

pass() {
  printf 'ok - %s\n' "$*"
}

fail() {
  local msg=${1:-failed}
  shift || true
  printf 'not ok - %s\n' "$msg"
  local d
  for d in "$@"; do
    printf '%s\n' "$d" | sed 's/^/#   /'
  done
  exit 1
}

skip() {
  printf 'ok - # SKIP %s\n' "$*"
  exit 77
}

assert_eq() {
  if [[ "$1" == "$2" ]]; then
    pass "$3"
  else
    fail "$3" "expected: '$2'" "actual:   '$1'"
  fi
}

assert_ne() {
  if [[ "$1" != "$2" ]]; then
    pass "$3"
  else
    fail "$3" "unexpected: '$2'"
  fi
}

assert_contains() {
  if [[ "$1" == *"$2"* ]]; then
    pass "$3"
  else
    fail "$3" "expected to contain: '$2'" "actual: '$1'"
  fi
}

assert_not_contains() {
  if [[ "$1" != *"$2"* ]]; then
    pass "$3"
  else
    fail "$3" "expected not to contain: '$2'" "actual: '$1'"
  fi
}

assert_ok() {
  local msg=$1 rc=0
  shift
  "$@" || rc=$?
  if ((rc == 0)); then
    pass "$msg"
  else
    fail "$msg" "command failed (rc=$rc): $*"
  fi
}
