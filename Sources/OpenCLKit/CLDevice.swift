import COpenCL
import Foundation

/// CL_DEVICE_TYPE as the planner uses it (a device reporting several types is the first of
/// gpu, cpu, accelerator).
public enum CLDeviceType: String, Sendable, Codable, CaseIterable {
    case cpu, gpu, accelerator, other
}

/// One OpenCL device, with the facts `senet-gpu devices` shows and the planner needs.
///
/// Devices are listed as one flat index across all platforms, in platform order and then
/// device order, so index N means the same device on every run on the same host.
public struct CLDevice: @unchecked Sendable, CustomStringConvertible {
    /// Position in the flat list returned by `CLDevice.all()`.
    public let index: Int
    /// The driver's handle. Root devices need no release.
    let id: cl_device_id
    public let platformName: String
    public let name: String
    public let vendor: String
    public let driverVersion: String
    public let deviceVersion: String
    public let openCLCVersion: String
    /// What kind of device the driver says it is.
    public let type: CLDeviceType
    public let computeUnits: Int
    public let clockMHz: Int
    public let globalMemoryBytes: UInt64
    public let localMemoryBytes: UInt64
    public let maxAllocationBytes: UInt64
    public let maxWorkGroupSize: Int
    /// Largest work-group extent in each dimension (CL_DEVICE_MAX_WORK_ITEM_SIZES).
    public let maxWorkItemSizes: [Int]
    public let extensions: [String]
    /// Floats in one native vector register (`CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT`): 16 with
    /// AVX-512, 8 with AVX2, often 1 on GPUs (their lanes are work-items).
    public let nativeFloatVectorWidth: Int
    /// Alignment in bytes of a sub-buffer's origin (`CL_DEVICE_MEM_BASE_ADDR_ALIGN` is in bits).
    public let baseAddressAlignment: Int
    /// cl_khr_fp16 and a non-empty CL_DEVICE_HALF_FP_CONFIG: some drivers advertise one only.
    public let supportsFP16: Bool
    public let supportsFP64: Bool

    public var description: String { "#\(index) \(name) (\(platformName))" }

    /// Every device of every platform on the host; empty when no ICD is installed.
    public static func all() throws -> [CLDevice] {
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        // The ICD loader reports "no platform" as CL_PLATFORM_NOT_FOUND_KHR (-1001).
        if status == -1001 || platformCount == 0 { return [] }
        try check(status, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        try check(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs")

        var devices: [CLDevice] = []
        for case let platform? in platforms {
            let platformName = try platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            var deviceCount: cl_uint = 0
            let found = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
            if found == CL_DEVICE_NOT_FOUND || deviceCount == 0 { continue }
            try check(found, "clGetDeviceIDs")
            var ids = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            try check(
                clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &ids, nil),
                "clGetDeviceIDs")
            for case let id? in ids {
                devices.append(try CLDevice(index: devices.count, id: id, platformName: platformName))
            }
        }
        return devices
    }

    init(index: Int, id: cl_device_id, platformName: String) throws {
        self.index = index
        self.id = id
        self.platformName = platformName
        name = try Self.string(id, CL_DEVICE_NAME)
        vendor = try Self.string(id, CL_DEVICE_VENDOR)
        driverVersion = try Self.string(id, CL_DRIVER_VERSION)
        deviceVersion = try Self.string(id, CL_DEVICE_VERSION)
        openCLCVersion = try Self.string(id, CL_DEVICE_OPENCL_C_VERSION)
        let rawType: cl_device_type = try Self.value(id, CL_DEVICE_TYPE)
        type = Self.typeName(rawType)
        computeUnits = Int(try Self.value(id, CL_DEVICE_MAX_COMPUTE_UNITS) as cl_uint)
        clockMHz = Int(try Self.value(id, CL_DEVICE_MAX_CLOCK_FREQUENCY) as cl_uint)
        globalMemoryBytes = try Self.value(id, CL_DEVICE_GLOBAL_MEM_SIZE)
        localMemoryBytes = try Self.value(id, CL_DEVICE_LOCAL_MEM_SIZE)
        maxAllocationBytes = try Self.value(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE)
        maxWorkGroupSize = Int(try Self.value(id, CL_DEVICE_MAX_WORK_GROUP_SIZE) as Int)
        let dimensions = Int(try Self.value(id, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS) as cl_uint)
        var sizes = [Int](repeating: 0, count: max(dimensions, 1))
        try check(
            clGetDeviceInfo(id, cl_device_info(CL_DEVICE_MAX_WORK_ITEM_SIZES), sizes.count * MemoryLayout<Int>.size, &sizes, nil),
            "clGetDeviceInfo")
        maxWorkItemSizes = sizes
        nativeFloatVectorWidth = max(1, Int(try Self.value(id, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT) as cl_uint))
        baseAddressAlignment = max(4, Int(try Self.value(id, CL_DEVICE_MEM_BASE_ADDR_ALIGN) as cl_uint) / 8)
        extensions = try Self.string(id, CL_DEVICE_EXTENSIONS).split(separator: " ").map(String.init)
        // CL_DEVICE_HALF_FP_CONFIG (0x1033) lives in cl_ext.h.
        let halfConfig: cl_device_fp_config = (try? Self.value(id, 0x1033)) ?? 0
        supportsFP16 = extensions.contains("cl_khr_fp16") && halfConfig != 0
        let doubleConfig: cl_device_fp_config = (try? Self.value(id, CL_DEVICE_DOUBLE_FP_CONFIG)) ?? 0
        supportsFP64 = extensions.contains("cl_khr_fp64") || doubleConfig != 0
    }

    private static func typeName(_ type: cl_device_type) -> CLDeviceType {
        if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { return .gpu }
        if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { return .cpu }
        if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { return .accelerator }
        return .other
    }

    static func string(_ id: cl_device_id, _ param: Int32) throws -> String {
        var size = 0
        try check(clGetDeviceInfo(id, cl_device_info(param), 0, nil, &size), "clGetDeviceInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try check(clGetDeviceInfo(id, cl_device_info(param), size, &bytes, nil), "clGetDeviceInfo")
        return String(cString: bytes).trimmingCharacters(in: .whitespaces)
    }

    static func value<T>(_ id: cl_device_id, _ param: Int32) throws -> T {
        let pointer = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { pointer.deallocate() }
        try check(
            clGetDeviceInfo(id, cl_device_info(param), MemoryLayout<T>.size, pointer, nil),
            "clGetDeviceInfo")
        return pointer.pointee
    }

    private static func platformString(_ platform: cl_platform_id, _ param: cl_platform_info) throws -> String {
        var size = 0
        try check(clGetPlatformInfo(platform, param, 0, nil, &size), "clGetPlatformInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try check(clGetPlatformInfo(platform, param, size, &bytes, nil), "clGetPlatformInfo")
        return String(cString: bytes)
    }
}
