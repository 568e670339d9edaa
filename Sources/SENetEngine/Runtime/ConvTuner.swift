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
    /// Shape key (`ConvTuner.key`) → winning tiling.
    public var entries: [String: ConvTiling]

    public init(device: String, driver: String, engineVersion: String, entries: [String: ConvTiling]) {
        (self.device, self.driver, self.engineVersion, self.entries) = (device, driver, engineVersion, entries)
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
    public struct Result: Sendable {
        public let key: String
        public let best: ConvTiling
        public let bestSeconds: Double
        public let defaultSeconds: Double
        /// Candidates rejected because their output disagreed with the reference.
        public let rejected: [ConvTiling]
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

    /// Times each candidate on `g` with random data, after checking it against the reference
    /// (relative error ≤ 1e-4), and returns the fastest.
    public static func tune(_ g: ConvGeometry, runtime: DeviceRuntime, repeats: Int = 3) throws -> Result {
        let input = Tensor.random(shape: g.inputShape, seed: 11)
        let weight = Tensor.random(shape: g.weightShape, seed: 12, in: -0.1...0.1)
        let bias = Tensor.random(shape: [g.outChannels], seed: 13)
        let expected = Reference.conv2d(input, weight: weight, bias: bias, stride: g.stride, padding: g.padding, groups: g.groups)
        let buffers = try (runtime.upload(input), runtime.upload(ConvTiling.transposeWeights(weight)), runtime.upload(bias))
        let output = try runtime.buffer(floats: expected.count)
        let poison = Tensor(shape: expected.shape, repeating: .nan)
        let scratchCount = TiledConvolution.scratchCount(g)
        let scratch = scratchCount > 0 ? try runtime.buffer(floats: scratchCount) : nil
        let fallback = ConvTiling.defaultFor(device: runtime.device)
        var timings: [ConvTiling: Double] = [:]
        var rejected: [ConvTiling] = []
        let tried = Set(candidates(for: runtime.device).filter { !$0.im2col || scratch != nil } + [fallback])
        for tiling in tried.sorted(by: {
            ($0.im2col ? 1 : 0, $0.channels, $0.pixels) < ($1.im2col ? 1 : 0, $1.channels, $1.pixels)
        }) {
            let op = try TiledConvolution.make(
                runtime: runtime, geometry: g, tiling: tiling, input: buffers.0, weightT: buffers.1, bias: buffers.2,
                output: output, relu: false, scratch: scratch)
            // NaN first: a candidate that leaves part of its output unwritten must fail the check.
            try runtime.write(poison, to: output)
            try op.enqueue(on: runtime.queue, profile: false)
            let actual = try runtime.download(output, shape: expected.shape)
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
