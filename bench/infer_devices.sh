#!/usr/bin/env bash
# infer over a folder on one device against all devices (data parallel), in interleaved rounds.
# The folder holds COPIES copies of the images in samples/ (decoded and preprocessed on the CPU as usual).
# Prints one line per run (round, devices, images/s from infer's summary line), then the median
# images/s of each and the median per-round ratio all/one.
# usage: bench/infer_devices.sh [MODEL] [COPIES] [ROUNDS] [BATCH]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-seresnet50}
copies=${2:-16}
rounds=${3:-3}
batch=${4:-8}
bin=.build/release/senet-gpu
[ -x "$bin" ] || swift build -c release --product senet-gpu
folder=$(mktemp -d)
trap 'rm -rf "$folder"' EXIT
for copy in $(seq "$copies"); do
    for image in samples/*.jpg samples/*.png; do cp "$image" "$folder/$copy-$(basename "$image")"; done
done
echo "$(ls "$folder" | wc -l) images, $model, --batch $batch"
results=$(mktemp)
for round in $(seq "$rounds"); do
    order=("0" "all")
    ((round % 2 == 0)) && order=("all" "0")
    for devices in "${order[@]}"; do
        rate=$("$bin" infer --device "$devices" --model "$model" --input "$folder" --batch "$batch" --json 2>/dev/null |
            tail -1 | python3 -c "import json, sys; print(round(json.load(sys.stdin)['imagesPerSecond'], 2))")
        echo "$round $devices $rate" | tee -a "$results"
    done
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
rate = {(r, d): float(v) for r, d, v in rows}
rounds = sorted({r for r, _, _ in rows})
for devices in ("0", "all"):
    print(f"--device {devices}: median {statistics.median(rate[(r, devices)] for r in rounds):.2f} images/s")
print(f"median per-round ratio all/0: {statistics.median(rate[(r, 'all')] / rate[(r, '0')] for r in rounds):.2f}")
PY
