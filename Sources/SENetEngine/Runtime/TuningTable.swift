import Crypto
import Foundation
import OpenCLKit
import SENetCore

/// Per-device algorithm and tile sizes for each convolution shape: found by timing candidates
/// on the device (each checked against the CPU reference first), stored beside the kernel cache,
/// and used by every later process on the same device, driver and kernel sources.
public struct TuningTable: Codable, Sendable, Equatable {
    /// The file format: 2 keys shapes by `ConvShapeKey` and names each entry's algorithm.
    public static let format = 2
    public var device: String
    public var driver: String
    public var engineVersion: String
    /// `KernelSources.hash` of the sources the entries were timed with: a tiling that won
    /// with other kernels says nothing about these.
    public var kernelsHash: String
    /// Shape → the algorithm and tiling that won.
    public var entries: [ConvShapeKey: TunedConvolution]

    public init(
        device: String, driver: String, engineVersion: String, kernelsHash: String = "",
        entries: [ConvShapeKey: TunedConvolution] = [:]
    ) {
        (self.device, self.driver, self.engineVersion, self.kernelsHash) = (device, driver, engineVersion, kernelsHash)
        self.entries = entries
    }

    /// An empty table for `runtime`'s device and kernel sources.
    public init(for runtime: DeviceRuntime) throws {
        self.init(
            device: runtime.device.name, driver: runtime.device.driverVersion, engineVersion: SENetGPUVersion.string,
            kernelsHash: try runtime.programs.sources.hash())
    }

    /// One stored entry: a list, so the file stays readable JSON (a dictionary with struct keys
    /// would encode as an alternating array).
    struct Row: Codable {
        let shape: ConvShapeKey
        let algorithm: String
        let tiling: ConvolutionTiling
    }

    enum CodingKeys: String, CodingKey { case format, device, driver, engineVersion, kernelsHash, convolutions }

    /// Thrown for a table of another format (older tables keyed shapes by strings).
    struct OtherFormat: Error {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard try c.decodeIfPresent(Int.self, forKey: .format) == Self.format else { throw OtherFormat() }
        device = try c.decode(String.self, forKey: .device)
        driver = try c.decode(String.self, forKey: .driver)
        engineVersion = try c.decode(String.self, forKey: .engineVersion)
        kernelsHash = try c.decode(String.self, forKey: .kernelsHash)
        let rows = try c.decode([Row].self, forKey: .convolutions)
        entries = Dictionary(rows.map { ($0.shape, TunedConvolution(algorithm: $0.algorithm, tiling: $0.tiling)) }) { $1 }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.format, forKey: .format)
        try c.encode(device, forKey: .device)
        try c.encode(driver, forKey: .driver)
        try c.encode(engineVersion, forKey: .engineVersion)
        try c.encode(kernelsHash, forKey: .kernelsHash)
        let rows = entries.keys.sorted().map { Row(shape: $0, algorithm: entries[$0]!.algorithm, tiling: entries[$0]!.tiling) }
        try c.encode(rows, forKey: .convolutions)
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
        let decoded = Swift.Result { try JSONDecoder().decode(TuningTable.self, from: data) }
        if case .failure(let error) = decoded, error is OtherFormat {
            return (nil, ["tuning table \(url.path) has an older format and was ignored; run `tune` again"])
        }
        guard var table = try? decoded.get() else {
            return (nil, ["tuning table \(url.path) is damaged and was ignored; run `tune` again"])
        }
        let current = (try? runtime.programs.sources.hash()) ?? ""
        guard table.kernelsHash == current else {
            return (nil, ["tuning table \(url.path) was made with other kernel sources and was ignored; run `tune` again"])
        }
        var warnings: [String] = []
        let known = Set(ConvAlgorithms.registered.map(\.name))
        for (key, entry) in table.entries {
            let reason =
                known.contains(entry.algorithm)
                ? entry.tiling.invalidReason(on: runtime.device) : "no algorithm is named \(entry.algorithm)"
            guard let reason else { continue }
            table.entries[key] = nil
            warnings.append("tuning entry \(key) (\(entry)) is not valid on this device (\(reason)); using the default")
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
