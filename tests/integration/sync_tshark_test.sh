#!/usr/bin/env bash
# sync_tshark_test.sh - Wireshark's ip_vs sync dissector ("ipvs", tshark from
# Debian's package) decodes the sync messages lvsd's codec makes: no malformed
# packet, no expert info, and the fields it shows (syncid, count, version,
# size, protocol, addresses, ports, timeouts) are the ones that were encoded.
#
# The messages come from tests/tools/sync_codec_tool.cpp (v1 IPv4 and IPv6
# entries, a template plus an entry with sequence data, a v0 message, a full
# 1472-byte message packed by MessageBuilder). They are sent to
# 127.0.0.1:8848 inside a fresh network namespace while tshark captures on its
# lo; nothing leaves the namespace. Wireshark 4.0's dissector reads only the
# fixed part of v1 entries (no options, no pad), which is why option-carrying
# entries come last in their message (see sync_codec_tool.cpp).
#
# Needs root (netns) and tshark; exit 77 when not root. Run:
#   LVSD_BUILD_DIR=build LVSD_SOURCE_DIR=. bash tests/integration/sync_tshark_test.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/assert.sh
source "$here/lib/assert.sh"

build=${LVSD_BUILD_DIR:-$here/../../build}
tool="$build/tests/sync_codec_tool"

[[ $(id -u) -eq 0 ]] || skip "needs root (network namespace)"
command -v tshark >/dev/null || fail "tshark is installed (apt-get install tshark)"
[[ -x "$tool" ]] || fail "sync_codec_tool is built: $tool"

ns="lvsd-sync-tshark-$$-$RANDOM"
work=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-sync-tshark.XXXXXX")
cap_pid=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $cap_pid ]] && kill -0 "$cap_pid" 2>/dev/null; then
    kill "$cap_pid" 2>/dev/null || true
    wait "$cap_pid" 2>/dev/null || true
  fi
  ip netns del "$ns" 2>/dev/null || true
  rm -rf -- "$work"
  exit "$rc"
}
trap cleanup EXIT INT TERM

ip netns add "$ns"
ip -n "$ns" link set lo up
pass "namespace $ns with lo up"

"$tool" expect >"$work/expect"
count=$(wc -l <"$work/expect")
[[ $count -ge 5 ]] || fail "sync_codec_tool expect prints the messages" "$(cat "$work/expect")"

# tshark writes as root into a root-owned dir; -c stops after the messages,
# -a duration bounds the capture if some never arrive.
ip netns exec "$ns" tshark -i lo -f "udp dst port 8848" -c "$count" -a duration:30 \
  -w "$work/sync.pcapng" >"$work/capture.log" 2>&1 &
cap_pid=$!
for _ in $(seq 1 100); do
  grep -q "Capturing on" "$work/capture.log" 2>/dev/null && break
  kill -0 "$cap_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "Capturing on" "$work/capture.log" || fail "tshark starts capturing" "$(cat "$work/capture.log")"
# The BPF filter is attached before "Capturing on" is printed; a short grace
# period covers the rest of the start-up.
sleep 0.5
ip netns exec "$ns" "$tool" send 127.0.0.1 8848
for _ in $(seq 1 150); do
  kill -0 "$cap_pid" 2>/dev/null || break
  sleep 0.2
done
if kill -0 "$cap_pid" 2>/dev/null; then
  fail "tshark captured $count datagrams within 30 s" "$(cat "$work/capture.log")"
fi
wait "$cap_pid" || true
cap_pid=
pass "captured $count sync datagrams"

fields=(ipvs.syncid ipvs.conncount ipvs.version ipvs.size ipvs.proto ipvs.caddr ipvs.vaddr
  ipvs.daddr ipvs.caddr6 ipvs.vaddr6 ipvs.daddr6 ipvs.cport ipvs.vport ipvs.dport ipvs.timeout)
args=()
for f in "${fields[@]}"; do args+=(-e "$f"); done
tshark -r "$work/sync.pcapng" -d udp.port==8848,ipvs -Y ipvs -T fields \
  -E separator=';' -E aggregator=',' "${args[@]}" >"$work/got" 2>"$work/tshark.err"
got_count=$(wc -l <"$work/got")
assert_eq "$got_count" "$count" "tshark dissects $count messages as ipvs"

# tshark's stderr, without its warning about running as root.
errors() { grep -v '^Running as user' "$1" || true; }
assert_eq "$(errors "$work/tshark.err")" "" "tshark reports no error"

# Malformed packets and every expert item (errors, warnings, notes) fail.
bad=$(tshark -r "$work/sync.pcapng" -d udp.port==8848,ipvs -Y '_ws.malformed || _ws.expert' \
  2>"$work/tshark.err")
assert_eq "$bad$(errors "$work/tshark.err")" "" "no malformed packet, no expert info"
summary=$(tshark -r "$work/sync.pcapng" -d udp.port==8848,ipvs -q -z expert 2>&1)
assert_not_contains "$summary" "Malformed" "expert summary names no malformed packet"

i=0
while IFS= read -r want && IFS= read -r got <&3; do
  i=$((i + 1))
  assert_eq "$got" "$want" "message $i: syncid;count;version;size;proto;addresses;ports;timeouts"
done <"$work/expect" 3<"$work/got"
assert_eq "$i" "$count" "every message compared"

# The v1 entries' version nibble and size as the dissector sees them (it masks
# 0x1fff, the kernel 0x0fff; equal for entries < 4 KiB): first message, three
# 36-byte IPv4 entries.
sizes=$(tshark -r "$work/sync.pcapng" -d udp.port==8848,ipvs -Y ipvs -T fields \
  -E aggregator=',' -e ipvs.size.v1 -c 1 2>/dev/null)
assert_eq "$sizes" "36,36,36" "v1 entry sizes (ver_size) of the first message"
