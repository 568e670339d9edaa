import Foundation
import XCTest

@testable import SENetCore

/// The magnitudes an int8 calibration keeps of a feature map, checked against the values kept
/// whole: percentiles, and the quantization error at a clip.
final class ActivationHistogramTests: XCTestCase {
    /// A seeded heavy-tailed map: mostly N(0, 1)-like values, a few far out.
    private func values(count: Int, outliers: Int, seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed)
        var values = (0..<count).map { _ in (0..<4).map { _ in random.nextFloat(in: -0.5...0.5) }.reduce(0, +) * 1.7 }
        for index in 0..<outliers { values[index * 97] = 40 + Float(index) }
        return values
    }

    /// round(x / step) clamped to ±127 steps, exactly, relative to the values' RMS.
    private func exactError(_ values: [Float], clip: Float) -> Double {
        let step = clip / 127
        var (error, total) = (0.0, 0.0)
        for value in values {
            let restored = min(max((value / step).rounded(), -127), 127) * step
            error += Double((restored - value) * (restored - value))
            total += Double(value * value)
        }
        return (error / total).squareRoot()
    }

    func testPercentilesLieWithinABinOfTheSortedValues() {
        let values = values(count: 50_000, outliers: 0, seed: 5) + [Float](repeating: 0, count: 1000)
        var histogram = ActivationHistogram()
        histogram.add(values)
        let sorted = values.map(abs).sorted()
        XCTAssertEqual(histogram.count, values.count)
        XCTAssertEqual(histogram.zeros, 1000)
        XCTAssertEqual(histogram.maximum, sorted.last)
        XCTAssertFalse(histogram.isNonNegative)
        for fraction in [0.5, 0.9, 0.99, 0.999] {
            let exact = sorted[Int((Double(sorted.count) * fraction).rounded(.up)) - 1]
            let estimate = histogram.percentile(fraction)
            // The upper edge of the value's bin: at most one bin (2^(1/32), 2.2 %) above it.
            XCTAssertGreaterThanOrEqual(estimate, exact, "p\(fraction)")
            XCTAssertLessThanOrEqual(estimate, exact * 1.022, "p\(fraction)")
        }
        XCTAssertEqual(histogram.percentile(0.01), 0, "1 % of the values are zeros")
    }

    func testTheErrorAtAClipMatchesQuantizingTheValuesThemselves() {
        for outliers in [0, 20] {
            let values = values(count: 40_000, outliers: outliers, seed: 9)
            var histogram = ActivationHistogram()
            histogram.add(values)
            for clip in [histogram.maximum, histogram.percentile(0.9999), histogram.percentile(0.999), 1.0] {
                let exact = exactError(values, clip: clip)
                XCTAssertEqual(
                    histogram.relativeError(clip: clip), exact, accuracy: 0.08 * exact, "clip \(clip), \(outliers) outliers")
            }
        }
    }

    func testNonNegativeMapsAreSeenAsSuchAndNaNIsSkipped() {
        var histogram = ActivationHistogram()
        histogram.add([0, 1, 2, .nan, .infinity, 3])
        XCTAssertTrue(histogram.isNonNegative)
        XCTAssertEqual(histogram.count, 4)
        XCTAssertEqual(histogram.maximum, 3)
    }
}
