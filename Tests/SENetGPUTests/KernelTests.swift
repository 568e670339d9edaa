import TestSupport
import XCTest

@testable import SENetGPU

/// Each kernel against the CPU reference on the OpenCL device present (PoCL in CI), on shapes
/// chosen to break index arithmetic: odd sizes, channels not a multiple of 4 or 16, stride 2,
/// groups, batch > 1. Tolerance: KernelSelfCheck.tolerance (1e-5 relative, fp32).
final class KernelTests: XCTestCase {
    private func assertPassed(_ result: KernelSelfCheck.Result, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(result.passed, "\(result.kernel) \(result.shape): \(result.comparison)", file: file, line: line)
    }

    // MARK: - Convolution

    func testDirectConvolutionShapes() throws {
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
            (
                ConvGeometry(batch: 2, inChannels: 8, height: 6, width: 10, outChannels: 12, kernel: 3, padding: 1, groups: 4),
                false
            ),
            (ConvGeometry(batch: 1, inChannels: 4, height: 1, width: 1, outChannels: 3, kernel: 1), false),
        ]
        for (index, (geometry, relu)) in cases.enumerated() {
            assertPassed(try KernelSelfCheck.conv(on: runtime, geometry, relu: relu, seed: UInt64(1000 + index)))
        }
    }

    // MARK: - Pooling

    func testGlobalAveragePoolAccumulatesLargePlanes() throws {
        let runtime = try openTestDevice()
        for (index, shape) in [[1, 3, 56, 56], [2, 21, 13, 17], [4, 1, 1, 1], [1, 2, 112, 112]].enumerated() {
            assertPassed(try KernelSelfCheck.globalAveragePool(on: runtime, shape: shape, seed: UInt64(2000 + index)))
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

    // MARK: - Squeeze-excite scaling

    func testChannelScaleAndFusedResidual() throws {
        let runtime = try openTestDevice()
        for (index, shape) in [[1, 64, 56, 56], [3, 7, 5, 3], [2, 130, 1, 1]].enumerated() {
            assertPassed(try KernelSelfCheck.channelScale(on: runtime, shape: shape, fused: false, seed: UInt64(4000 + index)))
            assertPassed(try KernelSelfCheck.channelScale(on: runtime, shape: shape, fused: true, seed: UInt64(4100 + index)))
        }
    }

    // MARK: - Standard self-check

    func testStandardSelfCheckPasses() throws {
        let results = try KernelSelfCheck.run(on: try openTestDevice())
        XCTAssertEqual(Set(results.map(\.kernel)).count, 6, "every kernel is covered")
        for result in results { assertPassed(result) }
    }
}
