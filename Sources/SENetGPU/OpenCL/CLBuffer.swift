import COpenCL

/// Owns a device buffer of `count` floats; keeps its context alive.
public final class CLBuffer: @unchecked Sendable {
    public let context: CLContext
    /// Number of `Float` elements.
    public let count: Int
    let handle: cl_mem

    public var byteCount: Int { count * MemoryLayout<Float>.stride }

    public init(context: CLContext, count: Int) throws {
        precondition(count > 0, "an OpenCL buffer must hold at least one element")
        self.context = context
        self.count = count
        let bytes = count * MemoryLayout<Float>.stride
        handle = try checked("clCreateBuffer") {
            clCreateBuffer(context.handle, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, $0)
        }
        CLObjectCount.created("buffer")
    }

    /// A buffer filled with `values`, blocking until the copy is done.
    public convenience init(queue: CLQueue, values: [Float]) throws {
        try self.init(context: queue.context, count: values.count)
        try write(values, queue: queue)
    }

    deinit {
        clReleaseMemObject(handle)
        CLObjectCount.released("buffer")
    }

    /// Copies `values` into the start of the buffer; blocks until done.
    public func write(_ values: [Float], queue: CLQueue) throws {
        precondition(values.count <= count, "write of \(values.count) floats into a buffer of \(count)")
        try values.withUnsafeBytes { bytes in
            try check(
                clEnqueueWriteBuffer(queue.handle, handle, cl_bool(CL_TRUE), 0, bytes.count, bytes.baseAddress, 0, nil, nil),
                "clEnqueueWriteBuffer")
        }
    }

    /// Reads the first `count` floats; blocks until done (and so until earlier commands finish).
    public func read(count readCount: Int? = nil, queue: CLQueue) throws -> [Float] {
        let n = readCount ?? count
        precondition(n <= count, "read of \(n) floats from a buffer of \(count)")
        var values = [Float](repeating: 0, count: n)
        try values.withUnsafeMutableBytes { bytes in
            try check(
                clEnqueueReadBuffer(queue.handle, handle, cl_bool(CL_TRUE), 0, bytes.count, bytes.baseAddress, 0, nil, nil),
                "clEnqueueReadBuffer")
        }
        return values
    }
}
