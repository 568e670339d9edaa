import COpenCL
import Foundation

/// Owns a built `cl_program` for one device; keeps its context alive.
public final class CLProgram: @unchecked Sendable {
    public let context: CLContext
    let handle: cl_program

    /// Compiles `source` with `options`. A compiler error throws a `CLError` carrying the
    /// driver's build log.
    public init(context: CLContext, source: String, options: String, name: String) throws {
        self.context = context
        handle = try source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            return try checked("clCreateProgramWithSource") {
                clCreateProgramWithSource(context.handle, 1, &pointer, nil, $0)
            }
        }
        CLObjectCount.created("program")  // From here deinit releases it, also if the build throws.
        try build(options: options, name: name)
    }

    /// Loads a binary produced earlier by `binary()` for the same device. Throws when the
    /// driver rejects it (CL_INVALID_BINARY and friends); callers treat that as a cache miss.
    public init(context: CLContext, binary: [UInt8], options: String, name: String) throws {
        self.context = context
        var device: cl_device_id? = context.device.id
        var length = binary.count
        var binaryStatus: cl_int = CL_SUCCESS
        handle = try binary.withUnsafeBufferPointer { bytes in
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            return try checked("clCreateProgramWithBinary") {
                clCreateProgramWithBinary(context.handle, 1, &device, &length, &pointer, &binaryStatus, $0)
            }
        }
        CLObjectCount.created("program")  // From here deinit releases it, also when we throw.
        if binaryStatus != CL_SUCCESS { throw CLError(code: binaryStatus, call: "clCreateProgramWithBinary") }
        try build(options: options, name: name)
    }

    deinit {
        clReleaseProgram(handle)
        CLObjectCount.released("program")
    }

    /// The device binary of the built program, for the disk cache.
    public func binary() throws -> [UInt8] {
        var size = 0
        try check(
            clGetProgramInfo(handle, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
            "clGetProgramInfo")
        guard size > 0 else { throw CLError(code: CL_INVALID_PROGRAM_EXECUTABLE, call: "clGetProgramInfo") }
        var bytes = [UInt8](repeating: 0, count: size)
        try bytes.withUnsafeMutableBufferPointer { buffer in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            try check(
                clGetProgramInfo(
                    handle, cl_program_info(CL_PROGRAM_BINARIES),
                    MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil),
                "clGetProgramInfo")
        }
        return bytes
    }

    /// The driver's build log (warnings too), trimmed.
    public func buildLog() -> String {
        var size = 0
        let id = context.device.id
        guard clGetProgramBuildInfo(handle, id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size) == CL_SUCCESS,
            size > 1
        else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetProgramBuildInfo(handle, id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil) == CL_SUCCESS
        else { return "" }
        return String(cString: bytes).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func build(options: String, name: String) throws {
        var device: cl_device_id? = context.device.id
        let status = clBuildProgram(handle, 1, &device, options, nil, nil)
        if status == CL_BUILD_PROGRAM_FAILURE || status == CL_INVALID_BUILD_OPTIONS {
            throw CLError(code: status, call: "clBuildProgram(\(name))", log: buildLog())
        }
        try check(status, "clBuildProgram")
    }
}

/// Owns a `cl_kernel`; keeps its program and its buffer arguments alive (OpenCL does not retain
/// buffers set as arguments). Arguments are typed: OpenCL `int` is `Int32`.
public final class CLKernel: @unchecked Sendable {
    public let program: CLProgram
    public let name: String
    let handle: cl_kernel
    private var boundBuffers: [Int: CLBuffer] = [:]

    public init(program: CLProgram, name: String) throws {
        self.program = program
        self.name = name
        handle = try checked("clCreateKernel(\(name))") { clCreateKernel(program.handle, name, $0) }
        CLObjectCount.created("kernel")
        var size = 0
        try check(
            clGetKernelWorkGroupInfo(
                handle, program.context.device.id, cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE), MemoryLayout<Int>.size,
                &size, nil),
            "clGetKernelWorkGroupInfo(\(name))")
        maxWorkGroupSize = size
        var multiple = 1
        _ = clGetKernelWorkGroupInfo(
            handle, program.context.device.id, cl_kernel_work_group_info(CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE),
            MemoryLayout<Int>.size, &multiple, nil)
        preferredWorkGroupSizeMultiple = max(1, multiple)
    }

    /// The work-group size multiple the device runs best (CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE:
    /// a warp or wavefront on GPUs); 1 when the driver does not say.
    public let preferredWorkGroupSizeMultiple: Int

    /// The largest work-group this kernel can run with on its device (CL_KERNEL_WORK_GROUP_SIZE):
    /// registers and local memory can make it smaller than the device's limit.
    public let maxWorkGroupSize: Int

    deinit {
        clReleaseKernel(handle)
        CLObjectCount.released("kernel")
    }

    /// Sets argument `index` to a buffer.
    public func set(_ index: Int, _ buffer: CLBuffer) throws {
        var mem: cl_mem? = buffer.handle
        try check(clSetKernelArg(handle, cl_uint(index), MemoryLayout<cl_mem>.size, &mem), "clSetKernelArg(\(name), \(index))")
        boundBuffers[index] = buffer
    }

    /// Sets argument `index` to an OpenCL `int`.
    public func set(_ index: Int, _ value: Int32) throws {
        var copy = value
        try check(clSetKernelArg(handle, cl_uint(index), MemoryLayout<Int32>.size, &copy), "clSetKernelArg(\(name), \(index))")
    }

    /// Sets argument `index` to an OpenCL `float`.
    public func set(_ index: Int, _ value: Float) throws {
        var copy = value
        try check(clSetKernelArg(handle, cl_uint(index), MemoryLayout<Float>.size, &copy), "clSetKernelArg(\(name), \(index))")
    }

    /// Enqueues the kernel over `global` work-items in groups of `local` (nil: driver's choice).
    /// Returns the event only when `wantEvent` (profiling); otherwise no event is created.
    /// Callers check sizes first: the engine's one launch point does.
    @discardableResult
    public func enqueue(on queue: CLQueue, global: [Int], local: [Int]? = nil, wantEvent: Bool = false) throws -> CLEvent? {
        precondition((1...3).contains(global.count) && (local == nil || local!.count == global.count))
        var event: cl_event?
        let status = withUnsafeMutablePointer(to: &event) { eventOut in
            global.withUnsafeBufferPointer { globalSizes in
                return local.withUnsafeOptionalBufferPointer { localPointer in
                    clEnqueueNDRangeKernel(
                        queue.handle, handle, cl_uint(global.count), nil, globalSizes.baseAddress, localPointer,
                        0, nil, wantEvent ? eventOut : nil)
                }
            }
        }
        try check(status, "clEnqueueNDRangeKernel(\(name))")
        return event.map(CLEvent.init(handle:))
    }
}

extension Optional where Wrapped == [Int] {
    /// Calls `body` with a pointer to the array's elements, or nil when there is no array.
    fileprivate func withUnsafeOptionalBufferPointer<R>(_ body: (UnsafePointer<Int>?) -> R) -> R {
        guard let array = self else { return body(nil) }
        return array.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
