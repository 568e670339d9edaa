#!/usr/bin/env bash
# Runs on a Linux GPU host without Swift, from the folder made by scripts/make-gpu-bundle.sh.
# Uses the host's OpenCL ICD loader when it has one, else the bundled one; when no ICD file
# names the NVIDIA driver's OpenCL library but the library is present, points a private vendors
# directory at it. Then prints the devices and runs the checks, twice, to show the disk cache.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/senet-gpu"

if ! ldconfig -p | grep -q 'libOpenCL.so.1 '; then
    export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "# using the bundled OpenCL ICD loader"
fi
if ! grep -qs nvidia /etc/OpenCL/vendors/*.icd && ldconfig -p | grep -q libnvidia-opencl.so.1; then
    vendors=$(mktemp -d)
    echo "libnvidia-opencl.so.1" >"$vendors/nvidia.icd"
    export OCL_ICD_VENDORS="$vendors"
    echo "# no NVIDIA ICD file found; using $vendors/nvidia.icd"
fi
# Truly cold: a private, empty kernel cache, and NVIDIA's own compute cache off.
export XDG_CACHE_HOME="$(mktemp -d)"
export CUDA_CACHE_DISABLE=1

echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
device=${SENET_GPU_DEVICE:-0}
status=0
"$bin" devices || exit 1
echo "# self-check, cold kernel cache"
"$bin" selfcheck --device "$device" || status=1
echo "# self-check, warm kernel cache"
"$bin" selfcheck --device "$device" || status=1
for family in gpu cpu; do
    for model in seresnet18 seresnet50 legacy_seresnet101 senet152; do
        echo "# compare $model ($family kernels, synthetic weights) against the CPU reference, batch 2, 224x224"
        "$bin" compare --device "$device" --model "$model" --batch 2 --kernel-family "$family" | tail -1 || status=1
    done
done
echo "# infer seresnet50, cold then warm"
"$bin" infer --device "$device" || status=1
"$bin" infer --device "$device" || status=1
for family in gpu cpu; do
    echo "# bench seresnet50, $family kernels, batch 1 and 64 (defaults)"
    "$bin" bench --device "$device" --batch 1 --kernel-family "$family" || status=1
    "$bin" bench --device "$device" --batch 64 --no-startup --kernel-family "$family" || status=1
done
echo "# fp16: self-check, compare (storage, and half arithmetic where the device has it), bench"
"$bin" selfcheck --device "$device" --precision fp16 | tail -1 || status=1
"$bin" compare --device "$device" --precision fp16 --model seresnet50 --batch 2 | tail -2 || status=1
"$bin" compare --device "$device" --precision fp16 --arithmetic fp16 --model seresnet50 --batch 2 | tail -2
for batch in 1 64; do
    "$bin" bench --device "$device" --batch "$batch" --no-startup --precision fp16 || status=1
    "$bin" bench --device "$device" --batch "$batch" --no-startup --precision fp16 --arithmetic fp16
done
echo "# SE-ResNeXt, deep stem and SENet-154 (issue 14): compare, and the grouped 3x3 beside an ungrouped one of the same MACs"
for model in seresnext50_32x4d seresnet152d legacy_senet154; do
    "$bin" compare --device "$device" --model "$model" --batch 2 | tail -1 || status=1
done
"$bin" bench --device "$device" --batch 8 --no-startup --model seresnext50_32x4d || status=1
"$bin" bench --device "$device" --batch 8 --rounds 5 --conv 128,128,3,1,56x56,32 --conv 32,16,3,1,56x56 --conv 64,64,3,1,56x56 || status=1
echo "# serve (issue 15): ready after warm-up, one JSON infer, then SIGTERM answers and exits 0"
log=$(mktemp)
"$bin" serve --device "$device" --model seresnet50 --port 0 --log-format text 2>"$log" &
server=$!
port=""
for _ in $(seq 600); do
    port=$(sed -n '/listening/s/.*port=\([0-9]*\).*/\1/p' "$log" | head -1)
    [[ -n "$port" ]] && curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && break
    sleep 0.5
done
python3 -c 'import json; print(json.dumps({"inputs": [{"name": "input", "shape": [1, 3, 224, 224], "datatype": "FP32", "data": [0.5] * 150528}], "outputs": [{"name": "labels"}]}))' >"$log.json"
curl -sf -H 'Expect:' -X POST "http://127.0.0.1:$port/v2/models/seresnet50/infer" --data-binary @"$log.json" | cut -c1-300 || status=1
echo
kill -TERM "$server" && wait "$server" || status=1
tail -1 "$log"
echo "# tune the GPU family at batch 1 and 64, then bench again; then how many layers tune gave"
echo "# Winograd (issue 34 step 3: not a GPU-family default until timed here) and the tuned plan without it"
for batch in 1 64; do
    "$bin" tune --device "$device" --batch "$batch" --kernel-family gpu >/dev/null &&
        "$bin" bench --device "$device" --batch "$batch" --no-startup --kernel-family gpu || status=1
    echo "winograd layers after tune, batch $batch: $("$bin" plan --device "$device" --batch "$batch" --kernel-family gpu | grep -c ' winograd-f')"
    "$bin" bench --device "$device" --batch "$batch" --no-startup --kernel-family gpu --no-winograd | grep -i 'median' || status=1
done
if python3 -c "import torch, timm; assert torch.cuda.is_available()" 2>/dev/null; then
    echo "# PyTorch CUDA fp32 (TF32 off), same model"
    python3 - <<'PY' || status=1
import time, torch, timm
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
model = timm.create_model("seresnet50", pretrained=False).cuda().eval()
for batch in (1, 64):
    x = torch.randn(batch, 3, 224, 224, device="cuda")
    with torch.inference_mode():
        for _ in range(5): model(x)
        torch.cuda.synchronize(); times = []
        for _ in range(20):
            t = time.perf_counter(); model(x); torch.cuda.synchronize(); times.append(time.perf_counter() - t)
    times.sort(); print(f"pytorch cuda batch {batch}: median {times[10]*1e3:.2f} ms, {batch/times[10]:.0f} img/s")
PY
fi
exit $status
