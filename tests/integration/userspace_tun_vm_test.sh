#!/usr/bin/env bash
# The userspace engine's IP-in-IP (TUN) method end to end, inside the VM
# (Debian's kernel: the realservers need the ipip module to decapsulate,
# which the host kernel lacks). lvsd runs with backend userspace in a
# director namespace; two realservers decapsulate on tunl0 and answer the
# client directly.
#   - 10 new connections spread 5/5 (rr) and every answer arrives;
#   - a 200 kB upload with full-size segments: the encapsulated packets would
#     exceed the 1500-byte MTU with DF set, lvsd answers with ICMP
#     "fragmentation needed" (MTU 1480), the client's TCP lowers its path MTU
#     and the upload completes.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/assert.sh
source "$here/lib/assert.sh"
# shellcheck source-path=SCRIPTDIR source=lib/vm.sh
source "$here/lib/vm.sh"
SRC=${LVSD_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
BUILD=${LVSD_BUILD_DIR:-$SRC/build}
LVSD=$BUILD/daemon/lvsd
LVSCTL=$BUILD/daemon/lvsctl

if [[ ${1:-} == --in-vm ]]; then
  modprobe -a veth ipip nfnetlink_queue xt_NFQUEUE iptable_raw iptable_mangle ip6table_raw \
    ip6table_mangle xt_CT xt_addrtype nf_conntrack nf_tables nft_compat 2>/dev/null || true
  WORK=$(mktemp -d)
  ip netns add director
  ip -n director link set lo up
  ip -n director link add br0 type bridge
  ip -n director link set br0 up
  ip -n director addr add 192.0.2.1/24 dev br0
  ip -n director addr add 192.0.2.200/32 dev br0
  ip netns add client
  ip -n client link set lo up
  ip link add c0 netns client type veth peer name dc netns director
  ip -n director link set dc master br0 up
  ip -n client addr add 192.0.2.100/24 dev c0
  ip -n client link set c0 up
  for k in 1 2; do
    ip netns add "rs$k"
    ip -n "rs$k" link set lo up
    ip link add r0 netns "rs$k" type veth peer name "d$k" netns director
    ip -n director link set "d$k" master br0 up
    ip -n "rs$k" addr add "192.0.2.2$k/24" dev r0
    ip -n "rs$k" link set r0 up
    # TUN realserver: decapsulate on tunl0, hold the VIP there, never answer
    # ARP for it, no reverse-path filter on the tunnel.
    ip -n "rs$k" link set tunl0 up
    ip -n "rs$k" addr add 192.0.2.200/32 dev tunl0
    ip netns exec "rs$k" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
      net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0
    mkdir -p "$WORK/www$k/cgi-bin"
    echo "rs$k" >"$WORK/www$k/index.html"
    # The upload target: busybox httpd answers POSTs to a CGI with the size.
    printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "rs%s got $(wc -c)"\n' "$k" \
      >"$WORK/www$k/cgi-bin/up"
    chmod +x "$WORK/www$k/cgi-bin/up"
    ip netns exec "rs$k" busybox httpd -f -p 80 -h "$WORK/www$k" &
  done
  ip netns exec director sysctl -qw net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.br0.send_redirects=0
  cat >"$WORK/lvsd.yaml" <<'YAML'
global: {logging: {target: console, level: info}}
forwarding: {backend: userspace, userspace: {queues: 1}}
services:
  - name: tun
    address: 192.0.2.200
    port: 80
    scheduler: rr
    method: tun
    realservers: [{address: 192.0.2.21}, {address: 192.0.2.22}]
YAML
  ip netns exec director "$LVSD" --config "$WORK/lvsd.yaml" --status-socket "$WORK/s.sock" \
    >"$WORK/lvsd.log" 2>&1 &
  LPID=$!
  # Under TCG the start (iptables-restore) takes seconds: wait for it.
  for _ in $(seq 600); do grep -q 'event=started' "$WORK/lvsd.log" && break; sleep 0.1; done
  grep -q 'event=started' "$WORK/lvsd.log" || { cat "$WORK/lvsd.log"; exit 1; }
  declare -A seen=()
  for _ in $(seq 10); do
    r=$(ip netns exec client curl -s --max-time 3 http://192.0.2.200/ || echo ERR)
    seen[${r:-EMPTY}]=$((${seen[${r:-EMPTY}]:-0} + 1))
  done
  summary=$(for k in "${!seen[@]}"; do echo "$k=${seen[$k]}"; done | sort | tr '\n' ' ')
  [ "$summary" = "rs1=5 rs2=5 " ] || { cat "$WORK/lvsd.log"; echo "spread: $summary"; exit 1; }
  echo "in-vm: TUN rr 10 connections spread $summary"
  head -c 200000 /dev/zero >"$WORK/body"
  up=$(ip netns exec client curl -s --max-time 20 --data-binary @"$WORK/body" \
    -H 'Content-Type: application/octet-stream' http://192.0.2.200/cgi-bin/up || echo ERR)
  eng=$("$LVSCTL" --socket "$WORK/s.sock" --json forwarding | jq -c .engine)
  echo "in-vm: upload answer: $up; engine: $eng"
  case $up in *"got 200000"*) ;; *) cat "$WORK/lvsd.log"; exit 1 ;; esac
  [ "$(jq .too_big <<<"$eng")" -gt 0 ] || { echo "no ICMP fragmentation-needed was sent"; exit 1; }
  kill "$LPID"
  wait "$LPID" || true
  exit 0
fi

[[ $(id -u) -eq 0 ]] || skip "needs root (qemu VM)"
[[ -x $LVSD && -x $LVSCTL ]] || fail "lvsd/lvsctl not built in $BUILD"
vm_run_self 240 "$here/$(basename "${BASH_SOURCE[0]}")"
pass "TUN: IP-in-IP to decapsulating realservers, and ICMP fragmentation-needed on a full-size upload"
