#!/usr/bin/env bash
# The quick start's main job: build senet-gpu (release) and classify the sample images with
# SE-ResNet-50 on OpenCL device 0. Extra arguments go to `infer`, e.g.
# `scripts/demo.sh --weights seresnet50.safetensors --input photos/`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product senet-gpu >&2
bin=$(swift build -c release --show-bin-path)/senet-gpu
"$bin" devices
if [[ " $* " == *" --input "* ]]; then
    "$bin" infer --device 0 "$@"
else
    "$bin" infer --device 0 --input samples "$@"
fi
