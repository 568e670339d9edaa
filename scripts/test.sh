#!/usr/bin/env bash
# The quick start's test command, and what CI runs: installs what is missing, checks the
# formatting, then runs every test optimised (the CPU reference is plain loops; a debug build
# would make the whole-network tests take many minutes).
#
# Usage: scripts/test.sh [--quick] [swift test options, e.g. --filter KernelTests]
#   --quick  leaves out the whole-network model comparisons (PyTorch and ONNX fixtures, fp16
#            networks) for the edit loop; the README and CI run the full suite.
#
# The tests build in their own folder, .build-test (flags -enable-testing and the import check),
# so that scripts/demo.sh, bench/ and scripts/oclgrind-check.sh, which build plain release in
# .build, never make either configuration rebuild the other.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=()
if [[ "${1:-}" == "--quick" ]]; then
    shift
    # Whole networks at full fixture sizes; their kernels are covered by the kernel and plan tests.
    quick=(--skip 'ModelFixtureTests.testReferenceMatchesPyTorchOnEveryFixture|DevicePlanTests.testDeviceMatchesPyTorchOnEveryFixture|HalfPrecisionTests.testFixturesInHalfMatchPyTorch|HalfPrecisionTests.testGPUFamilyInHalfOnOneFixturePerFamily|DeviceCLITests.testInferOnDeviceZeroMatchesPyTorchForEveryFixture|ONNXCLITests.testInferRunsEveryExport|ONNXImportTests.testEveryExportMatchesONNXRuntime|Int8CalibrationTests.testInt8KeepsEveryFixturesLogitsCloseToPyTorchs')
fi
scripts/install-deps.sh
scripts/install-test-python.sh
scripts/install-test-browser.sh
swift format lint --strict --recursive Sources Tests Plugins Package.swift
# The benchmark script's round and ratio arithmetic (standard library only).
python3 bench/test_peers.py
# The tests are XCTest; leaving swift-testing off keeps its "0 tests" line out of the summary.
# The import check makes an import of an undeclared target (say OpenCL from SENetCore) an error:
# SwiftPM alone lets a module that happens to be built already be imported.
swift test -c release -Xswiftc -enable-testing --disable-swift-testing \
    --explicit-target-dependency-import-check error --scratch-path .build-test "${quick[@]}" "$@"
