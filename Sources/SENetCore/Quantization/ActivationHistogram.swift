import Foundation

/// Magnitudes of one feature map over calibration data, in log-spaced bins (32 per octave, from
/// 2⁻³² to 2³²): percentiles to within 2.2 %, and the error an int8 quantization of the map
/// would make at a given clip, without keeping the values.
public struct ActivationHistogram: Sendable {
    static let binsPerOctave = 32
    static let lowestOctave = -32
    static let octaves = 64
    /// Counts of |x| per bin; zeros apart (quantization keeps them exact).
    private(set) var counts = [Int](repeating: 0, count: binsPerOctave * octaves)
    public private(set) var zeros = 0
    public private(set) var maximum: Float = 0
    public private(set) var negatives = 0
    /// Σx², for the relative error's denominator.
    private(set) var sumOfSquares: Double = 0

    public init() {}

    public var count: Int { zeros + counts.reduce(0, +) }
    /// No value below zero was seen: the map is a ReLU's output (or the like).
    public var isNonNegative: Bool { negatives == 0 }

    public mutating func add(_ values: [Float]) {
        for value in values {
            guard value.isFinite else { continue }
            if value < 0 { negatives += 1 }
            let magnitude = abs(value)
            guard magnitude > 0 else {
                zeros += 1
                continue
            }
            maximum = max(maximum, magnitude)
            sumOfSquares += Double(magnitude) * Double(magnitude)
            counts[Self.bin(of: magnitude)] += 1
        }
    }

    static func bin(of magnitude: Float) -> Int {
        let position = (Double(log2(magnitude)) - Double(lowestOctave)) * Double(binsPerOctave)
        return min(max(Int(position.rounded(.down)), 0), binsPerOctave * octaves - 1)
    }

    /// The upper edge of bin `index`.
    static func upperEdge(_ index: Int) -> Double {
        exp2(Double(index + 1) / Double(binsPerOctave) + Double(lowestOctave))
    }

    /// The geometric middle of bin `index`: the value its counts stand for.
    static func middle(_ index: Int) -> Double {
        exp2((Double(index) + 0.5) / Double(binsPerOctave) + Double(lowestOctave))
    }

    /// The magnitude below which `fraction` of the values lie (zeros included), as the upper
    /// edge of its bin, never above the maximum seen.
    public func percentile(_ fraction: Double) -> Float {
        let wanted = Double(count) * fraction
        var seen = Double(zeros)
        guard seen < wanted else { return 0 }
        for (index, binCount) in counts.enumerated() where binCount > 0 {
            seen += Double(binCount)
            if seen >= wanted { return min(Float(Self.upperEdge(index)), maximum) }
        }
        return maximum
    }

    /// Root-mean-square error of quantizing the values symmetrically to int8 with `clip` at
    /// ±127, relative to their root mean square. A value rounds to the nearest step (uniform
    /// error, step²/12) or to zero when under half a step (its square); one past the clip
    /// saturates (its distance to the clip).
    public func relativeError(clip: Float) -> Double {
        guard sumOfSquares > 0, clip > 0 else { return 0 }
        let step = Double(clip) / 127
        var squared = 0.0
        for (index, binCount) in counts.enumerated() where binCount > 0 {
            let value = Self.middle(index)
            let error: Double
            if value > Double(clip) {
                error = (value - Double(clip)) * (value - Double(clip))
            } else if value < step / 2 {
                error = value * value
            } else {
                error = step * step / 12
            }
            squared += Double(binCount) * error
        }
        return (squared / sumOfSquares).squareRoot()
    }
}
