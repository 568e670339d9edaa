#!/usr/bin/env bash
# Usage: bench/ab.sh OLD_BINARY NEW_BINARY [BATCH] [ROUNDS] [extra bench flags...]
# Times two senet-gpu builds in interleaved rounds (old, new, old, new, ...) with
# `bench --json` on device 0 and prints each round's medians, their ratio, and the median of
# the per-round ratios: the machine drifts, so only same-round ratios are compared (GUIDE §7).
set -euo pipefail
old="${1:?usage: bench/ab.sh OLD_BINARY NEW_BINARY [BATCH] [ROUNDS]}"
new="${2:?usage: bench/ab.sh OLD_BINARY NEW_BINARY [BATCH] [ROUNDS]}"
batch="${3:-1}"
rounds="${4:-7}"
shift $(($# < 4 ? $# : 4))
median_ms() {
    local binary="$1"
    shift
    "$binary" bench --device 0 --batch "$batch" --iterations 10 --warmup 2 --no-startup --no-ceiling --json "$@" 2>/dev/null |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["medianMs"])'
}
ratios=()
for round in $(seq 1 "$rounds"); do
    a=$(median_ms "$old" "$@")
    b=$(median_ms "$new" "$@")
    ratio=$(python3 -c "print(f'{$b / $a:.3f}')")
    ratios+=("$ratio")
    echo "batch $batch round $round: old $a ms, new $b ms, new/old $ratio"
done
python3 -c "import statistics, sys; print(f'median new/old over $rounds rounds: {statistics.median(map(float, sys.argv[1:])):.3f}')" "${ratios[@]}"
