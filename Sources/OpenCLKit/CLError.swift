import COpenCL

/// A failed OpenCL call: which call and the status it returned, shown by symbolic name.
///
/// Not a closed enum because vendors return their own codes.
public struct CLError: Error, Equatable, CustomStringConvertible {
    /// The raw status code returned by the driver.
    public let code: Int32
    /// The OpenCL function that failed, for example `clBuildProgram`.
    public let call: String

    /// The driver's build log when `call` built a program; empty otherwise.
    public let log: String

    public init(code: Int32, call: String, log: String = "") {
        self.code = code
        self.call = call
        self.log = log
    }

    /// True when the driver's compiler rejected a program (the log says why).
    public var isBuildFailure: Bool { code == CL_BUILD_PROGRAM_FAILURE || code == CL_INVALID_BUILD_OPTIONS }

    /// The symbolic name of `code`, for example `CL_OUT_OF_RESOURCES`.
    public var name: String { CLError.names[code] ?? "vendor status \(code)" }

    public var description: String { "\(call) failed with \(name) (\(code))" }

    /// True for the statuses a driver returns when memory runs out.
    public var isOutOfMemory: Bool {
        code == CL_OUT_OF_RESOURCES || code == CL_OUT_OF_HOST_MEMORY
            || code == CL_MEM_OBJECT_ALLOCATION_FAILURE || code == CL_INVALID_BUFFER_SIZE
    }

    private static let names: [Int32: String] = [
        CL_SUCCESS: "CL_SUCCESS",
        CL_DEVICE_NOT_FOUND: "CL_DEVICE_NOT_FOUND",
        CL_DEVICE_NOT_AVAILABLE: "CL_DEVICE_NOT_AVAILABLE",
        CL_COMPILER_NOT_AVAILABLE: "CL_COMPILER_NOT_AVAILABLE",
        CL_MEM_OBJECT_ALLOCATION_FAILURE: "CL_MEM_OBJECT_ALLOCATION_FAILURE",
        CL_OUT_OF_RESOURCES: "CL_OUT_OF_RESOURCES",
        CL_OUT_OF_HOST_MEMORY: "CL_OUT_OF_HOST_MEMORY",
        CL_PROFILING_INFO_NOT_AVAILABLE: "CL_PROFILING_INFO_NOT_AVAILABLE",
        CL_MEM_COPY_OVERLAP: "CL_MEM_COPY_OVERLAP",
        CL_IMAGE_FORMAT_MISMATCH: "CL_IMAGE_FORMAT_MISMATCH",
        CL_IMAGE_FORMAT_NOT_SUPPORTED: "CL_IMAGE_FORMAT_NOT_SUPPORTED",
        CL_BUILD_PROGRAM_FAILURE: "CL_BUILD_PROGRAM_FAILURE",
        CL_MAP_FAILURE: "CL_MAP_FAILURE",
        CL_MISALIGNED_SUB_BUFFER_OFFSET: "CL_MISALIGNED_SUB_BUFFER_OFFSET",
        CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST: "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
        CL_COMPILE_PROGRAM_FAILURE: "CL_COMPILE_PROGRAM_FAILURE",
        CL_LINKER_NOT_AVAILABLE: "CL_LINKER_NOT_AVAILABLE",
        CL_LINK_PROGRAM_FAILURE: "CL_LINK_PROGRAM_FAILURE",
        CL_DEVICE_PARTITION_FAILED: "CL_DEVICE_PARTITION_FAILED",
        CL_KERNEL_ARG_INFO_NOT_AVAILABLE: "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
        CL_INVALID_VALUE: "CL_INVALID_VALUE",
        CL_INVALID_DEVICE_TYPE: "CL_INVALID_DEVICE_TYPE",
        CL_INVALID_PLATFORM: "CL_INVALID_PLATFORM",
        CL_INVALID_DEVICE: "CL_INVALID_DEVICE",
        CL_INVALID_CONTEXT: "CL_INVALID_CONTEXT",
        CL_INVALID_QUEUE_PROPERTIES: "CL_INVALID_QUEUE_PROPERTIES",
        CL_INVALID_COMMAND_QUEUE: "CL_INVALID_COMMAND_QUEUE",
        CL_INVALID_HOST_PTR: "CL_INVALID_HOST_PTR",
        CL_INVALID_MEM_OBJECT: "CL_INVALID_MEM_OBJECT",
        CL_INVALID_IMAGE_FORMAT_DESCRIPTOR: "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
        CL_INVALID_IMAGE_SIZE: "CL_INVALID_IMAGE_SIZE",
        CL_INVALID_SAMPLER: "CL_INVALID_SAMPLER",
        CL_INVALID_BINARY: "CL_INVALID_BINARY",
        CL_INVALID_BUILD_OPTIONS: "CL_INVALID_BUILD_OPTIONS",
        CL_INVALID_PROGRAM: "CL_INVALID_PROGRAM",
        CL_INVALID_PROGRAM_EXECUTABLE: "CL_INVALID_PROGRAM_EXECUTABLE",
        CL_INVALID_KERNEL_NAME: "CL_INVALID_KERNEL_NAME",
        CL_INVALID_KERNEL_DEFINITION: "CL_INVALID_KERNEL_DEFINITION",
        CL_INVALID_KERNEL: "CL_INVALID_KERNEL",
        CL_INVALID_ARG_INDEX: "CL_INVALID_ARG_INDEX",
        CL_INVALID_ARG_VALUE: "CL_INVALID_ARG_VALUE",
        CL_INVALID_ARG_SIZE: "CL_INVALID_ARG_SIZE",
        CL_INVALID_KERNEL_ARGS: "CL_INVALID_KERNEL_ARGS",
        CL_INVALID_WORK_DIMENSION: "CL_INVALID_WORK_DIMENSION",
        CL_INVALID_WORK_GROUP_SIZE: "CL_INVALID_WORK_GROUP_SIZE",
        CL_INVALID_WORK_ITEM_SIZE: "CL_INVALID_WORK_ITEM_SIZE",
        CL_INVALID_GLOBAL_OFFSET: "CL_INVALID_GLOBAL_OFFSET",
        CL_INVALID_EVENT_WAIT_LIST: "CL_INVALID_EVENT_WAIT_LIST",
        CL_INVALID_EVENT: "CL_INVALID_EVENT",
        CL_INVALID_OPERATION: "CL_INVALID_OPERATION",
        CL_INVALID_GL_OBJECT: "CL_INVALID_GL_OBJECT",
        CL_INVALID_BUFFER_SIZE: "CL_INVALID_BUFFER_SIZE",
        CL_INVALID_MIP_LEVEL: "CL_INVALID_MIP_LEVEL",
        CL_INVALID_GLOBAL_WORK_SIZE: "CL_INVALID_GLOBAL_WORK_SIZE",
        CL_INVALID_PROPERTY: "CL_INVALID_PROPERTY",
        CL_INVALID_IMAGE_DESCRIPTOR: "CL_INVALID_IMAGE_DESCRIPTOR",
        CL_INVALID_COMPILER_OPTIONS: "CL_INVALID_COMPILER_OPTIONS",
        CL_INVALID_LINKER_OPTIONS: "CL_INVALID_LINKER_OPTIONS",
        CL_INVALID_DEVICE_PARTITION_COUNT: "CL_INVALID_DEVICE_PARTITION_COUNT",
        -1001: "CL_PLATFORM_NOT_FOUND_KHR",
    ]
}

/// Throws a `CLError` unless `status` is `CL_SUCCESS`.
@inline(__always)
func check(_ status: cl_int, _ call: String) throws {
    if status != CL_SUCCESS { throw CLError(code: status, call: call) }
}

/// Runs a call that reports its status through an out-parameter; throws on failure.
@inline(__always)
func checked<T>(_ call: String, _ body: (UnsafeMutablePointer<cl_int>) -> T?) throws -> T {
    var status: cl_int = CL_SUCCESS
    let result = body(&status)
    try check(status, call)
    guard let value = result else { throw CLError(code: CL_INVALID_VALUE, call: call) }
    return value
}
