/// How far one tensor is from a reference, in the project's one error measure:
/// relative error = max |actual − expected| / max |expected|.
public struct Comparison: Sendable, CustomStringConvertible {
    public let maxAbsoluteError: Float
    /// `maxAbsoluteError` over the largest reference magnitude (or the absolute error when the
    /// reference is all zeros).
    public let relativeError: Float
    /// Flat index of the largest absolute error.
    public let worstIndex: Int
    public let actualAtWorst: Float
    public let expectedAtWorst: Float
    /// True when either side holds NaN or infinity.
    public let hasNonFinite: Bool

    public init(actual: Tensor, expected: Tensor) {
        precondition(actual.shape == expected.shape, "comparing shapes \(actual.shape) and \(expected.shape)")
        var worst: Float = 0
        var worstIndex = 0
        var scale: Float = 0
        var nonFinite = false
        for i in 0..<expected.count {
            let (a, e) = (actual.data[i], expected.data[i])
            if !a.isFinite || !e.isFinite { nonFinite = true }
            let error = abs(a - e)
            if error > worst || error.isNaN && !worst.isNaN { (worst, worstIndex) = (error, i) }
            scale = max(scale, abs(e))
        }
        maxAbsoluteError = nonFinite ? .infinity : worst
        relativeError = nonFinite ? .infinity : (scale > 0 ? worst / scale : worst)
        self.worstIndex = worstIndex
        actualAtWorst = actual.count > 0 ? actual.data[worstIndex] : 0
        expectedAtWorst = expected.count > 0 ? expected.data[worstIndex] : 0
        hasNonFinite = nonFinite
    }

    /// Passes when the relative error is at most `tolerance` and all values are finite.
    public func passes(tolerance: Float) -> Bool { !hasNonFinite && relativeError <= tolerance }

    public var description: String {
        "max abs error \(maxAbsoluteError), relative \(relativeError) at index \(worstIndex) "
            + "(got \(actualAtWorst), expected \(expectedAtWorst))"
    }
}
