#!/usr/bin/env bash
# The quick start's test command, and what CI runs: installs what is missing, checks the
# formatting, then runs every test optimised (the CPU reference is plain loops; a debug build
# would make the whole-network tests take many minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-test-python.sh
swift format lint --strict --recursive Sources Tests Plugins Package.swift
# The benchmark script's round and ratio arithmetic (standard library only).
python3 bench/test_peers.py
# The tests are XCTest; leaving swift-testing off keeps its "0 tests" line out of the summary.
# The import check makes an import of an undeclared target (say OpenCL from SENetCore) an error:
# SwiftPM alone lets a module that happens to be built already be imported.
swift test -c release -Xswiftc -enable-testing --disable-swift-testing \
    --explicit-target-dependency-import-check error "$@"
