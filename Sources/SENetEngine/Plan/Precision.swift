import OpenCLKit
import SENetCore

/// How a plan stores feature maps and weights on the device.
public enum Precision: String, CaseIterable, Sendable, Codable {
    /// Everything fp32.
    case fp32
    /// Feature maps and weight matrices stored as half (half the memory and bandwidth); biases
    /// and per-channel values stay fp32, and sums are fp32 (see `Arithmetic`).
    case fp16
    /// The calibrated convolutions and classifier read int8 codes of their inputs and int8
    /// weights, with exact int32 sums; every other op, and the feature maps between them, fp32.
    case int8

    /// How feature maps and weight matrices are stored.
    public var storage: ElementType { self == .fp16 ? .float16 : .float32 }

    /// Default largest relative error of the logits against the fp32 reference: 1e-4 in fp32;
    /// 2e-2 in fp16 (half keeps 11 significant bits, about 5e-4 per rounding, and a deep network
    /// rounds every feature map once more; docs/PRECISION.md has the measurements).
    /// In int8, against the int8 graph's own reference: the integer sums are exact, but a value
    /// that lands on a rounding boundary may take the neighbouring code when the device rounds
    /// an fp32 step differently, and that step passes through the layers after it.
    public var tolerance: Float {
        switch self {
        case .fp32: return 1e-4
        case .fp16: return 2e-2
        case .int8: return 1e-3
        }
    }
}

/// Which arithmetic the fp16 convolutions use.
public enum Arithmetic: String, CaseIterable, Sendable, Codable {
    /// fp32 arithmetic unless `tune` found half arithmetic faster for a shape on this device.
    case auto
    /// fp32 products and sums on half storage: runs on every device.
    case fp32
    /// Half products summed in short half partial sums, then fp32 accumulators: needs
    /// `cl_khr_fp16` (with a non-empty CL_DEVICE_HALF_FP_CONFIG).
    case fp16
}

/// The element types one kernel build uses: `-D` options of `precision.cl`.
public struct KernelTypes: Hashable, Sendable {
    /// How feature maps are stored (`ACT_T`).
    public var activations: ElementType
    /// How weight matrices are stored (`W_T`); biases are always fp32.
    public var weights: ElementType
    /// Half arithmetic (`HALF_MATH`): the channel-vector and GPU convolutions only.
    public var halfArithmetic: Bool

    public init(activations: ElementType = .float32, weights: ElementType = .float32, halfArithmetic: Bool = false) {
        (self.activations, self.weights, self.halfArithmetic) = (activations, weights, halfArithmetic)
    }

    /// Storage of `precision` for both, fp32 arithmetic.
    public init(_ precision: Precision) { self.init(activations: precision.storage, weights: precision.storage) }

    /// These types with half arithmetic when `on`; half arithmetic reads half storage only.
    func withHalfArithmetic(_ on: Bool) -> KernelTypes {
        precondition(!on || (activations == .float16 && weights == .float16), "half arithmetic needs half storage")
        var types = self
        types.halfArithmetic = on
        return types
    }

    /// The `-D` values; fp32 builds pass none, so their programs are the same as before fp16.
    var defines: [String: Int] {
        var all: [String: Int] = [:]
        if activations == .float16 { all["ACT_HALF"] = 1 }
        if weights == .float16 { all["W_HALF"] = 1 }
        if halfArithmetic { all["HALF_MATH"] = 1 }
        return all
    }
}
