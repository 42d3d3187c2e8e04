#!/usr/bin/env bash
# Installs dependencies (apt, idempotent) and builds lvsd into ./build.
# Env: BUILD_DIR (default build), BUILD_TYPE (default RelWithDebInfo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DLVSD_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
