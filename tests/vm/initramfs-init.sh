#!/bin/busybox sh
# Stage 1 (initramfs, busybox): mount the host's / (9p, read-only) under a
# tmpfs-backed overlay, mount the run's control share, switch into it and run
# stage 2 (bash, from the control share). Parameters come from the kernel
# command line as environment: lvsd_ctl, lvsd_out, lvsd_mods, lvsd_kver.
# Progress marks (uptime) go to the console (run.sh: LVSD_VM_CONSOLE=1).
# shellcheck shell=sh
# shellcheck disable=SC2154 # lvsd_* come from the kernel command line
/bin/busybox --install -s /bin
export PATH=/bin
mark() { read -r up _ </proc/uptime; echo "lvsd-vm init: $up $*"; }
die() {
  echo "lvsd-vm init: $*"
  poweroff -f
  sleep 5
}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do
  insmod "/lib/modules/$m" || die "insmod $m failed"
done </lib/modules/load.order
mark modules loaded

o9p=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$o9p,ro,cache=loose" hostroot /lower || die "mounting the host's / failed"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
  die "overlay mount failed"
mark root mounted

n=/newroot
mount -t proc proc $n/proc
mount -t sysfs sysfs $n/sys
mount -t devtmpfs devtmpfs $n/dev
mkdir -p $n/dev/pts $n/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $n/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $n/dev/shm
mount -t tmpfs -o mode=0755 tmpfs $n/run
# /tmp stays the overlay's: the host's /tmp shows through (a build tree or
# cwd there must be visible) and writes land in the tmpfs upper layer.
mountpoint -q $n/sys/fs/cgroup 2>/dev/null || mount -t cgroup2 cgroup2 $n/sys/fs/cgroup 2>/dev/null

mkdir -p "$n$lvsd_ctl"
mount -t 9p -o "$o9p,rw,cache=none" lvsdctl "$n$lvsd_ctl" || die "mounting the control share failed"
if [ -n "$lvsd_out" ]; then
  mkdir -p "$n$lvsd_out"
  mount -t 9p -o "$o9p,rw,cache=none" lvsdout "$n$lvsd_out" || die "mounting the results share failed"
fi
if [ -n "$lvsd_mods" ] && [ -d "$n$lvsd_mods" ]; then
  mkdir -p "$n/lib/modules/$lvsd_kver"
  mount --bind "$n$lvsd_mods" "$n/lib/modules/$lvsd_kver"
fi

mark switching root
umount /proc /sys /dev 2>/dev/null
# shellcheck disable=SC2093 # exec fails only when switch_root does
exec switch_root $n /bin/bash "$lvsd_ctl/stage2.sh"
die "switch_root failed"
