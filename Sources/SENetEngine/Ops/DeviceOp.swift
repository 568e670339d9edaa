import OpenCLKit
import SENetCore

/// A device operation: its kernel launches, arguments bound when the plan was made, so running
/// it is one enqueue per launch on the runtime's in-order queue.
public final class DeviceOp: @unchecked Sendable {
    public let launches: [KernelLaunch]
    /// For a convolution, the tiling its launches were built with (after any substitution).
    public let convolutionTiling: ConvolutionTiling?
    /// Slices of the reduction (split-K) the launches compute; 1 when K is not split.
    public let splitK: Int
    /// What was replaced while building the launches, and why (a work-group the built kernel
    /// cannot run, scratch that is missing).
    public let substitutions: [String]

    public init(
        _ launches: [KernelLaunch], convolutionTiling: ConvolutionTiling? = nil, splitK: Int = 1, substitutions: [String] = []
    ) {
        (self.launches, self.convolutionTiling, self.splitK, self.substitutions) =
            (launches, convolutionTiling, splitK, substitutions)
    }

    /// The same launches with `notes` recorded before its own substitutions.
    func noting(_ notes: [String]) -> DeviceOp {
        DeviceOp(launches, convolutionTiling: convolutionTiling, splitK: splitK, substitutions: notes + substitutions)
    }

    /// Enqueues every launch; returns their events only when `profile` (else none).
    @discardableResult
    public func enqueue(on queue: CLQueue, profile: Bool) throws -> [CLEvent] {
        try launches.compactMap { try $0.enqueue(on: queue, profile: profile) }
    }
}

/// What a device op is bound to when the plan is made.
public struct DeviceBinding {
    public let context: LoweringContext
    /// The node's input and output values (shape, element type, layout).
    public let inputValues: [ValueInfo]
    public let outputValue: ValueInfo
    public let inputs: [CLBuffer]
    public let output: CLBuffer
    /// The op's weights on the device, as `deviceParameters(context)` packed them.
    public let weights: [CLBuffer]
    /// Shared scratch of at least `scratchBytes` bytes; nil when the op needs none.
    public let scratch: CLBuffer?

    public var runtime: DeviceRuntime { context.runtime }
    public var tuning: TuningTable? { context.tuning }
    public var family: KernelFamily { context.family }
    /// The op's element types: its feature maps' storage and the plan's weight storage.
    public var types: KernelTypes {
        let featureMap = (inputValues + [outputValue]).first { $0.shape.count == 4 }
        return KernelTypes(activations: featureMap?.elementType ?? .float32, weights: context.precision.storage)
    }
}

/// A graph op that can run on an OpenCL device. Each op kind adds it by extension beside its
/// device code; a kind without it runs on the CPU reference.
public protocol DeviceLowerable: GraphOp {
    /// The weights as the kernels chosen in `context` read them; packed once when uploaded,
    /// then released.
    func deviceParameters(_ context: LoweringContext) -> [Tensor]
    /// The shapes of `deviceParameters(context)`, without packing anything (memory estimates).
    func deviceParameterShapes(_ context: LoweringContext) -> [[Int]]
    /// How each of `deviceParameters(context)` is stored, or nil for the plan's rule (matrices
    /// in its precision's storage, vectors fp32). Int8 ops store their weights as int8.
    func deviceParameterElements(_ context: LoweringContext) -> [ElementType]?
    /// The name of that layout: uploads are keyed by (op name, layout), so two layouts of one
    /// layer never share buffers.
    func parameterLayout(_ context: LoweringContext) -> String
    /// Bytes of plan-wide scratch the device op needs (shared by all ops, one at a time).
    func scratchBytes(output: ValueInfo, context: LoweringContext) -> Int
    /// True when the op may write its output over its first input (elementwise ops).
    var writesInPlace: Bool { get }
    /// Why this op cannot run on the device for these values, or nil when it can.
    func unsupportedReason(inputs: [ValueInfo], output: ValueInfo, device: CLDevice) -> String?
    /// The device op, with its arguments bound.
    func makeDeviceOp(_ binding: DeviceBinding) throws -> DeviceOp
}

extension DeviceLowerable {
    public func deviceParameters(_ context: LoweringContext) -> [Tensor] { parameters }
    public func deviceParameterShapes(_ context: LoweringContext) -> [[Int]] { parameters.map(\.shape) }
    public func parameterLayout(_ context: LoweringContext) -> String { "plain" }
    public func deviceParameterElements(_ context: LoweringContext) -> [ElementType]? { nil }
    public func scratchBytes(output: ValueInfo, context: LoweringContext) -> Int { 0 }
    public var writesInPlace: Bool { false }

    /// The common case: feature maps fp32 or fp16, per-channel values fp32, natural layouts.
    public func unsupportedReason(inputs: [ValueInfo], output: ValueInfo, device: CLDevice) -> String? {
        let values = inputs + [output]
        if let other = values.first(where: { $0.elementType != .float32 && ($0.shape.count != 4 || $0.elementType != .float16) })
        {
            return "no \(other.elementType.rawValue) kernel for \(Self.kind) on \(other.shape.count)-D values"
        }
        if let other = values.first(where: { $0.layout != ($0.shape.count == 4 ? .nchw : .nc) }) {
            return "no \(other.layout.rawValue) kernel for \(Self.kind)"
        }
        return nil
    }
}
