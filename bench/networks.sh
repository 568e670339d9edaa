#!/usr/bin/env bash
# Whole networks of the family in interleaved rounds: SE-ResNet-50, SE-ResNeXt-50 32x4d (about
# the same MACs, grouped 3x3s) and SENet-154 (5x the MACs). One line per model per round:
# round, model, median ms, GMACs per image, GFLOP/s. Synthetic weights, batch 1, 224x224.
# usage: bench/networks.sh [DEVICE] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
device=${1:-0}
rounds=${2:-5}
bin=.build/release/senet-gpu
[ -x "$bin" ] || swift build -c release --product senet-gpu
for round in $(seq "$rounds"); do
    for model in seresnet50 seresnext50_32x4d legacy_senet154; do
        "$bin" bench --device "$device" --model "$model" --no-startup --no-ceiling --iterations 5 --warmup 2 --json 2>/dev/null |
            python3 -c "import json, sys; d = json.load(sys.stdin); print($round, d['model'], round(d['medianMs'], 2), round(d['gmacsPerImage'], 3), round(d['gflops'], 1))"
    done
done
