#!/usr/bin/env bash
# prepare.sh - build (once) what tests/vm/run.sh boots: Debian 12's generic
# amd64 kernel as an uncompressed vmlinux (booted through qemu's PVH entry) and
# a busybox-static initramfs carrying the virtio/9p/overlay modules.
#
# Cache layout (LVSD_VM_CACHE, default /var/cache/lvsd-vm):
#   linux-image-<kver>_<ver>_amd64.deb   the package, from `apt-get download`
#   <kver>/root/                         the package extracted (depmod run)
#   <kver>/vmlinux                       ELF kernel with a PVH note
#   <kver>/initramfs.cpio.gz             busybox + modules + /init
#                                        (/init is initramfs-init.sh)
#   <kver>/stamp                         checksum of the scripts when built
#   current -> <kver>                    what run.sh boots
#
# Prints nothing when everything is ready (and this script is unchanged since
# the initramfs was built). Progress goes to stderr. Exits 77 with a message
# when qemu, busybox-static, kmod or the kernel package cannot be had.
#
# Knobs:
#   LVSD_VM_CACHE       cache directory
#   LVSD_VM_KERNEL_DEB  use this linux-image-*.deb instead of downloading
#                       (for offline machines)
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${LVSD_VM_CACHE:-/var/cache/lvsd-vm}

skip() {
  echo "lvsd-vm: SKIP: $*" >&2
  exit 77
}
note() { echo "lvsd-vm: $*" >&2; }

# Tools the VM needs on this host (the guest runs the host's own binaries).
need_tools() {
  local t missing=()
  for t in qemu-system-x86_64 busybox modprobe depmod xz cpio gzip dpkg-deb flock; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  [[ ${#missing[@]} -eq 0 ]] ||
    skip "missing ${missing[*]} (Debian: apt-get install qemu-system-x86 busybox-static kmod xz-utils cpio util-linux)"
  # The initramfs has no libc: busybox must be the static build.
  local bb
  bb=$(command -v busybox)
  if LC_ALL=C ldd "$bb" >/dev/null 2>&1; then
    skip "$bb is dynamically linked; install busybox-static"
  fi
}

# The initramfs is rebuilt whenever this script or its /init changes.
self_sum() { cat "$here/prepare.sh" "$here/initramfs-init.sh" | cksum | cut -d' ' -f1; }

is_ready() {
  local d=$cache/current
  [[ -s $d/vmlinux && -s $d/initramfs.cpio.gz && -s $d/stamp ]] &&
    [[ -d $d/root/lib/modules && $(cat "$d/stamp") == "$(self_sum)" ]]
}

need_tools
if is_ready; then
  exit 0
fi

mkdir -p "$cache" 2>/dev/null || skip "cannot create $cache (run once as root, or set LVSD_VM_CACHE)"
[[ -w $cache ]] || skip "$cache is not writable (run once as root, or set LVSD_VM_CACHE)"
cache=$(cd "$cache" && pwd -P)

exec 9>"$cache/.lock"
flock -w 600 9 || skip "timed out waiting for the lock on $cache/.lock"
# Another process may have finished the job while we waited.
if is_ready; then
  exit 0
fi

# --- the kernel package ------------------------------------------------------
# linux-image-amd64 depends on the exact versioned generic image, e.g.
# linux-image-6.1.0-56-amd64 (not -cloud-amd64: that flavour lacks 9p).
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}

deb=${LVSD_VM_KERNEL_DEB:-}
if [[ -z $deb ]]; then
  # Reuse a package already downloaded (works offline).
  deb=$(find "$cache" -maxdepth 1 -name 'linux-image-[0-9]*-amd64_*_amd64.deb' \
    ! -name '*cloud*' 2>/dev/null | sort -V | tail -n1)
fi
if [[ -z $deb ]]; then
  command -v apt-get >/dev/null 2>&1 || skip "no apt-get to fetch the kernel (set LVSD_VM_KERNEL_DEB)"
  pkg=$(kernel_pkg)
  if [[ -z $pkg ]]; then
    [[ $(id -u) -eq 0 ]] || skip "apt knows no linux-image-amd64; run as root (apt-get update)"
    note "apt-get update"
    timeout 300 apt-get update -qq >/dev/null 2>&1 || skip "apt-get update failed"
    pkg=$(kernel_pkg)
    [[ -n $pkg ]] || skip "apt knows no linux-image-amd64 dependency"
  fi
  note "downloading $pkg"
  if ! log=$(cd "$cache" && timeout 600 apt-get download -q "$pkg" 2>&1); then
    echo "$log" >&2
    skip "apt-get download $pkg failed"
  fi
  deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*_amd64.deb" | sort -V | tail -n1)
  [[ -n $deb ]] || skip "apt-get download $pkg produced no .deb"
fi
[[ -r $deb ]] || skip "cannot read $deb"

# --- extract -----------------------------------------------------------------
kver=$(dpkg-deb -c "$deb" | sed -n 's#.*\./boot/vmlinuz-\(.*\)$#\1#p' | head -n1)
[[ -n $kver ]] || skip "$deb has no /boot/vmlinuz-*"
[[ $kver != *cloud* ]] || skip "$deb is the -cloud flavour (no 9p); use the generic amd64 image"
dir=$cache/$kver
if [[ ! -s $dir/root/lib/modules/$kver/modules.dep ]]; then
  note "extracting $(basename "$deb")"
  rm -rf "$dir"
  mkdir -p "$dir.tmp"
  rm -rf "$dir.tmp/root"
  dpkg-deb -x "$deb" "$dir.tmp/root"
  depmod -b "$dir.tmp/root" "$kver"
  mv "$dir.tmp" "$dir"
fi
# --- vmlinux -----------------------------------------------------------------
# As the kernel's scripts/extract-vmlinux: find a compressed stream's magic in
# the bzImage and decompress from there; keep the first result that is ELF.
extract_vmlinux() {
  local img=$1 out=$2 magic prog off
  local -a methods=(
    '\xfd7zXZ\x00|xz -dc --single-stream'
    '\x1f\x8b\x08|gzip -dc'
    '\x28\xb5\x2f\xfd|zstd -dcq'
  )
  for m in "${methods[@]}"; do
    magic=${m%%|*}
    prog=${m#*|}
    command -v "${prog%% *}" >/dev/null 2>&1 || continue
    for off in $(grep -obUaP "$magic" "$img" | cut -d: -f1 | head -n 20); do
      # shellcheck disable=SC2086 # prog holds a command and its options
      tail -c +$((off + 1)) "$img" | $prog >"$out" 2>/dev/null || true
      if [[ $(head -c 4 "$out" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
        return 0
      fi
    done
  done
  rm -f "$out"
  return 1
}

if [[ ! -s $dir/vmlinux ]]; then
  note "extracting vmlinux"
  extract_vmlinux "$dir/root/boot/vmlinuz-$kver" "$dir/vmlinux.tmp" ||
    skip "cannot extract vmlinux from vmlinuz-$kver"
  grep -q CONFIG_PVH=y "$dir/root/boot/config-$kver" ||
    skip "kernel $kver has no PVH entry (CONFIG_PVH)"
  mv "$dir/vmlinux.tmp" "$dir/vmlinux"
fi

# --- initramfs ---------------------------------------------------------------
# Only what mounting the host's / needs; everything else (ip_vs, veth, ...) is
# loaded later from $mods, which the guest sees through that very mount.
boot_modules=(virtio_pci 9pnet_virtio 9p overlay)
ird=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-vm-initrd.XXXXXX")
trap 'rm -rf -- "$ird"' EXIT
mkdir -p "$ird"/{bin,dev,proc,sys,lower,rw,newroot,lib/modules}
cp "$(command -v busybox)" "$ird/bin/busybox"
: >"$ird/lib/modules/load.order"
for m in "${boot_modules[@]}"; do
  while read -r verb path _; do
    [[ $verb == insmod ]] || continue
    name=$(basename "$path")
    grep -qxF "$name" "$ird/lib/modules/load.order" && continue
    cp "$path" "$ird/lib/modules/$name"
    echo "$name" >>"$ird/lib/modules/load.order"
  done < <(modprobe -d "$dir/root" -S "$kver" --show-depends "$m")
done

cp "$here/initramfs-init.sh" "$ird/init"
chmod 0755 "$ird/init"

note "building initramfs for $kver"
(cd "$ird" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$dir/initramfs.cpio.gz.tmp"
mv "$dir/initramfs.cpio.gz.tmp" "$dir/initramfs.cpio.gz"
self_sum >"$dir/stamp"
ln -sfn "$kver" "$cache/current.tmp"
mv -T "$cache/current.tmp" "$cache/current"
note "ready: $dir"
