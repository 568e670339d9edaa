#!/usr/bin/env bash
# Builds the libFuzzer harnesses into .fuzz/: safetensors-fuzzer and npy-fuzzer.
# The parsers' sources are compiled directly with swiftc (not SwiftPM): they need only
# Foundation. They are snapshotted into .fuzz/src first, so an edit made while the build
# runs cannot break it, and the snapshot shows what exactly was fuzzed.
# SANITIZERS overrides the default "fuzzer,address" (e.g. SANITIZERS=fuzzer).
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers="${SANITIZERS:-fuzzer,address}"
mkdir -p .fuzz/src
cp Sources/SENetCore/Model/SafeTensors.swift Sources/SENetCore/IO/NumpyFile.swift \
    Sources/SENetCore/Errors.swift Sources/SENetCore/Tensor/Tensor.swift .fuzz/src/
common=(.fuzz/src/Errors.swift .fuzz/src/Tensor.swift)
flags=(-O -g -sanitize="$sanitizers" -parse-as-library -use-ld=lld)
swiftc "${flags[@]}" fuzz/SafeTensorsFuzzer.swift .fuzz/src/SafeTensors.swift "${common[@]}" \
    -o .fuzz/safetensors-fuzzer
swiftc "${flags[@]}" fuzz/NumpyFuzzer.swift .fuzz/src/NumpyFile.swift "${common[@]}" \
    -o .fuzz/npy-fuzzer
echo "built .fuzz/safetensors-fuzzer and .fuzz/npy-fuzzer (-sanitize=$sanitizers)"
