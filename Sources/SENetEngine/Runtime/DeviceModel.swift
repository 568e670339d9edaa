import Foundation
import OpenCLKit
import SENetCore

/// The network's weights on one device, uploaded once and shared by every plan of an engine
/// (other batch sizes, other input sizes). Weights are keyed by layer name and layout: a
/// network's layers have the same weights whatever the input shape, and a layer whose plans
/// choose algorithms with different packings gets one upload per packing.
///
/// In fp16 the weight matrices (every parameter of rank 2 or more) are stored as half, after
/// BatchNorm folding, and a tensor with values past half's range is an error naming it;
/// biases stay fp32. Each upload takes the precision of the context it is lowered in, so a
/// mixed-precision plan's fp32-kept layers get fp32 weights beside the others' half ones.
///
/// Thread-safe: uploads happen under a lock.
public final class DeviceModel: @unchecked Sendable {
    public let runtime: DeviceRuntime
    /// The engine's precision (a mixed plan's kept layers upload fp32 beside it).
    public let precision: Precision
    /// Layer name → the weight file's tensor name, for error messages (`SEResNet.weightNames`).
    let tensorNames: [String: String]
    private var buffers: [Key: [CLBuffer]] = [:]
    private var bytes = 0
    private var uploads = 0
    private let lock = NSLock()

    public init(runtime: DeviceRuntime, precision: Precision = .fp32, tensorNames: [String: String] = [:]) {
        (self.runtime, self.precision, self.tensorNames) = (runtime, precision, tensorNames)
    }

    /// Bytes of weights on the device.
    public var weightBytes: Int { lock.withLock { bytes } }
    /// Tensors uploaded so far (each exactly once).
    public var uploadCount: Int { lock.withLock { uploads } }

    /// What one upload is keyed by.
    struct Key: Hashable {
        let layer: String
        let layout: String
        let precision: Precision

        init(_ op: any DeviceLowerable, _ context: LoweringContext) {
            (layer, layout, precision) = (op.name, op.parameterLayout(context), context.precision)
        }
    }

    /// The device weights of `op` as lowered in `context`, uploading them on first use in that
    /// layout. The packed host copies live only for the upload. Throws `weightOutOfHalfRange`
    /// before uploading anything of the op.
    public func weights(for op: any DeviceLowerable, context: LoweringContext) throws -> [CLBuffer] {
        try lock.withLock {
            let key = Key(op, context)
            if let cached = buffers[key] { return cached }
            let tensors = op.deviceParameters(context)
            let elements = op.deviceParameterElements(context) ?? tensors.map { Self.element(of: $0, context.precision) }
            for (tensor, element) in zip(tensors, elements) where element == .float16 {
                try Self.checkHalfRange(tensor, name: tensorNames[op.name] ?? "\(op.name).weight")
            }
            let uploaded = try zip(tensors, elements).map { tensor, element in
                let buffer = try runtime.upload(tensor, as: element)
                bytes += buffer.byteCount
                uploads += 1
                return buffer
            }
            buffers[key] = uploaded
            return uploaded
        }
    }

    /// How a parameter is stored: matrices in the plan's precision, vectors (biases) in fp32.
    static func element(of parameter: Tensor, _ precision: Precision) -> ElementType {
        element(ofShape: parameter.shape, precision)
    }

    static func element(ofShape shape: [Int], _ precision: Precision) -> ElementType {
        shape.count >= 2 ? precision.storage : .float32
    }

    /// Throws when finite values of `tensor` would overflow half (NaN and infinity in the file
    /// are warned about at load time already).
    static func checkHalfRange(_ tensor: Tensor, name: String) throws {
        let (count, largest) = pastHalf(tensor)
        if count > 0 { throw EngineError.weightOutOfHalfRange(tensor: name, largest: largest, count: count) }
    }

    /// How many finite values of `tensor` pass half's largest (65504), and the largest of them.
    static func pastHalf(_ tensor: Tensor) -> (count: Int, largest: Float) {
        let limit = Float(Float16.greatestFiniteMagnitude)
        var (count, largest): (Int, Float) = (0, 0)
        for value in tensor.data where value.isFinite && abs(value) > limit {
            (count, largest) = (count + 1, max(largest, abs(value)))
        }
        return (count, largest)
    }

    /// Bytes the weights of `ops` take on the device as lowered in `context` (uploaded or not),
    /// as packed (for `oc64`, output channels padded to whole blocks of 64).
    static func bytes(of ops: [any DeviceLowerable], context: LoweringContext) -> Int {
        bytes(of: ops.map { ($0, context) })
    }

    /// Bytes the weights take, each op lowered in its own context.
    static func bytes(of lowered: [(op: any DeviceLowerable, context: LoweringContext)]) -> Int {
        var seen = Set<Key>()
        return lowered.reduce(0) { total, item in
            let (op, context) = item
            guard seen.insert(Key(op, context)).inserted else { return total }
            let shapes = op.deviceParameterShapes(context)
            let elements = op.deviceParameterElements(context) ?? shapes.map { element(ofShape: $0, context.precision) }
            return total + zip(shapes, elements).reduce(0) { $0 + $1.0.reduce(1, *) * $1.1.byteSize }
        }
    }
}
