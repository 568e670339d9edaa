import ArgumentParser
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

/// Device choice and plan controls shared by infer, compare, plan and bench.
struct EngineOptions: ParsableArguments {
    @Option(
        help:
            "Device index from `senet-gpu devices`, or `cpu` for the Swift reference; serve and infer over images also take a list (0,1) or `all`."
    )
    var device = "0"

    @Option(help: "Comma-separated ops to run on the CPU: layer names, kinds (conv, excite, ...) or prefixes like layer4*.")
    var cpuOps: String?

    @Option(help: "What to do when the plan does not fit the device: `cpu` runs it on the CPU reference instead.")
    var fallback: FallbackChoice?

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
    var kernelFamily = KernelFamilyChoice.auto

    @Option(
        help:
            "fp32; fp16: feature maps and weights stored as half on the device (half the memory), sums in fp32; int8: the convolutions and classifier on int8 codes with int32 sums, scaled by --int8-calibration. The CPU reference is fp32."
    )
    var precision = Precision.fp32

    @Option(
        help:
            "With --precision int8: the calibration file written by `senet-gpu calibrate` (per-layer scales; see docs/PRECISION.md)."
    )
    var int8Calibration: String?

    @Option(
        help:
            "With --precision fp16: auto (half arithmetic only where `tune` found it faster), fp32, or fp16 (half products, fp32 accumulators; needs cl_khr_fp16)."
    )
    var arithmetic = Arithmetic.auto

    @Flag(
        help:
            "Run 3×3 stride-1 convolutions with the direct kernels, not Winograd F(4,3) or F(2,3) (CPU kernel family, fp32)."
    )
    var noWinograd = false

    @OptionGroup var kernelOptions: KernelOptions

    @OptionGroup var mixedPrecision: MixedPrecisionOptions

    /// `--kernel-family` as the library's choice; nil for auto.
    var family: KernelFamily? { kernelFamily.family }

    /// The combinations of values the parser cannot refuse alone: half arithmetic without half
    /// storage, and fp16 asked of the CPU reference. (Not `validate()`: the parser would print
    /// these as usage errors instead of our one `senet-gpu: error:` line.)
    func checkPrecision() throws {
        if precision != .fp16 && arithmetic == .fp16 {
            throw CLIError.invalidOption("--arithmetic fp16 needs --precision fp16 (half storage)")
        }
        if precision != .fp32 && device == "cpu" {
            throw CLIError.invalidOption(
                "the CPU reference computes in fp32 only; --precision \(precision) needs an OpenCL device")
        }
        if precision == .int8 && int8Calibration == nil {
            throw CLIError.invalidOption(
                "--precision int8 needs --int8-calibration FILE, written by `senet-gpu calibrate --device N --out FILE`")
        }
        if precision != .int8 && int8Calibration != nil {
            throw CLIError.invalidOption("--int8-calibration belongs to --precision int8; add it")
        }
        if precision == .fp32 && mixedPrecision.fp32Layers != nil {
            throw CLIError.invalidOption(
                "--fp32-layers keeps layers of an fp16 or int8 plan in fp32; add --precision fp16 or int8")
        }
        if precision != .fp16 && mixedPrecision.autoPrecision {
            throw CLIError.invalidOption("--auto-precision keeps layers of an fp16 plan in fp32; add --precision fp16")
        }
        if !mixedPrecision.autoPrecision && (mixedPrecision.savePrecision != nil || mixedPrecision.calibration != nil) {
            throw CLIError.invalidOption("--save-precision and --calibration belong to --auto-precision; add it")
        }
    }

    /// `--int8-calibration`, read and checked against `model`'s graph (each op by name and kind,
    /// each int8 op's scales whole and positive); nil unless int8.
    func loadInt8Calibration(for model: SEResNet) throws -> Int8Calibration? {
        guard precision == .int8, let path = int8Calibration else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw InputError.invalidCalibration(path: path, reason: "it cannot be read (\(error.localizedDescription))")
        }
        let calibration = try Int8Calibration.decode(data, path: path)
        let graph = try NetworkGraph(model: model, inputShape: [1, 3, 64, 64])
        try calibration.validate(
            model: model.architecture.modelName, ops: Int8Calibrator.expectedOps(graph), path: path)
        return calibration
    }

    var planOptions: PlanOptions {
        var options = PlanOptions(
            cpuOps: (cpuOps ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            perturbLayer: debugPerturb, failLayer: debugFail)
        options.memoryLimitBytes = memoryLimit.map { $0 * 1_048_576 }
        options.kernelFamily = family
        (options.precision, options.arithmetic) = (precision, arithmetic)
        options.winograd = !noWinograd
        return options
    }

    /// The plan for `shape`; with `--fallback cpu`, a plan that does not fit the device is
    /// replaced by the CPU reference (and `engine` with it), saying so on stderr.
    func plan(_ engine: inout InferenceEngine, shape: [Int]) throws -> ExecutionPlan {
        do {
            return try engine.plan(for: shape)
        } catch let error as EngineError {
            guard case .deviceOutOfMemory = error, fallback == .cpu else { throw error }
            printErr("senet-gpu: note: \(error.description.split(separator: ";")[0]); running on the CPU (--fallback cpu)")
            var options = planOptions
            options.precision = .fp32  // The reference is fp32.
            engine = InferenceEngine(model: engine.model, runtime: nil, options: options)
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

    /// `--device` as a list: one index, several (`0,1`) or `all`; nil for `cpu`.
    func deviceIndices() throws -> [Int]? {
        if device == "cpu" { return nil }
        if device == "all" {
            let count = try CLDevice.all().count
            guard count > 0 else { throw CLIError.invalidOption("--device all: no OpenCL device found; see `senet-gpu devices`") }
            return Array(0..<count)
        }
        let parts = device.split(separator: ",", omittingEmptySubsequences: false).map {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? -1) >= 0 }) else {
            throw CLIError.invalidOption(
                "invalid device '\(device)'; use a number from `senet-gpu devices`, a list like 0,1, `all` or `cpu`")
        }
        let indices = parts.map { $0! }
        guard Set(indices).count == indices.count else {
            throw CLIError.invalidOption("--device \(device) names a device twice")
        }
        return indices
    }

    /// One engine per device of `--device` (each with its own weights and plans), named by index.
    func engines(for model: SEResNet, calibration: Tensor? = nil) throws -> [(name: String, engine: InferenceEngine)] {
        guard let indices = try deviceIndices() else { return [("cpu", try engine(for: model))] }
        var copy = self
        return try indices.map { index in
            copy.device = "\(index)"
            return ("\(index)", try copy.engine(for: model, calibration: calibration))
        }
    }

    /// The engine of `--device`; with `--auto-precision`, the one that keeps the layers found on
    /// `--calibration`, else on `calibration` (the command's input), else on a synthetic image.
    func engine(for model: SEResNet, profiling: Bool = false, calibration: Tensor? = nil, tolerance: Float? = nil) throws
        -> InferenceEngine
    {
        try checkPrecision()
        var options = planOptions
        options.profile = profiling
        options.fp32Layers = try mixedPrecision.namedLayers()
        options.int8Calibration = try loadInt8Calibration(for: model)
        let engine = InferenceEngine(model: model, runtime: try openRuntime(profiling: profiling), options: options)
        for warning in engine.tuningWarnings { printErr("senet-gpu: warning: \(warning)") }
        guard mixedPrecision.autoPrecision else { return engine }
        let fallback = calibration ?? SyntheticWeights.input(shape: [1, 3, 224, 224], seed: ModelOptions.syntheticSeed)
        return try mixedPrecision.searched(
            engine, calibration: try mixedPrecision.calibrationInput(fallback: fallback),
            tolerance: tolerance ?? Precision.fp16.tolerance
        ).0
    }
}
