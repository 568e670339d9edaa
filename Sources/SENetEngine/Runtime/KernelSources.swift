import Crypto
import Foundation

/// Finds the OpenCL C source of a kernel file such as `conv_direct.cl`.
///
/// Sources are embedded in the binary at build time, so an installed or copied `senet-gpu`
/// needs no files beside it. A directory given by the caller or `SENET_GPU_KERNELS` is searched
/// first, so kernel work needs no rebuild.
public struct KernelSources: Sendable {
    /// Searched before the embedded sources when set.
    public var overrideDirectory: String?

    public init(overrideDirectory: String? = nil) {
        self.overrideDirectory = overrideDirectory
    }

    /// `directory` when given, else `SENET_GPU_KERNELS`, else embedded sources only.
    public static func fromEnvironment(_ flag: String? = nil) -> KernelSources {
        KernelSources(overrideDirectory: flag ?? ProcessInfo.processInfo.environment["SENET_GPU_KERNELS"])
    }

    /// Names of the embedded kernel files.
    public static var embeddedNames: [String] { EmbeddedKernels.sources.keys.sorted() }

    /// The source text of `name`; throws `kernelSourceNotFound` listing every place searched.
    public func source(named name: String) throws -> String {
        var searched: [String] = []
        if let directory = overrideDirectory {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            if let text = try? String(contentsOfFile: path, encoding: .utf8) { return text }
            searched.append(path)
        }
        if let text = EmbeddedKernels.sources[name] { return text }
        searched.append("sources embedded in the binary (\(Self.embeddedNames.joined(separator: ", ")))")
        throw EngineError.kernelSourceNotFound(name: name, searched: searched)
    }

    /// True when an override directory is set but lacks `name`, so the embedded source is used.
    public func fallsBackToEmbedded(_ name: String) -> Bool {
        guard let directory = overrideDirectory else { return false }
        return !FileManager.default.isReadableFile(atPath: URL(fileURLWithPath: directory).appendingPathComponent(name).path)
    }

    /// SHA-256 (hex, 16 digits) of every kernel file as this process would compile it
    /// (overrides included): what a tuning table was measured with.
    public func hash() throws -> String {
        var hasher = SHA256()
        for name in Self.embeddedNames {
            hasher.update(data: Data(name.utf8))
            hasher.update(data: Data(try source(named: name).utf8))
        }
        return hasher.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
