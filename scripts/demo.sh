#!/usr/bin/env bash
# The quick start's main job: build senet-gpu (release) and classify with SE-ResNet-50 on
# OpenCL device 0. Extra arguments go to `infer` (e.g. --weights W.safetensors --input x.npy).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product senet-gpu >&2
bin=$(swift build -c release --show-bin-path)/senet-gpu
"$bin" devices
"$bin" infer --device 0 "$@"
