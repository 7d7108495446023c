#!/usr/bin/env bash
# The main job: install what is missing, build tarn, and run tarn-fwd on its
# embedded default: two in-memory ring ports cabled together, io forwarding
# seeded with one burst per port, Mpps per port each second for 5 seconds,
# then a summary and a check that every mbuf came back to its pool (exit 1
# if one leaked). No NIC, no hugepages and no other setup needed.
#   scripts/run.sh [tarn-fwd options]   e.g. scripts/run.sh --duration 10 --fwd macswap
#   scripts/run.sh --help               every tarn-fwd option
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ ! -d build ]; then meson setup build >/dev/null; fi
ninja -C build >/dev/null
exec build/apps/tarn-fwd/tarn-fwd "$@"
