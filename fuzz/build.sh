#!/usr/bin/env bash
# Usage: fuzz/build.sh [NAME ...]   (NAME: safetensors, npy, onnx, oip, grpc, calibration; default all)
# Builds the libFuzzer harnesses into .fuzz/: safetensors-fuzzer, npy-fuzzer, onnx-fuzzer,
# oip-fuzzer, grpc-fuzzer, calibration-fuzzer.
# The parsers' sources are compiled directly with swiftc (not SwiftPM). They are snapshotted
# into .fuzz/src first, so an edit made while the build runs cannot break it, and the snapshot
# shows what exactly was fuzzed.
# SANITIZERS overrides the default "fuzzer,address" (e.g. SANITIZERS=fuzzer).
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers="${SANITIZERS:-fuzzer,address}"
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(safetensors npy onnx oip grpc calibration)
flags=(-O -g -sanitize="$sanitizers" -parse-as-library -use-ld=lld)

build_safetensors_npy() {
    # SafeTensors.swift and NumpyFile.swift need only Foundation (plus Errors.swift, Tensor.swift
    # ValueInfo.swift, where Tensor's ElementType lives, and IO/MappedFile.swift).
    mkdir -p .fuzz/src
    cp Sources/SENetCore/Model/SafeTensors.swift Sources/SENetCore/IO/NumpyFile.swift \
        Sources/SENetCore/Errors.swift Sources/SENetCore/Tensor/Tensor.swift \
        Sources/SENetCore/Graph/ValueInfo.swift Sources/SENetCore/IO/MappedFile.swift .fuzz/src/
    common=(.fuzz/src/Errors.swift .fuzz/src/Tensor.swift .fuzz/src/ValueInfo.swift .fuzz/src/MappedFile.swift)
    if [[ $1 == safetensors ]]; then
        swiftc "${flags[@]}" fuzz/SafeTensorsFuzzer.swift .fuzz/src/SafeTensors.swift "${common[@]}" \
            -o .fuzz/safetensors-fuzzer
    else
        swiftc "${flags[@]}" fuzz/NumpyFuzzer.swift .fuzz/src/NumpyFile.swift "${common[@]}" \
            -o .fuzz/npy-fuzzer
    fi
}

# The int8 calibration file parser (Sources/SENetCore/Quantization/Int8Calibration.swift)
# needs only Foundation and Errors.swift.
build_calibration() {
    local src=.fuzz/src/calibration
    rm -rf "$src" && mkdir -p "$src"
    cp Sources/SENetCore/Quantization/Int8Calibration.swift Sources/SENetCore/Errors.swift "$src/"
    swiftc "${flags[@]}" -module-name CalibrationFuzzer fuzz/CalibrationFuzzer.swift "$src"/*.swift \
        -o .fuzz/calibration-fuzzer
}

# The Open Inference Protocol request decoder and response encoder (Sources/SENetServe/Protocol:
# InferRequest.swift, InferRequestDecoder.swift, WireFormat.swift, InferResponse.swift) need
# only Foundation: every file of that folder is compiled with the harness, without the rest of
# SENetServe (Hummingbird and the engine).
build_oip() {
    local src=.fuzz/src/oip
    rm -rf "$src" && mkdir -p "$src"
    cp Sources/SENetServe/Protocol/*.swift "$src/"
    rm "$src"/GRPC*.swift  # The gRPC converter needs the generated messages: the grpc harness.
    swiftc "${flags[@]}" -swift-version 5 -module-name OIPFuzzer fuzz/InferRequestFuzzer.swift "$src"/*.swift \
        -o .fuzz/oip-fuzzer
}

# The ONNX parser is all of SENetCore (the importer builds an SEResNet), which imports the
# generated ONNXProto module, which `public import`s SwiftProtobuf. So three modules, in the
# order SwiftPM would build them, each a static library plus a .swiftmodule in .fuzz/onnx/:
#   1. SwiftProtobuf from the package checkout (.build/checkouts/swift-protobuf; run
#      `swift package resolve` if it is missing), with its package's settings: Swift 6 mode,
#      ExistentialAny, `package` access (-package-name) and its two default traits as
#      compilation conditions;
#   2. ONNXProto (Sources/ONNXProto/onnx.pb.swift);
#   3. the harness together with every SENetCore source, as the executable's own module.
# All three get the sanitizer flags, so libFuzzer sees (and ASan checks) the protobuf decoder
# too. The static libraries are not linked with -sanitize=fuzzer's main until step 3.
# SwiftProtobuf (from the package's checkout, with its package's settings) as a static library
# with its module in $1, sanitized like the harnesses.
build_swift_protobuf() {
    local protobuf=.build/checkouts/swift-protobuf/Sources/SwiftProtobuf
    [[ -d $protobuf ]] || swift package resolve
    local out=$1 src=$1/src
    rm -rf "$src" && mkdir -p "$src"
    cp "$protobuf"/*.swift "$src/"
    swiftc -O -g -sanitize="$sanitizers" -parse-as-library -wmo -static -emit-library -emit-module \
        -module-name SwiftProtobuf -package-name swift_protobuf -swift-version 6 \
        -enable-upcoming-feature ExistentialAny -D BinaryDelimitedStreams -D FieldMaskUtilities \
        "$src"/*.swift -emit-module-path "$out/SwiftProtobuf.swiftmodule" -o "$out/libSwiftProtobuf.a"
}

build_grpc() {
    local out=.fuzz/grpc src=.fuzz/src/grpc
    rm -rf "$src" && mkdir -p "$out" "$src"
    build_swift_protobuf "$out"
    cp Sources/InferenceProto/inference.pb.swift Sources/SENetServe/Protocol/*.swift "$src/"
    swiftc -O -g -sanitize="$sanitizers" -parse-as-library -wmo -static -emit-library -emit-module -I "$out" \
        -module-name InferenceProto -swift-version 5 "$src/inference.pb.swift" \
        -emit-module-path "$out/InferenceProto.swiftmodule" -o "$out/libInferenceProto.a"
    rm "$src/inference.pb.swift"
    swiftc "${flags[@]}" -swift-version 5 -module-name GRPCFuzzer -I "$out" -L "$out" -lInferenceProto \
        -lSwiftProtobuf fuzz/GRPCRequestFuzzer.swift "$src"/*.swift -o .fuzz/grpc-fuzzer
}

build_onnx() {
    local out=.fuzz/onnx src=.fuzz/src/onnx
    rm -rf "$src" && mkdir -p "$out" "$src/ONNXProto" "$src/SENetCore"
    build_swift_protobuf "$out"
    cp Sources/ONNXProto/onnx.pb.swift "$src/ONNXProto/"
    (cd Sources/SENetCore && find . -name '*.swift' -exec cp --parents {} "../../$src/SENetCore/" \;)
    local library=(-O -g -sanitize="$sanitizers" -parse-as-library -wmo -static -emit-library -emit-module
        -I "$out" -L "$out")
    swiftc "${library[@]}" -module-name ONNXProto -swift-version 5 "$src/ONNXProto/onnx.pb.swift" \
        -emit-module-path "$out/ONNXProto.swiftmodule" -o "$out/libONNXProto.a"
    find "$src/SENetCore" -name '*.swift' | sort >"$out/sources.txt"
    swiftc "${flags[@]}" -swift-version 5 -module-name ONNXFuzzer -I "$out" -L "$out" \
        -lONNXProto -lSwiftProtobuf fuzz/ONNXFuzzer.swift $(cat "$out/sources.txt") -o .fuzz/onnx-fuzzer
}

for name in "${names[@]}"; do
    case $name in
    safetensors | npy) build_safetensors_npy "$name" ;;
    onnx) build_onnx ;;
    oip) build_oip ;;
    grpc) build_grpc ;;
    calibration) build_calibration ;;
    *) echo "unknown harness $name (safetensors, npy, onnx, oip, grpc or calibration)" >&2 && exit 2 ;;
    esac
    echo "built .fuzz/$name-fuzzer (-sanitize=$sanitizers)"
done
