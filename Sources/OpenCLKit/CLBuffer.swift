import COpenCL

/// Owns a device buffer of `byteCount` bytes; keeps its context alive. What the bytes mean
/// (element type, layout) is the caller's business: the wrapper knows only sizes.
public final class CLBuffer: @unchecked Sendable {
    public let context: CLContext
    public let byteCount: Int
    let handle: cl_mem
    /// The buffer a sub-buffer views; kept alive as long as the view.
    public let parent: CLBuffer?

    public init(context: CLContext, byteCount: Int) throws {
        precondition(byteCount > 0, "an OpenCL buffer must hold at least one byte")
        self.context = context
        self.byteCount = byteCount
        parent = nil
        handle = try checked("clCreateBuffer") {
            clCreateBuffer(context.handle, cl_mem_flags(CL_MEM_READ_WRITE), byteCount, nil, $0)
        }
        CLObjectCount.created("buffer")
    }

    /// A view of `byteCount` bytes of `parent` from byte `offset` (a multiple of the device's
    /// `baseAddressAlignment`): plans place many short-lived values in one arena this way.
    public init(subBufferOf parent: CLBuffer, offset: Int, byteCount: Int) throws {
        precondition(byteCount > 0 && offset >= 0 && offset + byteCount <= parent.byteCount, "sub-buffer out of range")
        context = parent.context
        self.byteCount = byteCount
        self.parent = parent
        var region = cl_buffer_region(origin: offset, size: byteCount)
        handle = try checked("clCreateSubBuffer") {
            clCreateSubBuffer(
                parent.handle, cl_mem_flags(CL_MEM_READ_WRITE), cl_buffer_create_type(CL_BUFFER_CREATE_TYPE_REGION), &region, $0)
        }
        CLObjectCount.created("buffer")
    }

    /// A buffer filled with `values`, blocking until the copy is done.
    public convenience init<Element: BitwiseCopyable>(queue: CLQueue, values: [Element]) throws {
        try self.init(context: queue.context, byteCount: values.count * MemoryLayout<Element>.stride)
        try write(values, queue: queue)
    }

    deinit {
        clReleaseMemObject(handle)
        CLObjectCount.released("buffer")
    }

    /// Copies `values` into the buffer from byte `offset` on; blocks until done.
    public func write<Element: BitwiseCopyable>(_ values: [Element], at offset: Int = 0, queue: CLQueue) throws {
        try values.withUnsafeBytes { bytes in
            precondition(offset + bytes.count <= byteCount, "write of \(bytes.count) bytes into a buffer of \(byteCount)")
            try check(
                clEnqueueWriteBuffer(queue.handle, handle, cl_bool(CL_TRUE), offset, bytes.count, bytes.baseAddress, 0, nil, nil),
                "clEnqueueWriteBuffer")
        }
    }

    /// Reads `count` elements from the start; blocks until done (and so until earlier commands
    /// finish).
    public func read<Element: BitwiseCopyable & Numeric>(_ type: Element.Type, count: Int, queue: CLQueue) throws -> [Element] {
        precondition(count * MemoryLayout<Element>.stride <= byteCount, "read of \(count) elements from \(byteCount) bytes")
        var values = [Element](repeating: 0, count: count)
        try values.withUnsafeMutableBytes { bytes in
            try check(
                clEnqueueReadBuffer(queue.handle, handle, cl_bool(CL_TRUE), 0, bytes.count, bytes.baseAddress, 0, nil, nil),
                "clEnqueueReadBuffer")
        }
        return values
    }
}
