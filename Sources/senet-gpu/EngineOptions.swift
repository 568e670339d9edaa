import ArgumentParser
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

/// Device choice and plan controls shared by infer, compare, plan and bench.
struct EngineOptions: ParsableArguments {
    @Option(help: "Device index from `senet-gpu devices`, or `cpu` for the Swift reference.")
    var device = "0"

    @Option(help: "Comma-separated ops to run on the CPU: layer names, kinds (conv, excite, ...) or prefixes like layer4*.")
    var cpuOps: String?

    @Option(help: "What to do when the plan does not fit the device: `cpu` runs it on the CPU reference instead.")
    var fallback: String?

    @Option(help: "Most device memory the plan may use, in MiB (default: what the device has).")
    var memoryLimit: Int?

    @Option(help: ArgumentHelp("Make one layer's kernel wrong on purpose (tests of compare).", visibility: .hidden))
    var debugPerturb: String?

    @Option(help: ArgumentHelp("Make one layer's device op fail when it runs (tests).", visibility: .hidden))
    var debugFail: String?

    @Option(
        help:
            "Kernels: auto (by device type), cpu (no local memory or barriers) or gpu (local-memory tiles, work-group reductions); either runs on any device."
    )
    var kernelFamily = "auto"

    @OptionGroup var kernelOptions: KernelOptions

    /// `--kernel-family` as the library's choice; nil for auto.
    func family() throws -> KernelFamily? {
        if kernelFamily == "auto" { return nil }
        guard let family = KernelFamily(rawValue: kernelFamily) else {
            throw CLIError.invalidOption("--kernel-family '\(kernelFamily)' is not auto, cpu or gpu")
        }
        return family
    }

    var planOptions: PlanOptions {
        var options = PlanOptions(
            cpuOps: (cpuOps ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            perturbLayer: debugPerturb, failLayer: debugFail)
        options.memoryLimitBytes = memoryLimit.map { $0 * 1_048_576 }
        options.kernelFamily = try? family()
        return options
    }

    /// The plan for `shape`; with `--fallback cpu`, a plan that does not fit the device is
    /// replaced by the CPU reference (and `engine` with it), saying so on stderr.
    func plan(_ engine: inout InferenceEngine, shape: [Int]) throws -> ExecutionPlan {
        do {
            return try engine.plan(for: shape)
        } catch let error as EngineError {
            guard case .deviceOutOfMemory = error, fallback == "cpu" else { throw error }
            printErr("senet-gpu: note: \(error.description.split(separator: ";")[0]); running on the CPU (--fallback cpu)")
            engine = InferenceEngine(model: engine.model, runtime: nil, options: planOptions)
            return try engine.plan(for: shape)
        }
    }

    /// nil for `cpu`, else the opened device.
    func openRuntime(profiling: Bool = false) throws -> DeviceRuntime? {
        if device == "cpu" { return nil }
        guard let index = Int(device), index >= 0 else {
            throw CLIError.invalidOption("invalid device '\(device)'; use a number from `senet-gpu devices` or `cpu`")
        }
        return try kernelOptions.openRuntime(index: index, profiling: profiling)
    }

    func engine(for model: SEResNet, profiling: Bool = false) throws -> InferenceEngine {
        _ = try family()  // A bad --kernel-family is an error, not auto.
        if let fallback, fallback != "cpu" {
            throw CLIError.invalidOption("--fallback '\(fallback)' is not supported; the only fallback is `cpu`")
        }
        var options = planOptions
        options.profile = profiling
        let engine = InferenceEngine(model: model, runtime: try openRuntime(profiling: profiling), options: options)
        for warning in engine.tuningWarnings { printErr("senet-gpu: warning: \(warning)") }
        return engine
    }
}
