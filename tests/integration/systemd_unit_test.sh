#!/usr/bin/env bash
# systemd_unit_test.sh - systemd/lvsd.service and the lvsd-nonroot.conf drop-in
# pass `systemd-analyze verify` without a single warning, and carry the
# directives lvsd relies on.
#
# systemd-analyze verify works offline (no running systemd needed) but checks
# that every Exec*= binary exists, so the unit is copied to a temp dir with
# /usr/local/sbin/lvsd rewritten to $LVSD_BUILD_DIR/daemon/lvsd. Exit 77
# (skip) when that binary is not built or systemd-analyze is missing. Needs
# neither root nor namespaces.
#
# Output policy: any line systemd-analyze prints about our unit or drop-in
# fails the test (warnings such as "Unknown key" exit 0 but are still
# failures here). Lines that only name another unit file in the host's own
# systemd directories (/lib, /usr/lib, /etc/systemd, /run/systemd), e.g. a
# broken host unit pulled in through After=/Wants=, are reported and ignored:
# they describe the host environment, not lvsd. --man=no: man pages are not
# installed in a build tree.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/assert.sh
source "$here/lib/assert.sh"

src=${LVSD_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
unit="$src/systemd/lvsd.service"
dropin="$src/systemd/lvsd-nonroot.conf"
[[ -f "$unit" ]] || fail "unit file exists: $unit"
[[ -f "$dropin" ]] || fail "drop-in exists: $dropin"

# Directives without comments, "Key=Value" per line.
directives() { grep -E '^[A-Za-z]+=' "$1" || true; }
d=$(directives "$unit")

# --- static checks on the unit as shipped --------------------------------
has() { grep -qE "$1" <<<"$d"; }
has '^Type=notify$' || fail "Type=notify"
pass "Type=notify"
has '^NotifyAccess=main$' || fail "NotifyAccess=main"
pass "NotifyAccess=main"
has '^ExecStart=/usr/local/sbin/lvsd --config /etc/lvsd/lvsd.yaml$' || fail "ExecStart runs /usr/local/sbin/lvsd --config /etc/lvsd/lvsd.yaml"
pass "ExecStart (CMake installs lvsd to <prefix>/sbin, default prefix /usr/local)"
has '^ExecStartPre=/usr/local/sbin/lvsd --check-config /etc/lvsd/lvsd.yaml$' || fail "ExecStartPre validates the config"
pass "ExecStartPre runs --check-config"
# shellcheck disable=SC2016 # literal $MAINPID
has '^ExecReload=/bin/kill -HUP \$MAINPID$' || fail "ExecReload sends SIGHUP to \$MAINPID"
pass "ExecReload sends SIGHUP"
has '^WatchdogSec=' || fail "WatchdogSec set"
pass "WatchdogSec set"
has '^Restart=on-failure$' || fail "Restart=on-failure"
pass "Restart=on-failure"
has '^RuntimeDirectory=lvsd$' || fail "RuntimeDirectory=lvsd (/run/lvsd/lvsd.sock)"
pass "RuntimeDirectory=lvsd"
raf=$(grep -E '^RestrictAddressFamilies=' <<<"$d" || true)
for fam in AF_UNIX AF_NETLINK AF_PACKET AF_INET AF_INET6; do
  [[ " ${raf#*=} " == *" $fam "* ]] || fail "RestrictAddressFamilies contains $fam" "$raf"
done
pass "RestrictAddressFamilies has AF_UNIX AF_NETLINK AF_PACKET AF_INET AF_INET6"
cbs=$(grep -E '^CapabilityBoundingSet=' <<<"$d" || true)
[[ -n "$cbs" ]] || fail "CapabilityBoundingSet set"
for cap in CAP_NET_ADMIN CAP_NET_RAW; do
  [[ "$cbs" == *"$cap"* ]] || fail "CapabilityBoundingSet has $cap" "$cbs"
done
assert_not_contains "$cbs" CAP_SYS_MODULE "CapabilityBoundingSet lacks CAP_SYS_MODULE"
assert_not_contains "$cbs" CAP_SYS_ADMIN "CapabilityBoundingSet lacks CAP_SYS_ADMIN"
if has '^ProtectKernelTunables=(yes|true|on|1)$'; then
  fail "ProtectKernelTunables must stay off (lvsd writes /proc/sys/net)"
fi
pass "ProtectKernelTunables off"
if has '^ProcSubset=pid$'; then fail "no ProcSubset=pid (hides /proc/sys)"; fi
has '^NoNewPrivileges=yes$' || fail "NoNewPrivileges=yes"
has '^ProtectSystem=strict$' || fail "ProtectSystem=strict"
pass "NoNewPrivileges=yes, ProtectSystem=strict"
dd=$(directives "$dropin")
grep -qE '^User=lvsd$' <<<"$dd" || fail "drop-in sets User=lvsd"
grep -qE '^AmbientCapabilities=.*CAP_NET_ADMIN' <<<"$dd" || fail "drop-in sets AmbientCapabilities"
pass "drop-in sets User=lvsd and AmbientCapabilities"

# --- systemd-analyze verify ------------------------------------------------
command -v systemd-analyze >/dev/null 2>&1 || skip "systemd-analyze not installed"
bin="${LVSD_BUILD_DIR:-}/daemon/lvsd"
if [[ -z "${LVSD_BUILD_DIR:-}" || ! -x "$bin" ]]; then
  skip "lvsd binary not built (looked for '$bin'); systemd-analyze verify needs it"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-unit-test.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# Rewrite the installed binary path to the build tree's binary (quoted, in
# case the build dir contains blanks).
mkdir -p "$work/alone" "$work/combined/lvsd.service.d"
sed "s#/usr/local/sbin/lvsd#\"$bin\"#g" "$unit" >"$work/alone/lvsd.service"
cp "$work/alone/lvsd.service" "$work/combined/lvsd.service"
cp "$dropin" "$work/combined/lvsd.service.d/nonroot.conf"
grep -q "$bin" "$work/alone/lvsd.service" || fail "ExecStart rewritten to the built binary"

# verify DIR: run systemd-analyze verify on DIR/lvsd.service (drop-ins in
# DIR/lvsd.service.d are picked up), fail on any line about our files.
verify() {
  local dir=$1 what=$2 out rc=0 line bad=()
  out=$(cd "$dir" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "$dir/lvsd.service" 2>&1) || rc=$?
  while IFS= read -r line; do
    [[ -n "$line" ]] || continue
    if [[ "$line" =~ ^(/lib|/usr/lib|/etc/systemd|/run/systemd)/[^:]*: && "$line" != *"$dir"* ]]; then
      echo "#   ignored (host unit, not lvsd): $line"
      continue
    fi
    bad+=("$line")
  done <<<"$out"
  ((rc == 0)) || fail "$what: systemd-analyze verify exits 0" "rc=$rc" "$out"
  ((${#bad[@]} == 0)) || fail "$what: systemd-analyze verify prints nothing" "${bad[@]}"
  pass "$what: systemd-analyze verify clean"
}
verify "$work/alone" "lvsd.service"
verify "$work/combined" "lvsd.service + lvsd-nonroot.conf"

# The verifier must actually read the drop-in (else the combined check above
# proves nothing): a bogus key in it has to be reported.
mkdir -p "$work/probe/lvsd.service.d"
cp "$work/alone/lvsd.service" "$work/probe/lvsd.service"
{ cat "$dropin"; echo "LvsdBogusKey=1"; } >"$work/probe/lvsd.service.d/nonroot.conf"
probe=$( (cd "$work/probe" && systemd-analyze verify --man=no "$work/probe/lvsd.service") 2>&1) || true
assert_contains "$probe" "LvsdBogusKey" "systemd-analyze verify reads the drop-in"

# And the drop-in takes effect: offline security analysis sees a non-root user.
if sec=$(systemd-analyze security --offline=yes "$work/combined/lvsd.service" 2>&1); then
  assert_contains "$(grep -E 'User=' <<<"$sec")" "non-root" "with the drop-in lvsd runs as a non-root user"
  sec_root=$(systemd-analyze security --offline=yes "$work/alone/lvsd.service" 2>&1 || true)
  assert_contains "$(grep -E 'User=' <<<"$sec_root")" "runs as root user" "without the drop-in lvsd runs as root"
else
  echo "# systemd-analyze security --offline not available here; skipped that check"
fi
echo "# all done"
