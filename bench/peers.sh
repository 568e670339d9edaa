#!/bin/sh
# Benchmark senet-gpu against ONNX Runtime, OpenVINO and PyTorch; see bench/peers.py --help.
# Usage: bench/peers.sh [--model seresnet50] [--batches 1,8] [--rounds 5] [--devices 0,1] [--no-openvino] [--no-torch] [--self-test] ...
exec python3 "$(dirname "$0")/peers.py" "$@"
