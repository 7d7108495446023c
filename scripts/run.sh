#!/usr/bin/env bash
# The main job: install what is missing, build tarn, and run it.
# Until tarn-fwd lands, the main job is the tarn-info example: it initialises
# tarn, prints the topology and the reserved memory, and exercises a pool.
#   scripts/run.sh [tarn options]    e.g. scripts/run.sh --socket-mem 64
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ ! -d build ]; then meson setup build >/dev/null; fi
ninja -C build >/dev/null
exec build/apps/examples/tarn-info "$@"
