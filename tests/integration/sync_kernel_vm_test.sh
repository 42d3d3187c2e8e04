#!/usr/bin/env bash
# sync_kernel_vm_test.sh - lvsd's sync codec decodes what the kernel's own
# sync daemon sends, in the ip_vs VM (tests/vm/run.sh, Debian's kernel):
#   1. a director namespace runs ip_vs (IPv4 NAT services on :80, :81 with
#      persistence, :82 long-lived, UDP :53, and an IPv6 NAT service) and the
#      kernel's master sync daemon (ipvsadm --start-daemon master, syncid 9) on
#      a veth whose peer, in a "backup" namespace, is captured by tcpdump;
#   2. a client makes connections through the VIPs (curl, a long-lived socat
#      session, UDP datagrams); after the kernel's 2 s flush the capture holds
#      version 1 messages; then net.ipv4.vs.sync_version=0 and more
#      connections give version 0 messages;
#   3. sync_codec_tool decode-pcap decodes every datagram with lvsd's codec:
#      no drop, no error, syncid 9, both versions seen, and every connection
#      and persistence template `ipvsadm -Lnc` lists on the master is among
#      the decoded entries (protocol, client, virtual and real endpoints); the
#      long-lived one as ESTABLISHED with the kernel's 900 s TCP timeout, the
#      UDP one with 300 s, the template with its 120 s persistence timeout.
# With LVSD_VM_OUT set to an existing directory, the capture (sync.pcap), the
# ipvsadm listings and the decoder's output stay there (golden fixtures in
# tests/unit/sync/codec_test.cpp came from such a run).
#
# Needs root, the VM prerequisites (tests/vm/README.md), tcpdump, socat, curl
# and a built tests/sync_codec_tool; skips (77) when the VM cannot run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/assert.sh
source "$here/lib/assert.sh"

# --- inside the VM -----------------------------------------------------------
if [[ ${1:-} == --in-vm ]]; then
  tool=$2
  out=${LVSD_VM_OUT:?}
  vip=192.0.2.200
  vip6=2001:db8:200::200
  rs=192.0.2.21
  rs6=2001:db8:21::21
  client=198.51.100.2

  assert_ok "modprobe ip_vs ip_vs_rr veth" modprobe -a ip_vs ip_vs_rr veth
  for ns in client director rs backup; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip link add c0 netns client type veth peer name d0 netns director
  ip link add r0 netns rs type veth peer name d1 netns director
  ip link add b0 netns backup type veth peer name s0 netns director
  ip -n client addr add "$client/24" dev c0
  ip -n client addr add 2001:db8:100::2/64 dev c0 nodad
  ip -n director addr add 198.51.100.1/24 dev d0
  ip -n director addr add 2001:db8:100::1/64 dev d0 nodad
  ip -n director addr add "$vip/32" dev d0
  ip -n director addr add "$vip6/128" dev d0 nodad
  ip -n director addr add 192.0.2.1/24 dev d1
  ip -n director addr add 2001:db8:21::1/64 dev d1 nodad
  ip -n director addr add 10.9.0.1/24 dev s0
  ip -n rs addr add "$rs/24" dev r0
  ip -n rs addr add "$rs6/64" dev r0 nodad
  ip -n backup addr add 10.9.0.2/24 dev b0
  for pair in client:c0 director:d0 director:d1 director:s0 rs:r0 backup:b0; do
    ip -n "${pair%%:*}" link set "${pair#*:}" up
  done
  ip -n client route add default via 198.51.100.1
  ip -n client route add default via 2001:db8:100::1
  ip -n rs route add default via 192.0.2.1
  ip -n rs route add default via 2001:db8:21::1
  ip netns exec director sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

  www=$(mktemp -d)
  echo "hello" >"$www/index.html"
  ip netns exec rs busybox httpd -p 80 -h "$www"
  ip netns exec rs busybox httpd -p 81 -h "$www"
  ip netns exec rs socat TCP-LISTEN:82,reuseaddr,fork EXEC:cat &
  ip netns exec rs socat -u UDP-RECV:53 /dev/null &
  for _ in $(seq 50); do
    ip netns exec rs curl -fsS -o /dev/null --max-time 2 "http://$rs:81/" 2>/dev/null && break
    sleep 0.1
  done

  d() { ip netns exec director "$@"; }
  d ipvsadm -A -t "$vip:80" -s rr
  d ipvsadm -a -t "$vip:80" -r "$rs:80" -m
  d ipvsadm -A -t "$vip:81" -s rr -p 120
  d ipvsadm -a -t "$vip:81" -r "$rs:81" -m
  d ipvsadm -A -t "$vip:82" -s rr
  d ipvsadm -a -t "$vip:82" -r "$rs:82" -m
  d ipvsadm -A -u "$vip:53" -s rr
  d ipvsadm -a -u "$vip:53" -r "$rs:53" -m
  d ipvsadm -A -t "[$vip6]:80" -s rr
  d ipvsadm -a -t "[$vip6]:80" -r "[$rs6]:80" -m
  assert_ok "kernel master sync daemon starts (syncid 9 on s0)" \
    d ipvsadm --start-daemon master --mcast-interface s0 --syncid 9

  ip netns exec backup tcpdump -i b0 -U -n -w "$out/sync.pcap" udp port 8848 \
    2>"$out/tcpdump.log" &
  tcpdump_pid=$!
  for _ in $(seq 50); do
    grep -q "listening on" "$out/tcpdump.log" 2>/dev/null && break
    sleep 0.1
  done

  c() { ip netns exec client "$@"; }
  c curl -fsS -o /dev/null --max-time 5 "http://$vip/" || fail "curl through the VIP :80"
  c curl -fsS -o /dev/null --max-time 5 "http://$vip:81/" || fail "curl through the VIP :81"
  c curl -fsS -o /dev/null --max-time 5 -g "http://[$vip6]/" || fail "curl through the IPv6 VIP"
  # Long-lived: the third packet from the client (SYN, ACK, data) makes the
  # kernel sync it in ESTABLISHED (sync_threshold 3).
  (
    for l in a b c d; do
      echo "$l"
      sleep 0.2
    done
    sleep 60
  ) | c socat - "TCP:$vip:82" >/dev/null &
  (
    for l in a b c d; do
      echo "$l"
      sleep 0.2
    done
  ) | c socat -u - "UDP:$vip:53,sourceport=5353"
  sleep 1
  # Everything sent within IPVS_SYNC_FLUSH_TIME (2 s) plus the master's check
  # period (1 s).
  sleep 4
  d ipvsadm -Lnc >"$out/conns-v1.txt"

  d sysctl -qw net.ipv4.vs.sync_version=0
  c curl -fsS -o /dev/null --max-time 5 "http://$vip/" || fail "curl through the VIP :80 (v0)"
  c curl -fsS -o /dev/null --max-time 5 "http://$vip:81/" || fail "curl through the VIP :81 (v0)"
  sleep 5
  d ipvsadm -Lnc >"$out/conns-all.txt"
  kill -INT "$tcpdump_pid"
  wait "$tcpdump_pid" || true

  "$tool" decode-pcap "$out/sync.pcap" >"$out/decoded.txt"
  grep -v '^hex' "$out/decoded.txt" | sed 's/^/#   /' | head -60
  printf '# ipvsadm -Lnc:\n'
  sed 's/^/#   /' "$out/conns-all.txt"

  msgs=$(grep -c '^msg ' "$out/decoded.txt" || true)
  [[ $msgs -ge 2 ]] || fail "the kernel sent sync messages ($msgs captured)" "$(cat "$out/tcpdump.log")"
  pass "captured $msgs kernel sync messages"
  assert_eq "$(grep '^msg ' "$out/decoded.txt" | grep -vc 'error=none' || true)" 0 \
    "every message decodes without error"
  assert_eq "$(grep -c '^drop ' "$out/decoded.txt" || true)" 0 "no entry dropped"
  assert_eq "$(grep '^msg ' "$out/decoded.txt" | grep -vc 'syncid=9 ' || true)" 0 \
    "every message carries syncid 9"
  [[ $(grep -c '^msg version=1 ' "$out/decoded.txt" || true) -ge 1 ]] || fail "version 1 messages"
  [[ $(grep -c '^msg version=0 ' "$out/decoded.txt" || true) -ge 1 ]] || fail "version 0 messages"
  pass "both versions seen (sync_version 1, then 0)"

  # Every entry of the master's table (v1 phase and after) was sent and
  # decodes to the same protocol and endpoints.
  missing=()
  while read -r pro _expire _state src virt dst; do
    grep -qF "conn $pro $src $virt $dst " "$out/decoded.txt" ||
      missing+=("$pro $src $virt $dst")
  done <<<"$(grep -E '^(TCP|UDP) ' "$out/conns-all.txt")"
  n=$(grep -cE '^(TCP|UDP) ' "$out/conns-all.txt" || true)
  # 2 + 2 on :80 and :81 (v1, v0), :82, UDP, IPv6, the :81 template.
  [[ $n -ge 8 ]] || fail "ipvsadm -Lnc lists the connections and the template ($n)"
  assert_eq "${missing[*]:-}" "" "all $n entries of ipvsadm -Lnc are among the decoded ones"

  long=$(grep -E "^conn TCP $client:[0-9]+ $vip:82 $rs:82 " "$out/decoded.txt" | tail -1)
  assert_contains "$long" "state=1 " "the long-lived connection is synced as ESTABLISHED"
  assert_contains "$long" "timeout=900 " "with the kernel's ESTABLISHED timeout (900 s)"
  udp=$(grep -E "^conn UDP $client:5353 $vip:53 $rs:53 " "$out/decoded.txt" | tail -1)
  assert_contains "$udp" "timeout=300 " "the UDP connection with the kernel's UDP timeout (300 s)"
  tpl=$(grep -E "^conn TCP $client:0 $vip:81 $rs:81 .* template" "$out/decoded.txt" |
    grep -v 'timeout=0 ' | tail -1)
  assert_contains "$tpl" "timeout=120 " "the persistence template with its 120 s timeout (v1)"
  v6=$(grep -cE "^conn TCP \[2001:db8:100::2\]:[0-9]+ \[$vip6\]:80 \[$rs6\]:80 " \
    "$out/decoded.txt" || true)
  [[ $v6 -ge 1 ]] || fail "the IPv6 connection is decoded from a 72-byte entry"
  pass "IPv6 entries decoded"
  exit 0
fi

# --- on the host -------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || skip "needs root (qemu VM with the host's / and the kernel package)"
for cmd in ipvsadm ip timeout tcpdump socat curl; do
  command -v "$cmd" >/dev/null 2>&1 || skip "$cmd not installed"
done
build=${LVSD_BUILD_DIR:-$here/../../build}
tool=$(cd "$build" && pwd)/tests/sync_codec_tool
[[ -x $tool ]] || fail "sync_codec_tool is built: $tool"

start=$(date +%s%N)
rc=0
bash "$here/../vm/prepare.sh" || rc=$?
[[ $rc -eq 0 ]] || {
  [[ $rc -eq 77 ]] && skip "cannot prepare the VM (see above)"
  fail "tests/vm/prepare.sh failed with status $rc"
}
rc=0
bash "$here/../vm/run.sh" --timeout 300 -- bash "$here/$(basename "${BASH_SOURCE[0]}")" --in-vm \
  "$tool" || rc=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
echo "# VM run took ${elapsed} ms"
case $rc in
  0) pass "lvsd decodes the kernel's sync messages" ;;
  77) skip "the VM runner cannot run here (see above)" ;;
  *) fail "the in-VM part failed with status $rc" ;;
esac
