import Crypto
import Foundation
import OpenCLKit
import SENetCore

/// Per-device tile sizes for each convolution shape: found by timing candidates on the device
/// (each checked against the CPU reference first), stored beside the kernel cache, and used by
/// every later process on the same device and driver.
public struct TuningTable: Codable, Sendable, Equatable {
    public var device: String
    public var driver: String
    public var engineVersion: String
    /// Shape key (`ConvTuner.key`) → winning tiling of the CPU family.
    public var entries: [String: ConvTiling]
    /// Shape key → winning tiling of the GPU family.
    public var gpuEntries: [String: GPUConvTiling] = [:]

    public init(
        device: String, driver: String, engineVersion: String, entries: [String: ConvTiling],
        gpuEntries: [String: GPUConvTiling] = [:]
    ) {
        (self.device, self.driver, self.engineVersion, self.entries) = (device, driver, engineVersion, entries)
        self.gpuEntries = gpuEntries
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        device = try c.decode(String.self, forKey: .device)
        driver = try c.decode(String.self, forKey: .driver)
        engineVersion = try c.decode(String.self, forKey: .engineVersion)
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

    /// The stored table, or nil when there is none or it does not decode (then defaults apply).
    public static func load(from url: URL?) -> TuningTable? {
        guard let url, let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(TuningTable.self, from: data)
    }

    /// Writes the table atomically.
    public func save(to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}

/// Times tile-size candidates for convolution shapes on one device.
public enum ConvTuner {
    /// One shape's outcome.
    public struct Result<Tiling: Hashable & Sendable & CustomStringConvertible>: Sendable {
        public let key: String
        public let best: Tiling
        public let bestSeconds: Double
        public let defaultSeconds: Double
        /// Candidates rejected because their output disagreed with the reference.
        public let rejected: [Tiling]
    }

    /// The tilings tried on every shape (the im2col ones only where the layer is not a GEMM).
    public static let candidates: [ConvTiling] = [false, true].flatMap { unfold in
        [4, 8, 16].flatMap { m in [4, 8, 16].map { ConvTiling(channels: m, pixels: $0, im2col: unfold) } }
    }

    /// `candidates` with the driver's work-group size and with a fixed one (8 on CPUs, where
    /// PoCL otherwise compiles a variant per launch size; 64 on GPUs).
    public static func candidates(for device: CLDevice) -> [ConvTiling] {
        let fixed = device.type == "cpu" ? 8 : 64
        return candidates
            + candidates.map { ConvTiling(channels: $0.channels, pixels: $0.pixels, localSize: fixed, im2col: $0.im2col) }
    }

    /// The identity of a convolution shape in the tuning table.
    public static func key(_ g: ConvGeometry) -> String {
        "k\(g.kernelHeight) s\(g.stride) p\(g.padding) g\(g.groups) c\(g.inChannels) o\(g.outChannels) \(g.height)x\(g.width) "
            + "n\(g.batch)"
    }

    /// Times each CPU-family candidate on `g`, after checking it against the reference, and
    /// returns the fastest.
    public static func tune(_ g: ConvGeometry, runtime: DeviceRuntime, repeats: Int = 3) throws -> Result<ConvTiling> {
        let scratchCount = TiledConvolution.scratchCount(g)
        let scratch = scratchCount > 0 ? try runtime.buffer(floats: scratchCount) : nil
        let tried = candidates(for: runtime.device).filter { !$0.im2col || scratch != nil }
        return try search(g, runtime: runtime, candidates: tried, fallback: .defaultFor(device: runtime.device), repeats: repeats)
        {
            try TiledConvolution.make(
                runtime: runtime, geometry: g, tiling: $0, input: $1.input, weightT: $1.weightT, bias: $1.bias, output: $1.output,
                relu: false, scratch: scratch)
        }
    }

    /// Times each GPU-family candidate the device can run on `g` (split-K on and off), after
    /// checking it against the reference, and returns the fastest.
    public static func tuneGPU(_ g: ConvGeometry, runtime: DeviceRuntime, repeats: Int = 3) throws -> Result<GPUConvTiling> {
        let units = runtime.device.computeUnits
        let tried = GPUConvTiling.candidates.filter { $0.fits(runtime.device) }
        let scratchBytes = tried.map { GPUConvolution.scratchBytes(g, tiling: $0, computeUnits: units) }.max() ?? 0
        let scratch = scratchBytes > 0 ? try runtime.buffer(bytes: scratchBytes) : nil
        return try search(
            g, runtime: runtime, candidates: tried, fallback: .defaultFor(device: runtime.device, geometry: g), repeats: repeats
        ) {
            try GPUConvolution.make(
                runtime: runtime, geometry: g, tiling: $0, input: $1.input, weightT: $1.weightT, bias: $1.bias, output: $1.output,
                relu: false, scratch: scratch)
        }
    }

    /// The device buffers every candidate of one shape shares.
    struct Buffers {
        let input, weightT, bias, output: CLBuffer
    }

    /// Checks each candidate against the reference (relative error ≤ 1e-4) on an output first
    /// filled with NaN, so one that leaves values unwritten fails, then times those that pass.
    static func search<Tiling>(
        _ g: ConvGeometry, runtime: DeviceRuntime, candidates: [Tiling], fallback: Tiling, repeats: Int,
        make: (Tiling, Buffers) throws -> DeviceOp
    ) throws -> Result<Tiling> {
        let input = Tensor.random(shape: g.inputShape, seed: 11)
        let weight = Tensor.random(shape: g.weightShape, seed: 12, in: -0.1...0.1)
        let bias = Tensor.random(shape: [g.outChannels], seed: 13)
        let expected = Reference.conv2d(input, weight: weight, bias: bias, stride: g.stride, padding: g.padding, groups: g.groups)
        let buffers = Buffers(
            input: try runtime.upload(input), weightT: try runtime.upload(ConvTiling.transposeWeights(weight)),
            bias: try runtime.upload(bias), output: try runtime.buffer(floats: expected.count))
        let poison = Tensor(shape: expected.shape, repeating: .nan)
        var timings: [Tiling: Double] = [:]
        var rejected: [Tiling] = []
        var tried: [Tiling] = []
        for tiling in candidates + [fallback] where !tried.contains(tiling) { tried.append(tiling) }
        for tiling in tried {
            let op = try make(tiling, buffers)
            try runtime.write(poison, to: buffers.output)
            try op.enqueue(on: runtime.queue, profile: false)
            let actual = try runtime.download(buffers.output, shape: expected.shape)
            guard Comparison(actual: actual, expected: expected).passes(tolerance: 1e-4) else {
                rejected.append(tiling)
                continue
            }
            timings[tiling] = try Benchmark.medianSeconds(repeats: repeats) {
                try op.enqueue(on: runtime.queue, profile: false)
                try runtime.queue.finish()
            }
        }
        guard let best = timings.min(by: { $0.value < $1.value }) else {
            throw EngineError.tuningFailed(shape: key(g), reason: "every candidate disagreed with the CPU reference")
        }
        return Result(
            key: key(g), best: best.key, bestSeconds: best.value, defaultSeconds: timings[fallback] ?? .nan, rejected: rejected)
    }
}
