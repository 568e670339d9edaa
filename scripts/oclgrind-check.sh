#!/usr/bin/env bash
# Runs the kernels under Oclgrind, a simulator that reports itself as a GPU and checks every
# memory access and barrier: `selfcheck` (every kernel of both families) and a whole-network
# `compare` of a basic-block and a bottleneck model at 32×32 with each kernel family, then the
# same in fp16 (half storage; half arithmetic too where Oclgrind offers cl_khr_fp16; two layers
# kept in fp32, so the mixed-precision casts run too). Fails when a run fails or Oclgrind
# reports anything (out-of-bounds access, data race, API misuse).
# Usage: scripts/oclgrind-check.sh [senet-gpu binary]
set -uo pipefail
cd "$(dirname "$0")/.."
bin="${1:-$(swift build -c release --show-bin-path)/senet-gpu}"
[[ -x "$bin" ]] || { echo "no senet-gpu binary at $bin; build it first" >&2; exit 2; }
if ! command -v oclgrind >/dev/null; then
    echo "installing oclgrind" >&2
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends oclgrind >/dev/null ||
        { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends oclgrind >/dev/null; }
fi
logs=$(mktemp -d)
# The int8 run's scales, measured on the CPU reference (seconds, no OpenCL).
"$bin" calibrate --device cpu --model seresnet18 --size 32 --out "$logs/seresnet18.int8.json" >/dev/null
# Longest first (legacy50-gpu takes about 7 minutes), so the other lane runs the rest beside it.
jobs=(
    "legacy50-gpu|compare --model legacy_seresnet50 --size 32 --kernel-family gpu"
    "seresnet18-gpu|compare --model seresnet18 --size 32 --kernel-family gpu"
    "seresnet18-gpu-fp16|compare --model seresnet18 --size 32 --kernel-family gpu --precision fp16 --fp32-layers layer2.0.conv1,layer3.1.conv2"
    # Oclgrind allows 115 MiB: Winograd's transformed weights make SE-ResNet-50 176 MiB, so this
    # run keeps the direct kernels; seresnet18-cpu and the self-check run Winograd.
    "legacy50-cpu|compare --model legacy_seresnet50 --size 32 --kernel-family cpu --no-winograd"
    "legacy50-cpu-fp16|compare --model legacy_seresnet50 --size 32 --kernel-family cpu --precision fp16"
    "seresnet18-cpu|compare --model seresnet18 --size 32 --kernel-family cpu"
    "seresnet18-int8|compare --model seresnet18 --size 32 --precision int8 --int8-calibration $logs/seresnet18.int8.json"
    "selfcheck|selfcheck"
    "selfcheck-fp16|selfcheck --precision fp16"
)
run() {
    local name="${1%%|*}" arguments="${1#*|}"
    local start=$SECONDS
    # Data races are checked in the self-check (every kernel of both families); the whole-network
    # runs check bounds and API use, which costs a fraction of the time.
    local races=()
    [[ "$name" == selfcheck* ]] && races=(--data-races)
    # shellcheck disable=SC2086
    if ! oclgrind "${races[@]}" --check-api --log "$logs/$name.log" "$bin" $arguments --device 0 --no-cache \
        >"$logs/$name.out" 2>&1; then
        echo "FAIL $name: senet-gpu $arguments"
        tail -5 "$logs/$name.out"
        return 1
    fi
    if [[ -s "$logs/$name.log" ]]; then
        echo "FAIL $name: Oclgrind reported errors:"
        head -40 "$logs/$name.log"
        return 1
    fi
    echo "ok   $name ($((SECONDS - start)) s): $(tail -1 "$logs/$name.out")"
}
status=0
running=0
# Two at a time (the machine has two cores and Oclgrind is single-threaded per kernel); the next
# job starts as soon as either finishes.
for job in "${jobs[@]}"; do
    run "$job" >"$logs/${job%%|*}.result" &
    running=$((running + 1))
    if ((running == 2)); then
        wait -n || status=1
        running=$((running - 1))
    fi
done
while ((running > 0)); do
    wait -n || status=1
    running=$((running - 1))
done
cat "$logs"/*.result
((status == 0)) && echo "oclgrind: all runs clean" || echo "oclgrind: FAILED"
exit "$status"
