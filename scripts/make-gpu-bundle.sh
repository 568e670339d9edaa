#!/usr/bin/env bash
# Builds dist/gpu-bundle: a self-contained senet-gpu (static Swift runtime), the OpenCL ICD
# loader for hosts that lack one, and gpu-check.sh. Copy the folder to a Linux GPU host with no
# Swift and run `gpu-bundle/gpu-check.sh` there. The bundle stays well under 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product senet-gpu --static-swift-stdlib >&2
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
out=dist/gpu-bundle
rm -rf "$out" && mkdir -p "$out/lib"
cp "$bin/senet-gpu" "$out/"
strip "$out/senet-gpu"
loader=$(ldconfig -p | awk '/libOpenCL.so.1 .*x86-64/ {print $NF; exit}')
cp -L "$loader" "$out/lib/libOpenCL.so.1"
cp scripts/gpu-check.sh "$out/"
du -sh "$out" >&2
# Compressed copy for transfer (about 24 MiB): tar xzf gpu-bundle.tar.gz && gpu-bundle/gpu-check.sh
tar czf dist/gpu-bundle.tar.gz -C dist gpu-bundle
