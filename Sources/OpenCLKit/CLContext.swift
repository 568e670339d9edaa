import COpenCL

/// Owns a `cl_context` for one device.
public final class CLContext: @unchecked Sendable {
    public let device: CLDevice
    let handle: cl_context

    public init(device: CLDevice) throws {
        self.device = device
        var id: cl_device_id? = device.id
        handle = try checked("clCreateContext") { clCreateContext(nil, 1, &id, nil, nil, $0) }
        CLObjectCount.created("context")
    }

    deinit {
        clReleaseContext(handle)
        CLObjectCount.released("context")
    }
}

/// Owns an in-order `cl_command_queue`; keeps its context alive.
public final class CLQueue: @unchecked Sendable {
    public let context: CLContext
    public let profiling: Bool
    let handle: cl_command_queue

    public init(context: CLContext, profiling: Bool = false) throws {
        self.context = context
        self.profiling = profiling
        let properties = profiling ? cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE) : 0
        handle = try checked("clCreateCommandQueue") {
            clCreateCommandQueue(context.handle, context.device.id, properties, $0)
        }
        CLObjectCount.created("queue")
    }

    deinit {
        clReleaseCommandQueue(handle)
        CLObjectCount.released("queue")
    }

    /// Blocks until every enqueued command has finished.
    public func finish() throws { try check(clFinish(handle), "clFinish") }
}

/// Owns a `cl_event`; gives kernel timings when the queue profiles.
public final class CLEvent: @unchecked Sendable {
    let handle: cl_event

    init(handle: cl_event) {
        self.handle = handle
        CLObjectCount.created("event")
    }

    deinit {
        clReleaseEvent(handle)
        CLObjectCount.released("event")
    }

    /// Device time between start and end of the command, in nanoseconds.
    /// The command's start and end on the device clock (CL_PROFILING_COMMAND_START / END).
    public func startAndEndNanoseconds() throws -> (start: UInt64, end: UInt64) {
        (try profile(CL_PROFILING_COMMAND_START), try profile(CL_PROFILING_COMMAND_END))
    }

    public func durationNanoseconds() throws -> UInt64 {
        try profile(CL_PROFILING_COMMAND_END) - profile(CL_PROFILING_COMMAND_START)
    }

    private func profile(_ param: Int32) throws -> UInt64 {
        var value: cl_ulong = 0
        try check(
            clGetEventProfilingInfo(handle, cl_profiling_info(param), MemoryLayout<cl_ulong>.size, &value, nil),
            "clGetEventProfilingInfo")
        return value
    }
}
