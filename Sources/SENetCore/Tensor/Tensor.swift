/// A dense host tensor of `Float`, row-major; images and activations are NCHW.
public struct Tensor: Equatable, Sendable {
    /// Extent of each dimension, outermost first.
    public var shape: [Int]
    /// `shape.reduce(1, *)` values, row-major.
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not hold \(data.count) values")
        self.shape = shape
        self.data = data
    }

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// Number of values.
    public var count: Int { data.count }

    /// Uniform values in [low, high) from a seeded generator: the same seed gives the same tensor.
    public static func random(shape: [Int], seed: UInt64, in range: ClosedRange<Float> = -1...1) -> Tensor {
        var generator = SplitMix64(seed: seed)
        let values = (0..<shape.reduce(1, *)).map { _ in generator.nextFloat(in: range) }
        return Tensor(shape: shape, data: values)
    }
}

/// A small, fast, seedable generator (SplitMix64); the Python tools implement the same one.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A float in `range` built from the top 24 bits, so Python can reproduce it exactly.
    public mutating func nextFloat(in range: ClosedRange<Float>) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)
        return range.lowerBound + (range.upperBound - range.lowerBound) * unit
    }
}

extension Tensor {
    /// The values as `element` would store them, back as fp32 (half: rounded to nearest even;
    /// int8: the values are codes, rounded half away from zero and clamped to ±127).
    public func rounded(to element: ElementType) -> Tensor {
        switch element {
        case .float32: return self
        case .float16: return Tensor(shape: shape, data: data.map { Float(Float16($0)) })
        case .int8: return Tensor(shape: shape, data: data.map { min(max($0.rounded(), -127), 127) })
        }
    }
}

extension Tensor {
    /// Index of the largest value in row `row` of a [N, K] tensor (the first one on ties).
    public func argmax(row: Int) -> Int {
        let width = shape[1]
        let values = data[(row * width)..<((row + 1) * width)]
        return values.indices.max { values[$0] < values[$1] || (values[$0] == values[$1] && $0 > $1) }! - row * width
    }
}
