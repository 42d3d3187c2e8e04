# shellcheck shell=bash
# Shared by the VRRP lab tests (vrrp_*_test.sh): the binaries they run and the
# client-side probe helpers. Source after lib/lab.sh and lib/assert.sh, with
# BUILD set. The directors answer vrrp_probe on UDP $PORT.
LVSD=$BUILD/daemon/lvsd
LVSCTL=$BUILD/daemon/lvsctl
PROBE=$BUILD/tests/bench/vrrp_probe
for b in "$LVSD" "$LVSCTL" "$PROBE"; do
  [ -x "$b" ] || fail "$b not built in $BUILD"
done
PORT=7777

ctl() { "$LVSCTL" --socket "$LAB_DIR/$1.sock" "${@:2}"; }
now_ns() { date +%s%N; }
# probe TARGET UNTIL MAX_MS [COUNT]: prints vrrp_probe's summary line.
probe() { lab_exec client "$PROBE" probe "$1" "$PORT" 10 "$3" "$2" "${4:-1}"; }
# field SUMMARY KEY: one key=value of that line.
field() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }
# answered_by TARGET NAME: the VIP answers from NAME (3 answers in a row).
answered_by() { [ "$(field "$(probe "$1" "$2" 1000 3)" until_reached)" = 1 ]; }
# check_switch OUT UNTIL T0 BOUND_MS LABEL: the prober's output OUT reached
# UNTIL within BOUND_MS of T0 (ns); prints and asserts it.
check_switch() {
  local out=$1 until=$2 t0=$3 bound=$4 label=$5 first ms
  [ "$(field "$out" until_reached)" = 1 ] || fail "$label: $until never answered" "$out"
  first=$(field "$out" first_until_ns)
  ms=$(((first - t0) / 1000000))
  echo "# switch-over $label: ${ms} ms (bound ${bound} ms) [$out]"
  ((ms <= bound)) || fail "$label: took ${ms} ms, bound ${bound} ms" "$out"
  pass "$label: $until answers after ${ms} ms"
}
