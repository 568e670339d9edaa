import CoreTestSupport
import XCTest

@testable import SENetCore

/// The reference is the oracle, so it is checked against values worked out by hand.
final class ReferenceOpsTests: XCTestCase {
    // MARK: - Convolution

    func testConv2dByHand() {
        // 1×1×3×3 input, one 2×2 kernel of ones, bias 0.5: each output is a window sum + 0.5.
        let input = Tensor(shape: [1, 1, 3, 3], data: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let weight = Tensor(shape: [1, 1, 2, 2], repeating: 1)
        let output = Reference.conv2d(input, weight: weight, bias: Tensor(shape: [1], data: [0.5]))
        XCTAssertEqual(output.shape, [1, 1, 2, 2])
        XCTAssertEqual(output.data, [12.5, 16.5, 24.5, 28.5])
    }

    func testConv2dStridePaddingAndGroups() {
        // Two groups of one channel each; 3×3 kernel with only its centre set = identity per
        // group, scaled by 2 and 3; stride 2 with padding 1 picks every other pixel.
        let input = Tensor(shape: [1, 2, 3, 3], data: (0..<18).map(Float.init))
        var weight = Tensor(shape: [2, 1, 3, 3])
        weight.data[4] = 2
        weight.data[9 + 4] = 3
        let output = Reference.conv2d(input, weight: weight, bias: nil, stride: 2, padding: 1, groups: 2)
        XCTAssertEqual(output.shape, [1, 2, 2, 2])
        XCTAssertEqual(output.data, [0, 4, 12, 16, 27, 33, 45, 51])
    }

    func testLinear() {
        let input = Tensor(shape: [2, 3], data: [1, 2, 3, -1, 0, 1])
        let weight = Tensor(shape: [2, 3], data: [1, 0, 0, 1, 1, 1])
        let output = Reference.linear(input, weight: weight, bias: Tensor(shape: [2], data: [10, 20]))
        XCTAssertEqual(output.data, [11, 26, 9, 20])
    }

    // MARK: - Pooling

    func testWindowOutputSizeMatchesPyTorchCeilRule() {
        // torch.nn.MaxPool2d(3, 2, ceil_mode=True) on 112 → 56 and on 111 → 55; floor on 112 → 55.
        XCTAssertEqual(windowOutputSize(input: 112, kernel: 3, stride: 2, padding: 0, ceilMode: true), 56)
        XCTAssertEqual(windowOutputSize(input: 111, kernel: 3, stride: 2, padding: 0, ceilMode: true), 55)
        XCTAssertEqual(windowOutputSize(input: 112, kernel: 3, stride: 2, padding: 0, ceilMode: false), 55)
        XCTAssertEqual(windowOutputSize(input: 112, kernel: 3, stride: 2, padding: 1, ceilMode: false), 56)
        // The last window may not start in the right padding: 5 with k2 s2 p1 ceil → 3, not 4.
        XCTAssertEqual(windowOutputSize(input: 5, kernel: 2, stride: 2, padding: 1, ceilMode: true), 3)
    }

    func testMaxPoolCeilModeKeepsPartialWindow() {
        // 1×1×4×4, 3×3 stride 2 ceil: windows start at 0 and 2; the second is partial.
        let input = Tensor(shape: [1, 1, 4, 4], data: (0..<16).map(Float.init))
        let output = Reference.maxPool2d(input, kernel: 3, stride: 2, padding: 0, ceilMode: true)
        XCTAssertEqual(output.shape, [1, 1, 2, 2])
        XCTAssertEqual(output.data, [10, 11, 14, 15])
    }

    func testAveragePoolDividesPartialWindowsByWhatTheyCover() {
        // torch.nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False) on 1×1×3×3 of 0…8:
        // [[2, 3.5], [6.5, 8]]; the right and bottom windows hold 2 values, the corner 1.
        let input = Tensor(shape: [1, 1, 3, 3], data: (0..<9).map(Float.init))
        let output = Reference.averagePool2d(input, window: PoolWindow(kernel: 2, stride: 2, padding: 0, ceilMode: true))
        XCTAssertEqual(output.shape, [1, 1, 2, 2])
        XCTAssertEqual(output.data, [2, 3.5, 6.5, 8])
    }

    func testMaxPoolPaddingNeverWins() {
        let input = Tensor(shape: [1, 1, 2, 2], data: [-5, -6, -7, -8])
        let output = Reference.maxPool2d(input, kernel: 3, stride: 2, padding: 1, ceilMode: false)
        XCTAssertEqual(output.data, [-5])
    }

    func testGlobalAveragePool() {
        let input = Tensor(shape: [1, 2, 2, 2], data: [1, 2, 3, 4, 10, 10, 10, 14])
        XCTAssertEqual(Reference.globalAveragePool(input).data, [2.5, 11])
    }

    // MARK: - Elementwise

    func testSigmoidReluScaleAddSoftmax() {
        let x = Tensor(shape: [1, 2, 1, 2], data: [-1, 2, 3, -4])
        XCTAssertEqual(Reference.relu(x).data, [0, 2, 3, 0])
        XCTAssertEqual(Reference.sigmoid(Tensor(shape: [1], data: [0])).data, [0.5])
        XCTAssertEqual(Reference.channelScale(x, scale: Tensor(shape: [1, 2], data: [2, 0.5])).data, [-2, 4, 1.5, -2])
        XCTAssertEqual(Reference.add(x, x).data, [-2, 4, 6, -8])
        let probabilities = Reference.softmax(Tensor(shape: [1, 3], data: [100, 100, 100 + log(2)]))
        XCTAssertEqual(probabilities.data[2], 0.5, accuracy: 1e-5)
        XCTAssertEqual(probabilities.data.reduce(0, +), 1, accuracy: 1e-6)
    }

    func testComparisonReportsWorstElementAndNonFinite() {
        let expected = Tensor(shape: [3], data: [1, -4, 2])
        let comparison = Comparison(actual: Tensor(shape: [3], data: [1, -4.5, 2]), expected: expected)
        XCTAssertEqual(comparison.worstIndex, 1)
        XCTAssertEqual(comparison.relativeError, 0.125)
        XCTAssertFalse(comparison.passes(tolerance: 0.1))
        let nan = Comparison(actual: Tensor(shape: [3], data: [1, .nan, 2]), expected: expected)
        XCTAssertTrue(nan.hasNonFinite)
        XCTAssertFalse(nan.passes(tolerance: 1))
    }

    func testSeededRandomIsDeterministic() {
        XCTAssertEqual(Tensor.random(shape: [4, 5], seed: 9), Tensor.random(shape: [4, 5], seed: 9))
        XCTAssertNotEqual(Tensor.random(shape: [4, 5], seed: 9), Tensor.random(shape: [4, 5], seed: 10))
    }
}
