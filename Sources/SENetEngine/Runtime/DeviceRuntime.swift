import Foundation
import OpenCLKit
import SENetCore

/// One OpenCL device opened for work: its context, one in-order queue and its program cache.
public final class DeviceRuntime: @unchecked Sendable {
    public let device: CLDevice
    public let context: CLContext
    public let queue: CLQueue
    public let programs: ProgramCache

    /// `storeProgramBinaries`: see `ProgramCache.storesBinaries` (nil: by driver).
    public init(
        device: CLDevice, sources: KernelSources = .fromEnvironment(),
        cacheDirectory: URL? = ProgramCache.defaultDirectory(), profiling: Bool = false, storeProgramBinaries: Bool? = nil
    ) throws {
        self.device = device
        context = try CLContext(device: device)
        queue = try CLQueue(context: context, profiling: profiling)
        programs = ProgramCache(
            context: context, sources: sources, directory: cacheDirectory, storesBinaries: storeProgramBinaries)
    }

    /// Opens device `index` of the flat list; a clear error when there is no platform or no
    /// such device.
    public convenience init(
        index: Int, sources: KernelSources = .fromEnvironment(),
        cacheDirectory: URL? = ProgramCache.defaultDirectory(), profiling: Bool = false
    ) throws {
        let devices = try CLDevice.all()
        if devices.isEmpty { throw EngineError.noOpenCLPlatform }
        guard devices.indices.contains(index) else {
            throw EngineError.deviceIndexOutOfRange(index: index, available: devices.map(\.description))
        }
        try self.init(device: devices[index], sources: sources, cacheDirectory: cacheDirectory, profiling: profiling)
    }

    /// Work-group size for kernels whose work-items are independent: fixed, because PoCL compiles
    /// a kernel once per work-group size and a driver's choice varies with every global size.
    public var independentWorkGroupSize: Int { device.type == .cpu ? 8 : 64 }

    /// `global` rounded up to a multiple of `independentWorkGroupSize` (kernels skip the extra items).
    public func roundedUp(_ global: Int) -> Int {
        let size = independentWorkGroupSize
        return (global + size - 1) / size * size
    }

    /// A fresh kernel object (each launch binds its own arguments once) from a cached program
    /// built with `defines` and the element types of `types` (`precision.cl`).
    public func kernel(
        _ name: String, file: String, defines: [String: Int] = [:], types: KernelTypes = KernelTypes(),
        standard: String = "CL1.2"
    ) throws -> CLKernel {
        let all = defines.merging(types.defines) { mine, _ in mine }.mapValues(String.init)
        return try CLKernel(program: programs.program(file: file, defines: all, standard: standard), name: name)
    }

    /// A device buffer holding `tensor`'s values stored as `element` (fp16: rounded to nearest
    /// even; values past 65504 become infinite, so callers check the range first).
    public func upload(_ tensor: Tensor, as element: ElementType = .float32) throws -> CLBuffer {
        switch element {
        case .float32: return try CLBuffer(queue: queue, values: tensor.data)
        case .float16: return try CLBuffer(queue: queue, values: tensor.data.map { Float16($0).bitPattern })
        case .int8: return try CLBuffer(queue: queue, values: Self.int8Codes(tensor))
        }
    }

    /// Writes `tensor` into `buffer`, stored as `element`.
    public func write(_ tensor: Tensor, to buffer: CLBuffer, as element: ElementType = .float32) throws {
        switch element {
        case .float32: try buffer.write(tensor.data, queue: queue)
        case .float16: try buffer.write(tensor.data.map { Float16($0).bitPattern }, queue: queue)
        case .int8: try buffer.write(Self.int8Codes(tensor), queue: queue)
        }
    }

    /// A device buffer of `bytes` bytes, contents undefined.
    public func buffer(bytes: Int) throws -> CLBuffer {
        try CLBuffer(context: context, byteCount: bytes)
    }

    /// A buffer for `count` fp32 values (tests, tuner and self-check scratch).
    public func buffer(floats count: Int) throws -> CLBuffer { try buffer(bytes: count * MemoryLayout<Float>.stride) }

    /// Reads `buffer` back as a tensor of `shape`, converting from `element`; waits for queued work.
    public func download(_ buffer: CLBuffer, shape: [Int], as element: ElementType = .float32) throws -> Tensor {
        let count = shape.reduce(1, *)
        switch element {
        case .float32: return Tensor(shape: shape, data: try buffer.read(Float.self, count: count, queue: queue))
        case .float16:
            let bits = try buffer.read(UInt16.self, count: count, queue: queue)
            return Tensor(shape: shape, data: bits.map { Float(Float16(bitPattern: $0)) })
        case .int8 where shape.count != 4:
            return Tensor(shape: shape, data: try buffer.read(Int8.self, count: count, queue: queue).map(Float.init))
        case .int8:
            let stored = ValueInfo(name: "", shape: shape, elementType: .int8, layout: .nc4hw4).storedCount
            return Self.unpackNC4HW4(try buffer.read(Int8.self, count: stored, queue: queue), shape: shape)
        }
    }

    /// Int8 codes of a tensor: a 4-D feature map in `nc4hw4` (int8 feature maps live on devices
    /// in that layout only); anything else (packed weights) in its own order.
    static func int8Codes(_ tensor: Tensor) -> [Int8] {
        tensor.shape.count == 4 ? packNC4HW4(tensor) : tensor.data.map { Int8(min(max($0.rounded(), -127), 127)) }
    }

    /// Int8 codes (floats in ±127) of an [N, C, H, W] tensor in `nc4hw4`, zeros past C.
    static func packNC4HW4(_ tensor: Tensor) -> [Int8] {
        let (n, c, plane) = (tensor.shape[0], tensor.shape[1], tensor.shape[2...].reduce(1, *))
        let blocks = (c + 3) / 4
        var packed = [Int8](repeating: 0, count: n * blocks * plane * 4)
        for image in 0..<n {
            for channel in 0..<c {
                for pixel in 0..<plane {
                    let code = min(max(tensor.data[(image * c + channel) * plane + pixel].rounded(), -127), 127)
                    packed[((image * blocks + channel / 4) * plane + pixel) * 4 + channel % 4] = Int8(code)
                }
            }
        }
        return packed
    }

    /// `packNC4HW4` undone: the codes of `shape` as floats.
    static func unpackNC4HW4(_ packed: [Int8], shape: [Int]) -> Tensor {
        let (n, c, plane) = (shape[0], shape[1], shape[2...].reduce(1, *))
        let blocks = (c + 3) / 4
        var data = [Float](repeating: 0, count: n * c * plane)
        for image in 0..<n {
            for channel in 0..<c {
                for pixel in 0..<plane {
                    data[(image * c + channel) * plane + pixel] = Float(
                        packed[((image * blocks + channel / 4) * plane + pixel) * 4 + channel % 4])
                }
            }
        }
        return Tensor(shape: shape, data: data)
    }
}
