#!/bin/bash
# stage2.sh - PID 1 inside the VM after switch_root (run.sh copies it into the
# run's control share; the initramfs execs it). The root is the host's / (read
# only, 9p) under a tmpfs overlay; /proc /sys /dev /run are mounted.
#
# Runs the control share's job.sh with stdout/stderr into the share, writes
# its exit status to rc, and powers the VM off. Never returns (PID 1).
ctl=${BASH_SOURCE[0]%/*}

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8

halt_now() {
  sync
  busybox poweroff -f 2>/dev/null
  echo o >/proc/sysrq-trigger
  sleep 10
}

{
  read -r up _ </proc/uptime
  echo "lvsd-vm stage2: $up start"
  echo lvsd-vm >/proc/sys/kernel/hostname
  ip link set lo up
  # What tools expect in a fresh /run.
  mkdir -p /run/lock /run/netns
} >>"$ctl/console-stage2.log" 2>&1

# The job gets a clean environment; job.sh exports the caller's LVSD_* vars.
env -i PATH="$PATH" HOME="$HOME" TERM="$TERM" LANG="$LANG" \
  bash "$ctl/job.sh" </dev/null >"$ctl/stdout" 2>"$ctl/stderr" &
job=$!
# PID 1 also reaps orphans; `wait PID` returns the job's own status.
wait "$job"
rc=$?
# run.sh reads rc only after qemu has exited.
echo "$rc" >"$ctl/rc"
halt_now
