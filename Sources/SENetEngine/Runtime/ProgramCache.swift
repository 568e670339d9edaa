import Crypto
import Foundation
import OpenCLKit
import SENetCore

/// Builds OpenCL programs once: cached in memory per (file, options) and on disk as device
/// binaries keyed by a hash of source, options, device, driver and engine version.
///
/// Thread-safe: programs are built under a lock, so concurrent users share one build.
public final class ProgramCache: @unchecked Sendable {
    /// What the cache did so far; the CLI reports it in its timing line.
    public struct Statistics: Equatable, Sendable {
        public var compiledFromSource = 0
        public var loadedFromDisk = 0
        public var rejectedBinaries = 0
        public var diskWriteFailures = 0
    }

    public let context: CLContext
    public let sources: KernelSources
    /// Where binaries live; nil disables the disk cache.
    public let directory: URL?
    /// Whether built programs are written to and read from `directory`. Off by default on PoCL:
    /// it keeps its own cache of compiled kernels, and asking it for a program binary compiles
    /// every kernel of the program once more for a generic work-group size (about half of a
    /// cold start on SE-ResNet-50, for no gain on the next start).
    public let storesBinaries: Bool
    private var programs: [String: CLProgram] = [:]
    private var stats = Statistics()
    private var buildLogs: [(file: String, options: String, log: String)] = []

    /// `log` without clang's -Wpsabi notes ("AVX vector argument of type 'float16' … without
    /// 'avx512f' enabled changes the ABI"), which PoCL prints on hosts without AVX-512 for every
    /// 16-float vector passed to a builtin (vload16, fma). Kernel and builtins are compiled for
    /// the same target, so nothing is mismatched, and PoCL refuses `-Wno-psabi` as a build
    /// option. Every other line stays.
    static func withoutVectorABINotes(_ log: String) -> String {
        let lines = log.split(separator: "\n", omittingEmptySubsequences: false)
        let kept = lines.filter { !($0.hasPrefix("warning: ") && $0.hasSuffix("changes the ABI")) }
        guard kept.count < lines.count else { return log }
        // Only a count of warnings ("17 warnings generated.") left: nothing to say.
        if kept.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty || $0.hasSuffix("generated.") }) { return "" }
        return kept.joined(separator: "\n")
    }

    /// The compiler's messages (warnings) of the programs built from source so far, for `-v`:
    /// a clean build logs nothing.
    public var warnings: [(file: String, options: String, log: String)] { lock.withLock { buildLogs } }
    private let lock = NSLock()
    private var embeddedFallbacks: Set<String> = []

    /// Kernel files the `--kernels` folder lacks, so their embedded sources were built, sorted.
    public var embeddedInsteadOfOverride: [String] { lock.withLock { embeddedFallbacks.sorted() } }

    public init(context: CLContext, sources: KernelSources, directory: URL?, storesBinaries: Bool? = nil) {
        self.context = context
        self.sources = sources
        self.directory = directory
        self.storesBinaries = storesBinaries ?? !Self.cachesItself(context.device)
    }

    /// Drivers with their own on-disk kernel cache (PoCL's `~/.cache/pocl`).
    public static func cachesItself(_ device: CLDevice) -> Bool {
        device.platformName.contains("Portable Computing Language")
    }

    /// The file every program starts with.
    public static let prelude = "precision.cl"

    public var statistics: Statistics { lock.withLock { stats } }

    /// `$XDG_CACHE_HOME/senet-gpu/programs` (default `~/.cache/...`); nil when `SENET_GPU_CACHE=off`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        if environment["SENET_GPU_CACHE"] == "off" { return nil }
        let base: URL
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            base = URL(fileURLWithPath: xdg)
        } else {
            base = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        }
        return base.appendingPathComponent("senet-gpu").appendingPathComponent("programs")
    }

    /// The built program for kernel file `file` with `defines` as `-D` options, with
    /// `precision.cl` (element types, loads and stores) in front of it, compiled as OpenCL C
    /// `standard` (1.2 unless a kernel needs a later built-in, as `dot()` of 8-bit words does).
    public func program(file: String, defines: [String: String] = [:], standard: String = "CL1.2") throws -> CLProgram {
        // `#line` keeps the compiler's line numbers those of `file`.
        let source = try sources.source(named: Self.prelude) + "\n#line 1\n" + sources.source(named: file)
        let options = (["-cl-std=\(standard)"] + defines.keys.sorted().map { "-D \($0)=\(defines[$0]!)" })
            .joined(separator: " ")
        let key = cacheKey(source: source, options: options)
        return try lock.withLock {
            for name in [Self.prelude, file] where sources.fallsBackToEmbedded(name) { embeddedFallbacks.insert(name) }
            if let program = programs[key] { return program }
            let program = try loadOrBuild(file: file, source: source, options: options, key: key)
            programs[key] = program
            return program
        }
    }

    private func cacheKey(source: String, options: String) -> String {
        let device = context.device
        let parts = [
            SENetGPUVersion.string, device.platformName, device.name, device.vendor,
            device.driverVersion, device.deviceVersion, options, source,
        ]
        let digest = SHA256.hash(data: Data(parts.joined(separator: "\u{1F}").utf8))
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    private func loadOrBuild(file: String, source: String, options: String, key: String) throws -> CLProgram {
        let path = storesBinaries ? directory?.appendingPathComponent("\(key).bin") : nil
        if let path, let binary = Self.readVerified(path) {
            if let program = try? CLProgram(context: context, binary: binary, options: options, name: file) {
                stats.loadedFromDisk += 1
                return program
            }
            stats.rejectedBinaries += 1
        }
        let program: CLProgram
        do {
            program = try CLProgram(context: context, source: source, options: options, name: file)
        } catch let error as CLError where error.isBuildFailure {
            throw EngineError.kernelBuildFailed(source: file, options: options, log: error.log)
        }
        stats.compiledFromSource += 1
        let log = Self.withoutVectorABINotes(program.buildLog())
        if !log.isEmpty { buildLogs.append((file: file, options: options, log: log)) }
        if let path {
            do {
                try Self.writeVerified(try program.binary(), to: path)
            } catch {
                stats.diskWriteFailures += 1  // A cache that cannot be written only costs speed.
            }
        }
        return program
    }

    // File format: magic, SHA-256 of the payload, payload. A truncated or altered file fails the
    // digest check and is a miss, so the driver never sees a damaged binary.
    private static let magic = Data("SENETBIN1".utf8)

    static func readVerified(_ url: URL) -> [UInt8]? {
        guard let data = try? Data(contentsOf: url), data.count > magic.count + 32,
            data.prefix(magic.count) == magic
        else { return nil }
        let digest = data.dropFirst(magic.count).prefix(32)
        let payload = data.dropFirst(magic.count + 32)
        guard Data(SHA256.hash(data: payload)) == digest else { return nil }
        return [UInt8](payload)
    }

    static func writeVerified(_ payload: [UInt8], to url: URL) throws {
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var data = magic
        data.append(Data(SHA256.hash(data: payload)))
        data.append(contentsOf: payload)
        try data.write(to: url, options: .atomic)  // Temp file + rename: readers never see half.
    }
}
