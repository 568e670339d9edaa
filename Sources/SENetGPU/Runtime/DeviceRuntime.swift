import Foundation

/// One OpenCL device opened for work: its context, one in-order queue and its program cache.
public final class DeviceRuntime: @unchecked Sendable {
    public let device: CLDevice
    public let context: CLContext
    public let queue: CLQueue
    public let programs: ProgramCache

    public init(
        device: CLDevice, sources: KernelSources = .fromEnvironment(),
        cacheDirectory: URL? = ProgramCache.defaultDirectory(), profiling: Bool = false
    ) throws {
        self.device = device
        context = try CLContext(device: device)
        queue = try CLQueue(context: context, profiling: profiling)
        programs = ProgramCache(context: context, sources: sources, directory: cacheDirectory)
    }

    /// Opens device `index` of the flat list; a clear error when there is no platform or no
    /// such device.
    public convenience init(
        index: Int, sources: KernelSources = .fromEnvironment(),
        cacheDirectory: URL? = ProgramCache.defaultDirectory(), profiling: Bool = false
    ) throws {
        let devices = try CLDevice.all()
        if devices.isEmpty { throw SENetError.noOpenCLPlatform }
        guard devices.indices.contains(index) else {
            throw SENetError.deviceIndexOutOfRange(index: index, available: devices.map(\.description))
        }
        try self.init(device: devices[index], sources: sources, cacheDirectory: cacheDirectory, profiling: profiling)
    }

    /// A fresh kernel object (each op binds its own arguments once) from a cached program.
    /// `perturb` builds it with `DEBUG_PERTURB`, which makes it wrong on purpose (tests of `compare`).
    public func kernel(_ name: String, file: String, defines: [String: Int] = [:], perturb: Bool = false) throws -> CLKernel {
        var all = defines
        if perturb { all["DEBUG_PERTURB"] = 1 }
        return try CLKernel(program: programs.program(file: file, defines: all), name: name)
    }

    /// A device buffer holding `tensor`'s values.
    public func upload(_ tensor: Tensor) throws -> CLBuffer {
        try CLBuffer(queue: queue, values: tensor.data)
    }

    /// A device buffer of `count` floats, contents undefined.
    public func buffer(count: Int) throws -> CLBuffer {
        try CLBuffer(context: context, count: count)
    }

    /// Reads `buffer` back as a tensor of `shape`; waits for queued work.
    public func download(_ buffer: CLBuffer, shape: [Int]) throws -> Tensor {
        Tensor(shape: shape, data: try buffer.read(count: shape.reduce(1, *), queue: queue))
    }
}
