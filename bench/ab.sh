#!/usr/bin/env bash
# Usage: bench/ab.sh OLD NEW [BATCH] [ROUNDS] [extra bench flags...]
# Times two senet-gpu commands in interleaved rounds (old, new, old, new, ...) with
# `bench --json` on device 0 and prints each round's medians, their ratio, and the median of
# the per-round ratios: the machine drifts, so only same-round ratios are compared (GUIDE §7).
# OLD and NEW are binaries, or commands split on spaces, e.g. untuned against tuned:
#   bench/ab.sh "env XDG_CACHE_HOME=/tmp/untuned .build/release/senet-gpu" .build/release/senet-gpu 1 5
set -euo pipefail
old="${1:?usage: bench/ab.sh OLD_BINARY NEW_BINARY [BATCH] [ROUNDS]}"
new="${2:?usage: bench/ab.sh OLD_BINARY NEW_BINARY [BATCH] [ROUNDS]}"
batch="${3:-1}"
rounds="${4:-7}"
shift $(($# < 4 ? $# : 4))
median_ms() {
    local command="$1"
    shift
    # shellcheck disable=SC2086 # the command is split on spaces on purpose
    $command bench --device 0 --batch "$batch" --iterations 10 --warmup 2 --no-startup --no-ceiling --json "$@" 2>/dev/null |
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
