import ArgumentParser
import Foundation
import Logging
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

@main
struct SENetGPUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "senet-gpu",
        abstract: "Run SE-ResNet image classifiers on any OpenCL device.",
        version: SENetGPUVersion.string,
        subcommands: [
            DevicesCommand.self, InferCommand.self, CompareCommand.self, BenchCommand.self, TuneCommand.self, PlanCommand.self,
            SelfCheckCommand.self, ServeCommand.self, CalibrateCommand.self,
        ]
    )

    /// Library logs (`SENET_GPU_LOG=launches`) go to stderr, so stdout stays the results'.
    static func main() {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        main(nil)
    }

    /// Prints a library error as one line on stderr and exits non-zero, instead of a trace.
    static func fail(_ error: Error) -> ExitCode {
        if let code = error as? ExitCode { return code }
        FileHandle.standardError.write(Data("senet-gpu: error: \(message(error))\n".utf8))
        return ExitCode.failure
    }

    /// The one-line text of an error, with a hint naming our flags.
    static func message(_ error: Error) -> String { ErrorMessages.line(error) }
}

/// Options shared by every command that runs kernels.
struct KernelOptions: ParsableArguments {
    @Option(help: "Directory searched for kernel sources before the built-in ones (also SENET_GPU_KERNELS).")
    var kernels: String?

    @Flag(help: "Do not read or write the on-disk kernel cache (also SENET_GPU_CACHE=off).")
    var noCache = false

    func openRuntime(index: Int, profiling: Bool = false) throws -> DeviceRuntime {
        try DeviceRuntime(
            index: index, sources: .fromEnvironment(kernels),
            cacheDirectory: noCache ? nil : ProgramCache.defaultDirectory(), profiling: profiling)
    }
}

/// Writes a line to stderr (notes and plans, so stdout stays clean for results).
func printErr(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes `value` as one line of JSON on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // An fp16 overflow makes errors infinite; JSON has no number for that, so they are strings.
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
