import Crypto
import Foundation
import OpenCLKit
import SENetCore

/// Per-device tile sizes for each convolution shape: found by timing candidates on the device
/// (each checked against the CPU reference first), stored beside the kernel cache, and used by
/// every later process on the same device, driver and kernel sources.
public struct TuningTable: Codable, Sendable, Equatable {
    public var device: String
    public var driver: String
    public var engineVersion: String
    /// `KernelSources.hash` of the sources the entries were timed with: a tiling that won
    /// with other kernels says nothing about these.
    public var kernelsHash: String
    /// Shape key (`ConvTuner.key`) → winning tiling of the CPU family.
    public var entries: [String: ConvTiling]
    /// Shape key → winning tiling of the GPU family.
    public var gpuEntries: [String: GPUConvTiling] = [:]

    public init(
        device: String, driver: String, engineVersion: String, kernelsHash: String = "", entries: [String: ConvTiling],
        gpuEntries: [String: GPUConvTiling] = [:]
    ) {
        (self.device, self.driver, self.engineVersion, self.kernelsHash) = (device, driver, engineVersion, kernelsHash)
        (self.entries, self.gpuEntries) = (entries, gpuEntries)
    }

    /// An empty table for `runtime`'s device and kernel sources.
    public init(for runtime: DeviceRuntime) throws {
        self.init(
            device: runtime.device.name, driver: runtime.device.driverVersion, engineVersion: SENetGPUVersion.string,
            kernelsHash: try runtime.programs.sources.hash(), entries: [:])
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        device = try c.decode(String.self, forKey: .device)
        driver = try c.decode(String.self, forKey: .driver)
        engineVersion = try c.decode(String.self, forKey: .engineVersion)
        kernelsHash = try c.decodeIfPresent(String.self, forKey: .kernelsHash) ?? ""
        entries = try c.decode([String: ConvTiling].self, forKey: .entries)
        gpuEntries = try c.decodeIfPresent([String: GPUConvTiling].self, forKey: .gpuEntries) ?? [:]
    }

    /// `…/senet-gpu/tuning/<hash of device, driver, engine>.json`, or nil when caching is off.
    public static func path(for device: CLDevice, cacheDirectory: URL?) -> URL? {
        guard let programs = cacheDirectory else { return nil }
        let identity = [device.platformName, device.name, device.driverVersion, SENetGPUVersion.string].joined(separator: "|")
        let hash = SHA256.hash(data: Data(identity.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
        return programs.deletingLastPathComponent().appendingPathComponent("tuning").appendingPathComponent("\(hash).json")
    }

    /// The stored table, or nil when there is none or it does not decode.
    public static func load(from url: URL?) -> TuningTable? {
        guard let url, let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(TuningTable.self, from: data)
    }

    /// The stored table as far as it can be trusted on `runtime`: nil (with a warning) when it
    /// does not decode or was tuned with other kernel sources; entries the device cannot run
    /// are dropped with a warning naming them (those shapes get the defaults).
    public static func load(from url: URL?, for runtime: DeviceRuntime) -> (table: TuningTable?, warnings: [String]) {
        guard let url, let data = try? Data(contentsOf: url) else { return (nil, []) }
        guard var table = try? JSONDecoder().decode(TuningTable.self, from: data) else {
            return (nil, ["tuning table \(url.path) is damaged and was ignored; run `tune` again"])
        }
        let current = (try? runtime.programs.sources.hash()) ?? ""
        guard table.kernelsHash == current else {
            return (nil, ["tuning table \(url.path) was made with other kernel sources and was ignored; run `tune` again"])
        }
        var warnings: [String] = []
        for (key, tiling) in table.entries where !tiling.isValid(on: runtime.device) {
            table.entries[key] = nil
            warnings.append("tuning entry \(key) (\(tiling)) is not valid on this device; using the default")
        }
        for (key, tiling) in table.gpuEntries where !tiling.isValid(on: runtime.device) {
            table.gpuEntries[key] = nil
            warnings.append("tuning entry \(key) (\(tiling)) is not valid on this device; using the default")
        }
        return (table, warnings.sorted())
    }

    /// Writes the table atomically.
    public func save(to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}

extension GPUConvTiling {
    /// Whether `conv_gemm.cl` can run this tiling on `device`: positive tiles that the
    /// work-items divide, a group that stages whole pixel columns, and it fits the device.
    public func isValid(on device: CLDevice) -> Bool {
        if halfArithmetic && !device.supportsFP16 { return false }
        let sizes = [tileM, tileN, tileK, workM, workN]
        guard sizes.allSatisfy({ (1...256).contains($0) }), tileM % workM == 0, tileN % workN == 0 else { return false }
        guard groupSize % tileN == 0, (slices ?? 1) >= 1, (slices ?? 1) <= 1024 else { return false }
        return fits(device)
    }
}
