#!/usr/bin/env bash
# The quick start's main job: build senet-gpu (release), list the OpenCL devices and check
# every kernel on device 0 against the CPU reference. Extra arguments go to the self-check.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product senet-gpu >&2
bin=$(swift build -c release --show-bin-path)/senet-gpu
"$bin" devices
"$bin" selfcheck --device 0 "$@"
