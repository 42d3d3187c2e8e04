#!/usr/bin/env bash
# lvsd's schedulers pick as the kernel's ip_vs does: inside the qemu VM
# (tests/vm/run.sh, Debian's kernel with every ip_vs scheduler), each section
# of tests/integration/data/scheduler-xcheck.seq is played against a real
# ip_vs NAT service (real TCP connections from a client namespace to three
# realserver namespaces: long-lived ones held open by busybox nc for the
# connection-counting schedulers, short HTTP requests from 12 client addresses
# for the hashing ones) and fed to lvsd's scheduler (lvsd_sched_replay). The
# realserver chosen for every connection must be the same, and so must the
# per-destination ActiveConn/InActConn at each 'counts' line.
# Schedulers: rr wrr lc wlc sed nq fo ovf, plus sh and mh (mh with fallback,
# the kernel's 4093-slot table and list order), which must agree bit for bit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/assert.sh
source "$here/lib/assert.sh"
# shellcheck source-path=SCRIPTDIR source=lib/vm.sh
source "$here/lib/vm.sh"
SRC=${LVSD_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
BUILD=${LVSD_BUILD_DIR:-$SRC/build}
REPLAY=$BUILD/forwarding/schedulers/lvsd_sched_replay
SEQ=$here/data/scheduler-xcheck.seq
VIP=192.0.2.200

# Sections of the sequence file: prints section N (1-based), "scheduler" line first.
section() {
  awk -v n="$1" '/^scheduler /{k++} k==n && !/^#/ && NF' "$SEQ"
}

# --- inside the VM -----------------------------------------------------------
if [[ ${1:-} == --in-vm ]]; then
  modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sed ip_vs_nq ip_vs_fo \
    ip_vs_ovf ip_vs_sh ip_vs_mh veth
  OUT=${LVSD_VM_OUT:-/tmp}
  WORK=$(mktemp -d)

  # client --- director --- rs1, rs2, rs3 (a bridge in the director's namespace)
  for ns in client director rs1 rs2 rs3; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip link add c0 netns client type veth peer name d0 netns director
  ip -n director link add br0 type bridge
  ip -n director link set br0 up
  for k in 1 2 3; do
    ip link add r0 netns "rs$k" type veth peer name "d$k" netns director
    ip -n director link set "d$k" master br0 up
    ip -n "rs$k" addr add "192.0.2.2$k/24" dev r0
    ip -n "rs$k" link set r0 up
    ip -n "rs$k" route add default via 192.0.2.1
    mkdir -p "$WORK/www$k"
    echo "rs$k" >"$WORK/www$k/index.html"
    ip netns exec "rs$k" busybox httpd -p 80 -h "$WORK/www$k"
    # Port 9000: say who we are, then hold the connection until the client closes.
    printf '#!/bin/sh\necho rs%s\nexec cat >/dev/null\n' "$k" >"$WORK/banner$k.sh"
    chmod +x "$WORK/banner$k.sh"
    ip netns exec "rs$k" busybox nc -ll -p 9000 -e "$WORK/banner$k.sh" &
  done
  ip -n client addr add 198.51.100.2/24 dev c0
  for i in $(seq 10 21); do ip -n client addr add "198.51.100.$i/24" dev c0; done
  ip -n client link set c0 up
  ip -n client route add default via 198.51.100.1
  ip -n director addr add 198.51.100.1/24 dev d0
  ip -n director link set d0 up
  ip -n director addr add 192.0.2.1/24 dev br0
  ip -n director addr add "$VIP/32" dev lo
  ip netns exec director sysctl -qw net.ipv4.ip_forward=1
  ipvs() { ip netns exec director ipvsadm "$@"; }
  for k in 1 2 3; do # the realservers listen
    for _ in $(seq 50); do
      ip netns exec "rs$k" busybox netstat -ltn | grep -q ':9000 ' && break
      sleep 0.1
    done
  done

  # Plays one section against ip_vs on VIP:port; prints what lvsd_sched_replay
  # prints for the same lines.
  play_kernel() { # PORT < section
    local port=$1 cmd rest ep attrs w u l rport=0 body
    declare -A pid=()
    while read -r cmd rest; do
      case $cmd in
        scheduler)
          read -r -a f <<<"$rest"
          local opts=()
          for x in "${f[@]:1}"; do
            case $x in
              fallback) opts+=(-b "${f[0]}-fallback") ;;
              port) opts+=(-b "${f[0]}-port") ;;
            esac
          done
          ipvs -A -t "$VIP:$port" -s "${f[0]}" "${opts[@]}"
          ;;
        add | edit | del)
          read -r ep attrs <<<"$rest"
          rport=${ep##*:}
          if [[ $cmd == del ]]; then
            ipvs -d -t "$VIP:$port" -r "$ep"
            continue
          fi
          w=1 u=0 l=0
          for x in $attrs; do
            case $x in weight=*) w=${x#*=} ;; upper=*) u=${x#*=} ;; lower=*) l=${x#*=} ;; esac
          done
          ipvs "-${cmd:0:1}" -t "$VIP:$port" -r "$ep" -m -w "$w" -x "$u" -y "$l"
          ;;
        open)
          read -r id src <<<"$rest"
          if [[ -n ${src:-} ]]; then
            body=$(ip netns exec client curl -fsS --max-time 5 --interface "$src" "http://$VIP:$port/" || echo none)
          else
            mkfifo "$WORK/in.$id"
            ip netns exec client busybox nc "$VIP" "$port" <>"$WORK/in.$id" >"$WORK/out.$id" 2>/dev/null &
            pid[$id]=$!
            body=none
            for _ in $(seq 100); do
              if [[ -s $WORK/out.$id ]]; then
                body=$(head -n1 "$WORK/out.$id")
                break
              fi
              sleep 0.05
            done
          fi
          case $body in
            rs[123]) echo "$id 192.0.2.2${body#rs}:$rport" ;;
            *) echo "$id none" ;;
          esac
          ;;
        close)
          read -r id <<<"$rest"
          if [[ -n ${pid[$id]:-} ]]; then
            kill "${pid[$id]}" 2>/dev/null || true
            wait "${pid[$id]}" 2>/dev/null || true
            unset "pid[$id]"
            sleep 0.1 # FIN through the director
          fi
          ;;
        counts)
          ipvs -Ln --nosort -t "$VIP:$port" | awk '$1 == "->" && $2 ~ /^[0-9]/ {print $2, $5, $6}'
          ;;
      esac
    done
    for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done
  }

  nsec=$(grep -c '^scheduler ' "$SEQ")
  summary=()
  bad=0
  for n in $(seq "$nsec"); do
    section "$n" >"$WORK/sec$n"
    name=$(head -n1 "$WORK/sec$n" | cut -d' ' -f2-)
    port=$((8000 + n))
    kernel=$(play_kernel "$port" <"$WORK/sec$n")
    lvsd=$("$REPLAY" <"$WORK/sec$n")
    printf '%s\n' "$kernel" >"$OUT/kernel.$n"
    printf '%s\n' "$lvsd" >"$OUT/lvsd.$n"
    # Per-dest pick counts, kernel vs lvsd.
    tally() { awk 'NF == 2 {c[$2]++} END {for (d in c) print d "=" c[d]}' | sort | paste -sd' '; }
    line=$(printf '%-24s kernel: %s | lvsd: %s' "$name" "$(tally <<<"$kernel")" "$(tally <<<"$lvsd")")
    summary+=("$line")
    if [[ $kernel == "$lvsd" ]]; then
      pass "$name: same realserver for all $(grep -c '^open' "$WORK/sec$n") connections, same counts"
    else
      bad=1
      printf 'not ok - %s: kernel and lvsd differ\n' "$name"
      diff "$OUT/kernel.$n" "$OUT/lvsd.$n" | sed 's/^/#   /' | head -20 || true
    fi
    ipvs -D -t "$VIP:$port"
  done
  printf '# %s\n' "${summary[@]}"
  printf '%s\n' "${summary[@]}" >"$OUT/summary"
  exit "$bad"
fi

# --- on the host -------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || skip "needs root (qemu VM)"
[[ -x $REPLAY ]] || fail "lvsd_sched_replay not built in $BUILD"

vm_run_self 540 "$here/$(basename "${BASH_SOURCE[0]}")"
pass "lvsd's schedulers agree with the kernel's ip_vs"
