# shellcheck shell=bash
# scale_services N BASE_PORT PER_SERVICE [CHECK [LAST_WEIGHT]]: the services
# part of an lvsd config for the scale benchmarks (checker_scale.sh,
# reconcile_scale.sh): N NAT realservers on 127.0.0.1:BASE_PORT.., PER_SERVICE
# per service (svc0 on 198.51.0.1:80, svc1 on 198.51.0.2:80, ...), each
# service using check CHECK when given, the last realserver with weight
# LAST_WEIGHT when given. Prints YAML starting with "services:".
scale_services() {
  local n=$1 base=$2 per=$3 check=${4:-} last_weight=${5:-} i s
  echo "services:"
  for ((i = 0; i < n; i++)); do
    if ((i % per == 0)); then
      s=$((i / per))
      echo "  - name: svc$s"
      echo "    address: 198.51.$((s / 250)).$((s % 250 + 1))"
      echo "    port: 80"
      echo "    protocol: tcp"
      echo "    scheduler: wlc"
      echo "    method: nat"
      [[ -n $check ]] && echo "    check: $check"
      echo "    realservers:"
    fi
    if [[ -n $last_weight ]] && ((i == n - 1)); then
      echo "      - {address: 127.0.0.1, port: $((base + i)), weight: $last_weight}"
    else
      echo "      - {address: 127.0.0.1, port: $((base + i))}"
    fi
  done
}
