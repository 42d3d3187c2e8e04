#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: unit tests, the format
# check, and (as root) the integration tests in network namespaces.
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: not root: integration tests will be skipped" >&2
else
  # Root can make namespaces: a lab test that cannot is a failure, not a skip.
  export LVSD_REQUIRE_NETNS=1
fi
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 600 "$@"
