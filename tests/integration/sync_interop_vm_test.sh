#!/usr/bin/env bash
# Connection sync between lvsd's userspace engine and the kernel's own ip_vs
# sync daemons, both directions at once, inside the VM (Debian's kernel).
#
#   client c --br0-- director b: lvsd, backend userspace, sync role both
#                      |   \-- rs 192.0.2.21 (echo on :80 and :82)
#                      | a0/b0 10.0.0.0/24 (the sync link)
#                    kernel a: ip_vs + `ipvsadm --start-daemon master|backup`
#
#  - lvsd -> kernel: N connections from the client through lvsd (NAT, :80);
#    the kernel's backup daemon in `a` shows them in `ipvsadm -Lnc`.
#  - kernel -> lvsd: N connections that `a` itself opens through its own
#    ip_vs (NAT, :82); lvsd's receiver applies the kernel master's entries to
#    its table (its service for :82 exists, so they bind to it).
#  - lvsd with the ip_vs backend starts the kernel's master sync daemon when
#    its VRRP instance becomes MASTER, and stops it when lvsd stops.
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
HOLDER=$BUILD/tests/conn_holder
N=20

if [[ ${1:-} == --in-vm ]]; then
  modprobe -a veth ip_vs ip_vs_rr nfnetlink_queue xt_NFQUEUE iptable_raw iptable_mangle \
    ip6table_raw ip6table_mangle xt_CT xt_addrtype nf_conntrack nf_tables nft_compat 2>/dev/null || true
  WORK=$(mktemp -d)
  for ns in a b c rs; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip -n b link add br0 type bridge
  ip -n b link set br0 up
  ip -n b addr add 192.0.2.1/24 dev br0
  ip -n b addr add 192.0.2.200/32 dev br0
  ip link add c0 netns c type veth peer name vcl netns b
  ip link add r0 netns rs type veth peer name vrs netns b
  ip -n b link set vcl master br0 up
  ip -n b link set vrs master br0 up
  ip -n c addr add 192.0.2.100/24 dev c0
  ip -n c link set c0 up
  ip -n rs addr add 192.0.2.21/24 dev r0
  ip -n rs link set r0 up
  ip -n rs route add default via 192.0.2.1
  # replies to the client go back through the director, not across the bridge
  ip -n rs route add 192.0.2.100/32 via 192.0.2.1
  ip link add a0 netns a type veth peer name b0 netns b
  ip -n a addr add 10.0.0.1/24 dev a0
  ip -n b addr add 10.0.0.2/24 dev b0
  ip -n a link set a0 up
  ip -n b link set b0 up
  ip -n a route add 192.0.2.0/24 via 10.0.0.2
  ip netns exec b sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
    net.ipv4.conf.br0.send_redirects=0
  for p in 80 82; do
    ip netns exec rs socat TCP-LISTEN:$p,reuseaddr,fork,backlog=256 EXEC:cat &
  done

  # The kernel side: the same :80 service (so the backup binds the entries to
  # a dest), its own :82 service, both sync daemons.
  ip netns exec a ipvsadm -A -t 192.0.2.200:80 -s rr
  ip netns exec a ipvsadm -a -t 192.0.2.200:80 -r 192.0.2.21:80 -m
  ip netns exec a ipvsadm -A -t 192.0.2.200:82 -s rr
  ip netns exec a ipvsadm -a -t 192.0.2.200:82 -r 192.0.2.21:82 -m
  ip netns exec a ipvsadm --start-daemon master --mcast-interface a0 --syncid 0
  ip netns exec a ipvsadm --start-daemon backup --mcast-interface a0 --syncid 0

  cat >"$WORK/lvsd.yaml" <<'YAML'
global: {logging: {target: console, level: info}}
forwarding: {backend: userspace, userspace: {queues: 1}}
services:
  - {name: nat80, address: 192.0.2.200, port: 80, scheduler: rr, method: nat,
     realservers: [{address: 192.0.2.21}]}
  - {name: dr82, address: 192.0.2.200, port: 82, scheduler: rr, method: dr,
     realservers: [{address: 192.0.2.21}]}
sync:
  interface: b0
  role: both
YAML
  ip netns exec b "$LVSD" --config "$WORK/lvsd.yaml" --status-socket "$WORK/s.sock" \
    >"$WORK/lvsd.log" 2>&1 &
  LPID=$!
  for _ in $(seq 600); do grep -q 'event=started' "$WORK/lvsd.log" && break; sleep 0.1; done
  grep -q 'event=started' "$WORK/lvsd.log" || { cat "$WORK/lvsd.log"; exit 1; }
  ctl() { "$LVSCTL" --socket "$WORK/s.sock" "$@"; }

  # lvsd -> kernel
  ip netns exec c "$HOLDER" 192.0.2.200 80 "$N" "$WORK/go" 60 >"$WORK/c.out" 2>&1 &
  CPID=$!
  # kernel -> lvsd (a's own connections through its ip_vs)
  ip netns exec a "$HOLDER" 192.0.2.200 82 "$N" "$WORK/go" 60 >"$WORK/a.out" 2>&1 &
  APID=$!
  for _ in $(seq 300); do
    grep -q ready "$WORK/c.out" 2>/dev/null && grep -q ready "$WORK/a.out" 2>/dev/null && break
    sleep 0.1
  done
  echo "in-vm: client holder: $(cat "$WORK/c.out"); a holder: $(cat "$WORK/a.out")"
  ok=1
  for _ in $(seq 40); do
    k=$(ip netns exec a ipvsadm -Lnc | grep -c '192.0.2.100:.*192.0.2.200:80 *192.0.2.21:80' || true)
    l=$(ctl --json sync | jq '.engine.applied')
    [ "$k" -ge "$N" ] && [ "$l" -ge "$N" ] && break
    sleep 0.2
  done
  echo "in-vm: kernel backup holds $k of lvsd's $N connections (ipvsadm -Lnc):"
  ip netns exec a ipvsadm -Lnc | grep '192.0.2.100:' | head -3
  echo "in-vm: lvsd applied $l entries from the kernel master; sync: $(ctl --json sync | jq -c '{received, drops, engine}')"
  [ "$k" -ge "$N" ] || ok=0
  [ "$l" -ge "$N" ] || ok=0
  # The kernel's entries for lvsd's connections are ESTABLISHED, as sent.
  est=$(ip netns exec a ipvsadm -Lnc | grep '192.0.2.100:' | grep -c ESTABLISHED || true)
  echo "in-vm: of them ESTABLISHED: $est"
  [ "$est" -ge "$N" ] || ok=0
  touch "$WORK/go"
  wait "$CPID" || true
  wait "$APID" || true
  kill "$LPID"
  wait "$LPID" || true
  [ "$ok" = 1 ] || { tail -30 "$WORK/lvsd.log"; exit 1; }

  # lvsd with the ip_vs backend drives the kernel's own sync daemon: master
  # while its VRRP instance is MASTER, stopped when lvsd stops.
  ip netns add k
  ip netns add kp
  ip -n k link set lo up
  ip link add k0 netns k type veth peer name kp0 netns kp
  ip -n k addr add 10.1.0.1/24 dev k0
  ip -n kp addr add 10.1.0.2/24 dev kp0
  ip -n k link set k0 up
  ip -n kp link set kp0 up
  cat >"$WORK/k.yaml" <<'YAML'
global: {logging: {target: console, level: info}}
forwarding: {backend: ipvs}
services:
  - {name: web, address: 10.1.0.100, port: 80, scheduler: rr, realservers: [{address: 10.1.0.2}]}
vrrp:
  instances:
    - {name: VI_K, interface: k0, vrid: 7, version: 3, priority: 150, advert_interval: 100ms,
       virtual_addresses: [10.1.0.100/24]}
sync:
  interface: k0
  syncid: 5
  role: {follow: VI_K}
YAML
  ip netns exec k "$LVSD" --config "$WORK/k.yaml" --status-socket "$WORK/k.sock" >"$WORK/k.log" 2>&1 &
  KPID=$!
  daemons=""
  for _ in $(seq 300); do
    daemons=$(ip netns exec k ipvsadm -L --daemon 2>/dev/null || true)
    case $daemons in *master*) break ;; esac
    sleep 0.1
  done
  echo "in-vm: kernel sync daemons under lvsd (ip_vs backend): ${daemons:-none}"
  case $daemons in *"master sync daemon (mcast=k0, syncid=5"*) ;; *) tail -30 "$WORK/k.log"; exit 1 ;; esac
  "$LVSCTL" --socket "$WORK/k.sock" --json sync | jq -c '{backend, vrrp_state, kernel_daemons}'
  kill "$KPID"
  wait "$KPID" || true
  daemons=$(ip netns exec k ipvsadm -L --daemon 2>/dev/null || true)
  [ -z "$daemons" ] || { echo "sync daemon left running after lvsd stopped: $daemons"; exit 1; }
  echo "in-vm: lvsd stopped, no kernel sync daemon left"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || skip "needs root (qemu VM)"
[[ -x $LVSD && -x $LVSCTL && -x $HOLDER ]] || fail "lvsd/lvsctl/conn_holder not built in $BUILD"
vm_run_self 280 "$here/$(basename "${BASH_SOURCE[0]}")"
pass "sync interoperates with the kernel's daemons both ways, and lvsd (ip_vs backend) drives the kernel's sync daemon"
