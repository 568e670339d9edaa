#!/bin/sh
# Benchmark senet-gpu against ONNX Runtime and PyTorch; see bench/peers.py --help.
# Usage: bench/peers.sh [--model seresnet50] [--batches 1,8] [--json-out FILE] ...
exec python3 "$(dirname "$0")/peers.py" "$@"
