#!/usr/bin/env bash
# Installs everything lvsd needs to build, test and run its lab on Debian 12.
# Idempotent: when every package is already there it prints nothing and exits 0.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake pkg-config clang-format
  # libraries
  libboost-dev libnl-3-dev libnl-genl-3-dev libnl-route-3-dev libyaml-cpp-dev
  libssl-dev libcurl4-openssl-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libbenchmark-dev nlohmann-json3-dev libcli11-dev libsystemd-dev
  libnetfilter-queue-dev libmnl-dev
  # lab and runtime tools
  iproute2 iptables ipset nginx-light curl procps systemd jq util-linux socat tcpdump tshark keepalived wrk haproxy
  # the real-ip_vs test VM (Debian's own kernel under qemu TCG) and its peers
  qemu-system-x86 busybox-static kmod xz-utils cpio ipvsadm
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages' own services are not wanted: tests and the demo run their own
# instances inside network namespaces.
for svc in nginx haproxy keepalived; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
    systemctl disable "$svc" >/dev/null 2>&1 || true
  fi
done
