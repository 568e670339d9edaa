import Foundation
import OpenCLKit
import SENetCore

/// The network's weights on one device, uploaded once and shared by every plan of an engine
/// (other batch sizes, other input sizes). Weights are keyed by layer name: a network's layers
/// have the same weights whatever the input shape.
///
/// In fp16 the weight matrices (every parameter of rank 2 or more) are stored as half, after
/// BatchNorm folding, and a tensor with values past half's range is an error naming it;
/// biases stay fp32.
///
/// Thread-safe: uploads happen under a lock.
public final class DeviceModel: @unchecked Sendable {
    public let runtime: DeviceRuntime
    public let precision: Precision
    /// Layer name → the weight file's tensor name, for error messages (`SEResNet.weightNames`).
    let tensorNames: [String: String]
    private var buffers: [String: [CLBuffer]] = [:]
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

    /// The device weights of `op`, uploading them on first use. The packed host copies live only
    /// for the upload. Throws `weightOutOfHalfRange` before uploading anything of the op.
    public func weights(for op: any DeviceLowerable) throws -> [CLBuffer] {
        try lock.withLock {
            if let cached = buffers[op.name] { return cached }
            let tensors = op.deviceParameters()
            let elements = tensors.map { Self.element(of: $0, precision) }
            for (tensor, element) in zip(tensors, elements) where element == .float16 {
                try Self.checkHalfRange(tensor, name: tensorNames[op.name] ?? "\(op.name).weight")
            }
            let uploaded = try zip(tensors, elements).map { tensor, element in
                let buffer = try runtime.upload(tensor, as: element)
                bytes += buffer.byteCount
                uploads += 1
                return buffer
            }
            buffers[op.name] = uploaded
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
        let limit = Float(Float16.greatestFiniteMagnitude)
        var (count, largest): (Int, Float) = (0, 0)
        for value in tensor.data where value.isFinite && abs(value) > limit {
            (count, largest) = (count + 1, max(largest, abs(value)))
        }
        if count > 0 { throw EngineError.weightOutOfHalfRange(tensor: name, largest: largest, count: count) }
    }

    /// Bytes the weights of `ops` take on the device in `precision` (uploaded or not), as
    /// packed: a convolution's output channels padded to whole blocks of 64.
    static func bytes(of ops: [any DeviceLowerable], precision: Precision) -> Int {
        ops.reduce(0) { total, op in
            total
                + op.deviceParameterShapes.reduce(0) {
                    $0 + $1.reduce(1, *) * element(ofShape: $1, precision).byteSize
                }
        }
    }
}
