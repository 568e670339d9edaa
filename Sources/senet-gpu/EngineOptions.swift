import ArgumentParser
import Foundation
import SENetGPU

/// Device choice and plan controls shared by infer, compare, plan and bench.
struct EngineOptions: ParsableArguments {
    @Option(help: "Device index from `senet-gpu devices`, or `cpu` for the Swift reference.")
    var device = "0"

    @Option(help: "Comma-separated ops to run on the CPU: layer names, kinds (conv, excite, ...) or prefixes like layer4*.")
    var cpuOps: String?

    @Option(help: ArgumentHelp("Make one layer's kernel wrong on purpose (tests of compare).", visibility: .hidden))
    var debugPerturb: String?

    @OptionGroup var kernelOptions: KernelOptions

    var planOptions: PlanOptions {
        PlanOptions(
            cpuOps: (cpuOps ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            perturbLayer: debugPerturb)
    }

    /// nil for `cpu`, else the opened device.
    func openRuntime(profiling: Bool = false) throws -> DeviceRuntime? {
        if device == "cpu" { return nil }
        guard let index = Int(device), index >= 0 else { throw SENetError.invalidDeviceName(device) }
        return try kernelOptions.openRuntime(index: index, profiling: profiling)
    }

    func engine(for model: SEResNet, profiling: Bool = false) throws -> InferenceEngine {
        var options = planOptions
        options.profile = profiling
        return InferenceEngine(model: model, runtime: try openRuntime(profiling: profiling), options: options)
    }
}
