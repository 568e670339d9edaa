import OpenCLKit
import SENetCore
import TestSupport
import XCTest

@testable import SENetEngine

/// Each kernel against the CPU reference on the OpenCL device present (PoCL in CI), through
/// the same device ops the plans build, on shapes chosen to break index arithmetic: odd sizes,
/// channels not a multiple of 4 or 16, stride 2, batch > 1. Outputs are poisoned with NaN first.
/// Tolerance: KernelSelfCheck.tolerance (1e-5 relative, fp32).
final class KernelTests: XCTestCase {
    private func assertPassed(_ result: KernelSelfCheck.Result, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(result.passed, "\(result.kernel) \(result.shape): \(result.comparison)", file: file, line: line)
    }

    // MARK: - Convolution

    func testConvolutionShapesWithEveryVariant() throws {
        let runtime = try openTestDevice()
        let cases: [(ConvGeometry, Bool)] = [
            (
                ConvGeometry(batch: 1, inChannels: 3, height: 32, width: 29, outChannels: 64, kernel: 7, stride: 2, padding: 3),
                true
            ),
            (ConvGeometry(batch: 2, inChannels: 17, height: 11, width: 13, outChannels: 33, kernel: 3, padding: 1), true),
            (
                ConvGeometry(batch: 3, inChannels: 5, height: 15, width: 9, outChannels: 6, kernel: 3, stride: 2, padding: 1),
                false
            ),
            (ConvGeometry(batch: 2, inChannels: 35, height: 7, width: 7, outChannels: 19, kernel: 1), false),
            (ConvGeometry(batch: 1, inChannels: 9, height: 14, width: 14, outChannels: 18, kernel: 1, stride: 2), true),
            (ConvGeometry(batch: 1, inChannels: 4, height: 1, width: 1, outChannels: 3, kernel: 1), false),
        ]
        // im2col + GEMM, the direct tiled kernels, and a fixed work-group size.
        let tilings = [
            ConvTiling(channels: 8, pixels: 8, im2col: true), ConvTiling(channels: 4, pixels: 16),
            ConvTiling(channels: 16, pixels: 4, localSize: 8),
        ]
        var kernels: Set<String> = []
        for (index, (geometry, relu)) in cases.enumerated() {
            for tiling in tilings {
                let result = try KernelSelfCheck.convolution(
                    on: runtime, geometry, tiling: tiling, relu: relu, seed: UInt64(1000 + index))
                assertPassed(result)
                kernels.formUnion(result.kernel.split(separator: "+").map(String.init))
            }
        }
        XCTAssertEqual(kernels, ["im2col", "conv1x1_gemm", "conv1x1_strided", "conv_tiled"])
    }

    // MARK: - Pooling

    func testGlobalAveragePoolAccumulatesLargePlanes() throws {
        let runtime = try openTestDevice()
        for (index, shape) in [[1, 3, 56, 56], [2, 21, 13, 17], [4, 1, 1, 1], [1, 2, 112, 112], [1, 7, 3, 5]].enumerated() {
            for variant in GlobalAveragePool.Variant.allCases {
                assertPassed(
                    try KernelSelfCheck.globalAveragePool(on: runtime, shape: shape, variant: variant, seed: UInt64(2000 + index))
                )
            }
        }
    }

    func testMaxPoolBothPaddingConventions() throws {
        let runtime = try openTestDevice()
        let cases: [([Int], Int, Bool)] = [
            ([2, 3, 112, 112], 1, false), ([1, 4, 113, 111], 0, true), ([3, 2, 7, 8], 0, true), ([1, 1, 4, 4], 1, true),
        ]
        for (index, (shape, padding, ceil)) in cases.enumerated() {
            assertPassed(
                try KernelSelfCheck.maxPool(
                    on: runtime, shape: shape, padding: padding, ceilMode: ceil, seed: UInt64(3000 + index)))
        }
    }

    // MARK: - Squeeze-excite and head

    func testScaleAddReLUAlsoInPlace() throws {
        let runtime = try openTestDevice()
        for (index, shape) in [[1, 64, 56, 56], [3, 7, 5, 3], [2, 130, 1, 1]].enumerated() {
            assertPassed(try KernelSelfCheck.scaleAddReLU(on: runtime, shape: shape, inPlace: false, seed: UInt64(4000 + index)))
            assertPassed(try KernelSelfCheck.scaleAddReLU(on: runtime, shape: shape, inPlace: true, seed: UInt64(4100 + index)))
        }
    }

    func testLinearWithEachActivationAtSEWidths() throws {
        let runtime = try openTestDevice()
        // The SE FCs of SE-ResNet-50's last stage (2048 → 128 → 2048) and the classifier.
        let cases: [(Int, Int, Int, Activation)] = [
            (1, 2048, 128, .relu), (2, 128, 2048, .sigmoid), (3, 2048, 1000, .none), (1, 5, 3, .sigmoid),
        ]
        for (index, (batch, inputs, outputs, activation)) in cases.enumerated() {
            assertPassed(
                try KernelSelfCheck.linear(
                    on: runtime, batch: batch, in: inputs, out: outputs, activation: activation, seed: UInt64(5000 + index)))
        }
    }

    func testSoftmaxRowsAgainstTheReference() throws {
        let runtime = try openTestDevice()
        for (index, shape) in [[1, 1000], [4, 10], [2, 1], [3, 65]].enumerated() {
            assertPassed(try KernelSelfCheck.softmax(on: runtime, shape: shape, seed: UInt64(6000 + index)))
        }
    }

    // MARK: - Standard self-check

    func testStandardSelfCheckCoversEveryKernelFile() throws {
        // No disk cache: every program is compiled here, so its build log is seen.
        let runtime = try openTestDevice(cacheDirectory: nil)
        let results = try KernelSelfCheck.run(on: runtime)
        for result in results { assertPassed(result) }
        // The compiler has nothing to say about our kernels (warnings would reach users' stderr).
        for entry in runtime.programs.warnings { XCTFail("\(entry.file) \(entry.options): \(entry.log)") }
        let kernels = Set(results.flatMap { $0.kernel.split(separator: "+").map(String.init) })
        // Every kernel of every embedded .cl file is exercised.
        var declared: Set<String> = []
        for name in KernelSources.embeddedNames {
            let source = try KernelSources().source(named: name)
            let pattern = try NSRegularExpression(pattern: #"(?<!inline )void\s+(\w+)\s*\("#)
            for match in pattern.matches(in: source, range: NSRange(source.startIndex..., in: source)) {
                declared.insert(String(source[Range(match.range(at: 1), in: source)!]))
            }
        }
        XCTAssertEqual(kernels, declared, "selfcheck runs every kernel the sources declare")
    }
}
