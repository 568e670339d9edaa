import Foundation
import OpenCLKit
import SENetCore

/// The network's weights on one device, uploaded once and shared by every plan of an engine
/// (other batch sizes, other input sizes). Weights are keyed by layer name: a network's layers
/// have the same weights whatever the input shape.
///
/// Thread-safe: uploads happen under a lock.
public final class DeviceModel: @unchecked Sendable {
    public let runtime: DeviceRuntime
    private var buffers: [String: [CLBuffer]] = [:]
    private var bytes = 0
    private var uploads = 0
    private let lock = NSLock()

    public init(runtime: DeviceRuntime) { self.runtime = runtime }

    /// Bytes of weights on the device.
    public var weightBytes: Int { lock.withLock { bytes } }
    /// Tensors uploaded so far (each exactly once).
    public var uploadCount: Int { lock.withLock { uploads } }

    /// The device weights of `op`, uploading them on first use. The packed host copies live only
    /// for the upload.
    public func weights(for op: any DeviceLowerable) throws -> [CLBuffer] {
        try lock.withLock {
            if let cached = buffers[op.name] { return cached }
            let uploaded = try op.deviceParameters().map { tensor in
                let buffer = try runtime.upload(tensor)
                bytes += buffer.byteCount
                uploads += 1
                return buffer
            }
            buffers[op.name] = uploaded
            return uploaded
        }
    }

    /// Bytes the weights of `ops` take on the device (uploaded or not).
    static func bytes(of ops: [any DeviceLowerable]) -> Int {
        ops.reduce(0) { $0 + $1.parameters.reduce(0) { $0 + $1.count * MemoryLayout<Float>.stride } }
    }
}
