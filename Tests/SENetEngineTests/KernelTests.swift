import OpenCLKit
import SENetCore
import TestSupport
import XCTest

@testable import SENetEngine

/// Each kernel against the CPU reference on every OpenCL device present (PoCL and Intel's
/// runtime on CI), through
/// the same device ops the plans build, on shapes chosen to break index arithmetic: odd sizes,
/// channels not a multiple of 4 or 16, stride 2, batch > 1. Outputs are poisoned with NaN first.
/// Tolerance: KernelSelfCheck.tolerance (1e-5 relative, fp32).
final class KernelTests: XCTestCase {
    private func assertPassed(
        _ result: KernelSelfCheck.Result, _ runtime: DeviceRuntime? = nil, file: StaticString = #filePath, line: UInt = #line
    ) {
        let device = runtime.map { "\($0.device) " } ?? ""
        XCTAssertTrue(result.passed, "\(device)\(result.kernel) \(result.shape): \(result.comparison)", file: file, line: line)
    }

    // MARK: - Convolution

    /// Shapes that break index arithmetic: the stem, odd sizes, stride 2, 1×1 strided, 1×1 of 1×1.
    static let convolutionCases: [(ConvGeometry, Bool)] = [
        (ConvGeometry(batch: 1, inChannels: 3, height: 32, width: 29, outChannels: 64, kernel: 7, stride: 2, padding: 3), true),
        (ConvGeometry(batch: 2, inChannels: 17, height: 11, width: 13, outChannels: 33, kernel: 3, padding: 1), true),
        (ConvGeometry(batch: 3, inChannels: 5, height: 15, width: 9, outChannels: 6, kernel: 3, stride: 2, padding: 1), false),
        (ConvGeometry(batch: 2, inChannels: 35, height: 7, width: 7, outChannels: 19, kernel: 1), false),
        (ConvGeometry(batch: 1, inChannels: 9, height: 14, width: 14, outChannels: 18, kernel: 1, stride: 2), true),
        (ConvGeometry(batch: 1, inChannels: 4, height: 1, width: 1, outChannels: 3, kernel: 1), false),
    ]

    func testGPUConvolutionWithEveryTilingAndSplitK() throws {
        for runtime in try openTestDevices() {
            // Every candidate the device can run, with split-K forced to 3 slices as well.
            var tilings = GPUConvTiling.candidates.filter { $0.fits(runtime.device) && $0.slices == nil }
            tilings += tilings.prefix(2).map {
                GPUConvTiling(tileM: $0.tileM, tileN: $0.tileN, tileK: $0.tileK, workM: $0.workM, workN: $0.workN, slices: 3)
            }
            // Stage 4 of SE-ResNet-50 at batch 1: the automatic split-K case.
            let cases =
                Self.convolutionCases + [
                    (ConvGeometry(batch: 1, inChannels: 512, height: 7, width: 7, outChannels: 40, kernel: 3, padding: 1), true)
                ]
            var split = false
            for (index, (geometry, relu)) in cases.enumerated() {
                for tiling in tilings {
                    let result = try KernelSelfCheck.gpuConvolution(
                        on: runtime, geometry, tiling: tiling, relu: relu, seed: UInt64(1500 + index))
                    XCTAssertTrue(result.passed, "\(runtime.device) \(result.kernel) \(result.shape): \(result.comparison)")
                    split = split || result.kernel.contains("conv_gemm_reduce")
                }
            }
            XCTAssertTrue(split, "split-K was exercised on \(runtime.device)")
        }
    }

    func testConvolutionShapesWithEveryVariant() throws {
        // im2col + GEMM, the direct tiled kernels, and a fixed work-group size.
        let tilings = [
            ConvTiling(channels: 8, pixels: 8, im2col: true), ConvTiling(channels: 4, pixels: 16),
            ConvTiling(channels: 16, pixels: 4, localSize: 8),
        ]
        for runtime in try openTestDevices() {
            var kernels: Set<String> = []
            for (index, (geometry, relu)) in Self.convolutionCases.enumerated() {
                for tiling in tilings {
                    let result = try KernelSelfCheck.convolution(
                        on: runtime, geometry, tiling: tiling, relu: relu, seed: UInt64(1000 + index))
                    assertPassed(result, runtime)
                    kernels.formUnion(result.kernel.split(separator: "+").map(String.init))
                }
            }
            XCTAssertEqual(kernels, ["im2col", "conv1x1_gemm", "conv1x1_strided", "conv_tiled"])
        }
    }

    // MARK: - Pooling

    /// SE-ResNeXt's grouped 3×3 layers (cardinality 32 and 64, group widths 4, 8 and 16, stride
    /// 1 and 2, batch 2) in one launch, both families, fp32 and fp16, against `Reference.conv2d`:
    /// groups of 8 or 16 channels run the channel-vector kernel in the CPU family on CPUs, the
    /// rest the direct pixel-vector kernel.
    func testGroupedConvolutionsInOneLaunch() throws {
        let cases = [
            ConvGeometry(batch: 2, inChannels: 128, height: 14, width: 14, outChannels: 128, kernel: 3, padding: 1, groups: 32),
            ConvGeometry(
                batch: 1, inChannels: 256, height: 15, width: 13, outChannels: 256, kernel: 3, stride: 2, padding: 1, groups: 32),
            ConvGeometry(batch: 2, inChannels: 256, height: 7, width: 7, outChannels: 256, kernel: 3, padding: 1, groups: 64),
            ConvGeometry(batch: 1, inChannels: 64, height: 9, width: 9, outChannels: 80, kernel: 1, groups: 4),
            ConvGeometry(batch: 2, inChannels: 512, height: 7, width: 7, outChannels: 512, kernel: 3, padding: 1, groups: 32),
        ]
        for runtime in try openTestDevices() {
            for (index, g) in cases.enumerated() {
                for family in KernelFamily.allCases {
                    for precision in [Precision.fp32, .fp16] {
                        let result = try KernelSelfCheck.groupedConvolution(
                            on: runtime, g, family: family, seed: UInt64(800 + index), precision: precision)
                        assertPassed(result, runtime)
                        let vectors = family == .cpu && runtime.device.type == .cpu && (g.outChannels / g.groups) % 8 == 0
                        XCTAssertEqual(result.kernel, vectors ? "conv_ocvec" : "conv_tiled", "\(result.shape): one launch")
                    }
                }
            }
        }
    }

    func testTunerTimesOnlyTilingsThatFitAGroupedLayer() throws {
        let g = ConvGeometry(batch: 1, inChannels: 64, height: 8, width: 8, outChannels: 64, kernel: 3, padding: 1, groups: 8)
        for runtime in try openTestDevices() {
            let result = try ConvTuner.tune(g, runtime: runtime, repeats: 1)
            XCTAssertEqual(result.rejected, [], "\(runtime.device)")
            XCTAssertTrue(result.best.fits(g), "\(result.best)")
            XCTAssertFalse(ConvTiling(vectors: 4, vectorWidth: 16, pixels: 3, localSize: 2).fits(g))
        }
    }

    func testGlobalAveragePoolAccumulatesLargePlanes() throws {
        for runtime in try openTestDevices() {
            for (index, shape) in [[1, 3, 56, 56], [2, 21, 13, 17], [4, 1, 1, 1], [1, 2, 112, 112], [1, 7, 3, 5]].enumerated() {
                for variant in GlobalAveragePool.Variant.allCases {
                    assertPassed(
                        try KernelSelfCheck.globalAveragePool(
                            on: runtime, shape: shape, variant: variant, seed: UInt64(2000 + index)),
                        runtime)
                }
            }
        }
    }

    func testMaxPoolBothPaddingConventions() throws {
        let cases: [([Int], Int, Bool)] = [
            ([2, 3, 112, 112], 1, false), ([1, 4, 113, 111], 0, true), ([3, 2, 7, 8], 0, true), ([1, 1, 4, 4], 1, true),
        ]
        for runtime in try openTestDevices() {
            for (index, (shape, padding, ceil)) in cases.enumerated() {
                assertPassed(
                    try KernelSelfCheck.maxPool(
                        on: runtime, shape: shape, padding: padding, ceilMode: ceil, seed: UInt64(3000 + index)),
                    runtime)
            }
        }
    }

    func testAveragePoolCountsOnlyPositionsInsideTheInput() throws {
        let cases: [([Int], PoolWindow)] = [
            ([2, 3, 17, 21], PoolWindow(kernel: 2, stride: 2, padding: 0, ceilMode: true)),
            ([1, 4, 9, 11], PoolWindow(kernel: 3, stride: 2, padding: 1, ceilMode: false)),
            ([1, 2, 16, 16], PoolWindow(kernel: 2, stride: 2, padding: 0, ceilMode: false)),
        ]
        for runtime in try openTestDevices() {
            for precision in [Precision.fp32, .fp16] {
                for (index, (shape, window)) in cases.enumerated() {
                    assertPassed(
                        try KernelSelfCheck.averagePool(
                            on: runtime, shape: shape, window: window, seed: UInt64(3100 + index), precision: precision),
                        runtime)
                }
            }
        }
    }

    // MARK: - Squeeze-excite and head

    func testScaleAddReLUAlsoInPlace() throws {
        for runtime in try openTestDevices() {
            for (index, shape) in [[1, 64, 56, 56], [3, 7, 5, 3], [2, 130, 1, 1]].enumerated() {
                for inPlace in [false, true] {
                    assertPassed(
                        try KernelSelfCheck.scaleAddReLU(on: runtime, shape: shape, inPlace: inPlace, seed: UInt64(4000 + index)),
                        runtime)
                }
            }
        }
    }

    func testLinearWithEachActivationAtSEWidthsInBothFamilies() throws {
        // The SE FCs of SE-ResNet-50's last stage (2048 → 128 → 2048) and the classifier.
        let cases: [(Int, Int, Int, Activation)] = [
            (1, 2048, 128, .relu), (2, 128, 2048, .sigmoid), (3, 2048, 1000, .none), (1, 5, 3, .sigmoid),
        ]
        try forEachDeviceAndFamily { runtime, family in
            for (index, (batch, inputs, outputs, activation)) in cases.enumerated() {
                assertPassed(
                    try KernelSelfCheck.linear(
                        on: runtime, batch: batch, in: inputs, out: outputs, activation: activation, family: family,
                        seed: UInt64(5000 + index)), runtime)
            }
        }
    }

    func testSoftmaxRowsAgainstTheReference() throws {
        for runtime in try openTestDevices() {
            for (index, shape) in [[1, 1000], [4, 10], [2, 1], [3, 65]].enumerated() {
                assertPassed(try KernelSelfCheck.softmax(on: runtime, shape: shape, seed: UInt64(6000 + index)), runtime)
            }
        }
    }

    // MARK: - Standard self-check

    func testStandardSelfCheckCoversEveryKernelFile() throws {
        // Every kernel of every embedded .cl file.
        var declared: Set<String> = []
        for name in KernelSources.embeddedNames {
            let source = try KernelSources().source(named: name)
            let pattern = try NSRegularExpression(pattern: #"(?<!inline )void\s+(\w+)\s*\("#)
            for match in pattern.matches(in: source, range: NSRange(source.startIndex..., in: source)) {
                declared.insert(String(source[Range(match.range(at: 1), in: source)!]))
            }
        }
        XCTAssertGreaterThan(declared.count, 10, "the pattern finds the kernels")
        // No disk cache: every program is compiled here, so its build log is seen.
        for runtime in try openTestDevices() {
            let results = try KernelSelfCheck.run(on: runtime)
            for result in results { assertPassed(result, runtime) }
            // The compiler has nothing to say about our kernels (warnings would reach users' stderr).
            // (Intel's runtime logs "Compilation started/done" for every build; that is not a warning.)
            for entry in runtime.programs.warnings where entry.log.lowercased().contains("warning") {
                XCTFail("\(runtime.device) \(entry.file) \(entry.options): \(entry.log)")
            }
            // On each device, not only the last: a check skipped on one device fails here.
            let kernels = Set(results.flatMap { $0.kernel.split(separator: "+").map(String.init) })
            XCTAssertEqual(kernels, declared, "selfcheck runs every kernel the sources declare on \(runtime.device)")
        }
    }
}
