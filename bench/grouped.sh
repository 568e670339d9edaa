#!/usr/bin/env bash
# Grouped 3x3 convolutions (SE-ResNeXt-50 32x4d's conv2 of stages 1 and 3) beside an ungrouped
# 3x3 of the same multiply-accumulates and output size, and beside SE-ResNet-50's conv2 of the
# same stage, in interleaved rounds (ratios are per round, to the grouped layer).
# usage: bench/grouped.sh [DEVICE] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
device=${1:-0}
rounds=${2:-5}
bin=.build/release/senet-gpu
[ -x "$bin" ] || swift build -c release --product senet-gpu
# stage 1, 56x56: 128 ch in 32 groups of 4 | 32->16 (same MACs) | SE-ResNet-50's 64->64 (8x the MACs)
"$bin" bench --device "$device" --rounds "$rounds" --conv 128,128,3,1,56x56,32 --conv 32,16,3,1,56x56 --conv 64,64,3,1,56x56
# stage 3, 14x14: 512 ch in 32 groups of 16 | 128->64 (same MACs) | SE-ResNet-50's 256->256 (8x)
"$bin" bench --device "$device" --rounds "$rounds" --conv 512,512,3,1,14x14,32 --conv 128,64,3,1,14x14 --conv 256,256,3,1,14x14
