import Foundation
import OpenCLKit
import SENetCore

/// A static schedule of one network graph for one input shape: each node placed on the device
/// or the CPU reference, the transfers between them explicit, device buffers assigned with
/// reuse, and every kernel's arguments bound. Running it is a walk over `steps` on one in-order
/// queue, with no wait between device ops; results are read once at the end.
///
/// Thread safety: `run` may be called from any thread; calls are serialised by a lock because
/// the plan owns its activation buffers.
public final class ExecutionPlan: @unchecked Sendable {
    /// What one node ended up as.
    public struct Placement: Sendable {
        public let name: String
        public let kind: OpKind
        public let onDevice: Bool
        /// Why it runs on the CPU; nil on the device.
        public let reason: String?
        /// The node's output value: shape, element type, layout.
        public let output: ValueInfo
        /// Byte offset of the output in the activation arena; nil on the CPU.
        public let arenaOffset: Int?

        public var outputShape: [Int] { output.shape }
    }

    /// What a device convolution runs: its algorithm, tiling, split-K and precision, whether
    /// the tiling came from the tuning table, and every substitution on the way with its reason.
    public struct ConvolutionChoice: Sendable, Equatable {
        public let name: String
        /// The `ConvAlgorithm` that built the op: `gemm-gpu`, `ocvec` or `tiled`.
        public let algorithm: String
        /// The tiling the launches were built with (after any substitution).
        public let tiling: ConvolutionTiling
        /// True when the tiling is the table's entry for this shape; false for the default, or
        /// an entry the device or `--arithmetic` ruled out.
        public let tuned: Bool
        /// The batch size the entry was tuned at, when that is not this plan's (the tuning
        /// table's fallback to the same layer at another batch).
        public let tunedAtBatch: Int?
        /// Slices of the reduction; 1 when K is not split.
        public let splitK: Int
        /// Storage of its feature maps and weights; `halfArithmetic` says whether it multiplies in half.
        public let precision: Precision
        /// Each replacement, in order: of the table's entry or the default when choosing, then of
        /// the tiling, split-K or im2col when building.
        public let substitutions: [String]
        /// "algorithm: reason" for each registered algorithm passed over before this one.
        public let passedOver: [String]

        public var halfArithmetic: Bool { tiling.halfArithmetic }

        /// `ALGORITHM TILING [split-K N] (tuned|default|substituted)`, as `plan` prints it.
        public var summary: String {
            let origin =
                tuned ? "tuned\(tunedAtBatch.map { " at batch \($0)" } ?? "")" : substitutions.isEmpty ? "default" : "substituted"
            return "\(algorithm) \(tiling)\(splitK > 1 ? " split-K \(splitK)" : "") (\(origin))"
        }
    }

    /// One thing the plan does, in order.
    public enum Step: Sendable {
        case device(op: Int)
        case host(op: Int)
        case upload(value: Int)
        case download(value: Int)
        /// Debug: make this value wrong on purpose, wherever it lives (tests of `compare`).
        case perturb(value: Int)
    }

    /// Outputs of one run.
    public struct Output: Sendable {
        /// [N, classes]
        public let logits: Tensor
        /// softmax(logits), [N, classes]
        public let probabilities: Tensor
        /// (op name, seconds) for every op, when the plan profiles.
        public let opSeconds: [(name: String, seconds: Double)]
        /// Every kernel launch with its device-clock times, in launch order, when the plan
        /// profiles on a device (`chromeTrace`).
        public var launches: [LaunchTiming] = []
    }

    /// One kernel launch of a profiled run.
    public struct LaunchTiming: Sendable {
        /// The graph node the launch belongs to.
        public let node: Int
        public let kernel: String
        public let global: [Int]
        /// nil: the driver chose.
        public let local: [Int]?
        /// Device clock, nanoseconds.
        public let start: UInt64, end: UInt64
    }

    /// The network this plan runs.
    public let graph: NetworkGraph
    public var inputShape: [Int] { graph.values[graph.input].shape }
    public let placements: [Placement]
    public let steps: [Step]
    /// Where each device value lives in the plan's one activation buffer.
    public let arena: ActivationArena
    /// Bytes of the device weights the plan's device ops read (shared with the engine's other plans).
    public let weightBytes: Int
    /// Device name, or nil for a CPU-only plan.
    public let deviceName: String?
    /// The largest scratch one op needs (im2col columns, split-K sums); it lives in the arena.
    public let scratchBytes: Int
    /// Peak device memory for activations and scratch: the arena.
    public var activationBytes: Int { arena.byteCount }
    /// Each device convolution's tiling, in graph order.
    public let convolutionChoices: [ConvolutionChoice]
    /// Device convolutions that run the tuning table's tiling, out of all convolutions.
    public var tunedConvolutions: Int { convolutionChoices.filter(\.tuned).count }
    public let convolutions: Int
    /// The kernels the device ops use; nil on the CPU reference.
    public let kernelFamily: KernelFamily?
    /// How the plan stores feature maps and weights (fp32 on the CPU reference).
    public let precision: Precision
    /// A layer an fp16 plan keeps in fp32, and why.
    public struct FP32Layer: Sendable, Equatable, Codable {
        public let name: String
        public let reason: String
    }
    /// The layers this fp16 plan keeps in fp32, or the convolutions and classifier this int8
    /// plan keeps in fp32, in graph order (empty in fp32 plans).
    public let fp32Layers: [FP32Layer]
    /// What a device int8 convolution runs with, and why the algorithms before it were passed over.
    public struct Int8ConvolutionChoice: Sendable, Equatable {
        public let name: String
        /// `int8-dot` or `int8`.
        public let algorithm: String
        public let passedOver: [String]
    }
    /// Each device int8 convolution's algorithm, in graph order (empty unless int8).
    public let int8Convolutions: [Int8ConvolutionChoice]
    /// Device convolutions that multiply in half (fp16 plans with half arithmetic).
    public let halfArithmeticConvolutions: Int
    /// Kernel files that were missing from the `--kernels` folder, so their embedded sources
    /// ran, each with that reason (every program the device has built so far).
    public let kernelSourceSubstitutions: [String]

    let runtime: DeviceRuntime?
    let options: PlanOptions
    let deviceOps: [Int: DeviceOp]
    let valueBuffers: [Int: CLBuffer]
    /// Values a debug step perturbs (their producers' outputs are observed after the change).
    let perturbedValues: Set<Int>
    let lock = NSLock()

    /// A plan of `model` on inputs of `inputShape`, with weights of its own on the device.
    public convenience init(
        model: SEResNet, runtime: DeviceRuntime?, inputShape: [Int], options: PlanOptions = PlanOptions(),
        tuning: TuningTable? = nil
    ) throws {
        try self.init(
            graph: NetworkGraph(model: model, inputShape: inputShape), runtime: runtime,
            weights: runtime.map { DeviceModel(runtime: $0, precision: options.precision, tensorNames: model.weightNames) },
            options: options, tuning: tuning)
    }

    /// A plan of `graph`; device weights come from `weights` (in `options.precision`), uploaded
    /// there once per engine. In fp16 the plan stores the graph's feature maps as half.
    public init(
        graph fp32Graph: NetworkGraph, runtime: DeviceRuntime?, weights: DeviceModel?, options: PlanOptions = PlanOptions(),
        tuning: TuningTable? = nil
    ) throws {
        try options.validate(fp32Graph)
        if let runtime, options.precision == .fp16, options.arithmetic == .fp16, !runtime.device.supportsFP16 {
            throw EngineError.halfArithmeticUnsupported(device: runtime.device.description)
        }
        let precision = runtime != nil ? options.precision : Precision.fp32
        self.precision = precision
        let graph: NetworkGraph
        switch precision {
        case .fp32:
            (graph, fp32Layers) = (fp32Graph, [])
        case .fp16:
            // A mixed plan: the kept layers with why, in graph order.
            let kept = fp32Graph.nodes.compactMap { node in
                options.fp32Reason(name: node.name, kind: node.kind).map { FP32Layer(name: node.name, reason: $0) }
            }
            fp32Layers = kept
            graph = fp32Graph.storingFeatureMapsAsHalf(keepingFP32: Set(kept.map(\.name)))
        case .int8:
            (graph, fp32Layers) = try Self.int8Graph(fp32Graph, options: options)
        }
        self.graph = graph
        self.runtime = runtime
        self.options = options
        deviceName = runtime?.device.description
        let family = options.kernelFamily ?? runtime.map { KernelFamily.forDevice($0.device) }
        convolutions = graph.convolutions.count

        let reasons = graph.nodes.map { Self.reasonForCPU($0, graph: graph, runtime: runtime, options: options) }
        let onDevice = reasons.map { $0 == nil }
        steps = Self.schedule(graph, onDevice: onDevice, perturb: options.perturbLayer)
        perturbedValues = Set(steps.compactMap { if case .perturb(let value) = $0 { return value } else { return nil } })
        let context = runtime.map { Self.loweringContext(runtime: $0, options: options, tuning: tuning) }
        let lowered = graph.nodes.indices.filter { onDevice[$0] }.map { ($0, graph.nodes[$0].op as! any DeviceLowerable) }
        // Each op's context: an fp16 plan's kept layers' in fp32.
        let keptNames = precision == .fp16 ? Set(fp32Layers.map(\.name)) : []
        let contexts = context.map { context in
            Dictionary(
                uniqueKeysWithValues: lowered.map { index, op in
                    (index, keptNames.contains(op.name) ? context.storing(.fp32) : context)
                })
        }
        halfArithmeticConvolutions =
            contexts.map { contexts in
                lowered.filter { index, op in
                    (op as? Conv2d)?.usesHalfArithmetic(contexts[index]!) ?? false
                }.count
            } ?? 0
        // Scratch (im2col columns, split-K partial sums) lives in the arena too, for its op's step.
        var scratchByOp: [Int: Int] = [:]
        if let contexts {
            for (index, op) in lowered {
                let bytes = op.scratchBytes(output: graph.values[graph.nodes[index].output], context: contexts[index]!)
                if bytes > 0 { scratchByOp[index] = bytes }
            }
        }
        let arena = ActivationArena(
            graph: graph, steps: steps, scratch: scratchByOp, alignment: max(256, runtime?.device.baseAddressAlignment ?? 0))
        self.arena = arena

        var buffers: [Int: CLBuffer] = [:]
        var ops: [Int: DeviceOp] = [:]
        var weightBytes = 0
        kernelFamily = family
        if let runtime, let weights, let contexts {
            weightBytes = DeviceModel.bytes(of: lowered.map { ($1, contexts[$0]!) })
            try Self.checkFits(
                device: runtime.device, buffers: [arena.byteCount], weights: weightBytes,
                batch: graph.values[graph.input].shape[0], limit: options.memoryLimitBytes)
            var scratch: [Int: CLBuffer] = [:]
            if arena.byteCount > 0 {
                let whole = try runtime.buffer(bytes: arena.byteCount)
                for (value, offset) in arena.offsets {
                    buffers[value] = try CLBuffer(subBufferOf: whole, offset: offset, byteCount: graph.values[value].byteCount)
                }
                for (op, offset) in arena.scratchOffsets {
                    scratch[op] = try CLBuffer(subBufferOf: whole, offset: offset, byteCount: scratchByOp[op]!)
                }
            }
            for (index, op) in lowered {
                let node = graph.nodes[index]
                let context = contexts[index]!
                ops[index] = try op.makeDeviceOp(
                    DeviceBinding(
                        context: context, inputValues: node.inputs.map { graph.values[$0] },
                        outputValue: graph.values[node.output],
                        inputs: node.inputs.map { buffers[$0]! }, output: buffers[node.output]!,
                        weights: try weights.weights(for: op, context: context),
                        scratch: scratch[index]))
            }
        }
        valueBuffers = buffers
        deviceOps = ops
        // What each convolution's op was built with; tuned only when that is the table's entry.
        convolutionChoices =
            contexts.map { contexts in
                lowered.compactMap { index, op in
                    guard let conv = op as? Conv2d, let built = ops[index], let ran = built.convolutionTiling else { return nil }
                    let context = contexts[index]!
                    let chosen = conv.algorithmChoice(context)
                    return ConvolutionChoice(
                        name: graph.nodes[index].name, algorithm: chosen.algorithm.name, tiling: ran,
                        tuned: chosen.tuned != nil && ran == chosen.tiling, tunedAtBatch: chosen.tuned?.otherBatch,
                        splitK: built.splitK, precision: context.precision,
                        substitutions: chosen.substitutions + built.substitutions, passedOver: chosen.passedOver)
                }
            } ?? []
        int8Convolutions =
            runtime.map { runtime in
                lowered.compactMap { _, op in
                    guard let int8 = op as? Int8Convolution, let choice = int8.algorithmChoice(runtime.device) else {
                        return nil
                    }
                    return Int8ConvolutionChoice(
                        name: int8.name, algorithm: choice.algorithm.name, passedOver: choice.passedOver)
                }
            } ?? []
        self.weightBytes = weightBytes
        scratchBytes = scratchByOp.values.max() ?? 0
        kernelSourceSubstitutions =
            runtime?.programs.embeddedInsteadOfOverride.map {
                "\($0) is not in the --kernels folder \(runtime!.programs.sources.overrideDirectory ?? ""): its embedded source ran"
            } ?? []
        placements = graph.nodes.enumerated().map { index, node in
            Placement(
                name: node.name, kind: node.kind, onDevice: onDevice[index], reason: reasons[index],
                output: graph.values[node.output], arenaOffset: arena.offsets[node.output])
        }
    }

    /// The context device ops of a plan with `options` are lowered in. An int8 plan's other ops
    /// are fp32 ones (its int8 convolutions store their own weights as int8).
    static func loweringContext(runtime: DeviceRuntime, options: PlanOptions, tuning: TuningTable?) -> LoweringContext {
        LoweringContext(
            runtime: runtime, family: options.kernelFamily ?? KernelFamily.forDevice(runtime.device), tuning: tuning,
            precision: options.precision == .int8 ? .fp32 : options.precision, arithmetic: options.arithmetic,
            winograd: options.winograd)
    }

    /// The graph of an int8 plan, and the convolutions and classifier it keeps in fp32 with why:
    /// the convolutions the calibration file makes fp32, and the int8 ops `--fp32-layers` names.
    /// (The ops with no int8 form, such as the SE, are fp32 by design and not listed.)
    static func int8Graph(_ graph: NetworkGraph, options: PlanOptions) throws -> (NetworkGraph, [FP32Layer]) {
        guard let calibration = options.int8Calibration else { throw EngineError.int8NeedsCalibration }
        try calibration.validate(
            model: calibration.model, ops: Int8Calibrator.expectedOps(graph), path: "the int8 calibration")
        let entries = Dictionary(calibration.ops.map { ($0.name, $0) }) { first, _ in first }
        var kept: [FP32Layer] = []
        for node in graph.nodes {
            guard let entry = entries[node.name] else { continue }
            if entry.precision == .int8, let reason = options.fp32Reason(name: node.name, kind: node.kind) {
                kept.append(FP32Layer(name: node.name, reason: reason))
            } else if entry.precision == .fp32, node.op is Conv2d {
                kept.append(FP32Layer(name: node.name, reason: "fp32 in the calibration file: \(entry.reason)"))
            }
        }
        let keptNames = Set(kept.map(\.name))
        return (graph.quantizedForInt8(calibration, keepsFP32: { keptNames.contains($0.name) }), kept)
    }

    /// Why `node` cannot or must not run on the device; nil when it runs there.
    static func reasonForCPU(_ node: GraphNode, graph: NetworkGraph, runtime: DeviceRuntime?, options: PlanOptions) -> String? {
        guard let runtime else { return "the CPU reference was chosen" }
        if options.forcesCPU(name: node.name, kind: node.kind) { return "forced onto the CPU" }
        guard let op = node.op as? any DeviceLowerable else { return "no device kernel for \(node.kind)" }
        return op.unsupportedReason(
            inputs: node.inputs.map { graph.values[$0] }, output: graph.values[node.output], device: runtime.device)
    }

    /// Throws `deviceOutOfMemory` with a batch size that fits when the buffers and weights
    /// (bytes) exceed the device's memory or its largest allowed single allocation.
    static func checkFits(device: CLDevice, buffers: [Int], weights: Int, batch: Int, limit: Int?) throws {
        let needed = buffers.reduce(0, +) + weights
        let largest = buffers.max() ?? 0
        // Leave a tenth of the memory to the driver and the kernels' own allocations.
        let available = min(Int(Double(device.globalMemoryBytes) * 0.9), limit ?? .max)
        let maxAllocation = Int(device.maxAllocationBytes)
        guard needed > available || largest > maxAllocation else { return }
        // Activations grow with the batch; weights do not.
        let perImage = max(1, (needed - weights) / batch)
        let byTotal = (available - weights) / perImage
        let byAllocation = maxAllocation / max(1, largest / batch)
        throw EngineError.deviceOutOfMemory(
            neededBytes: needed, availableBytes: min(available, largest > maxAllocation ? maxAllocation : available),
            batch: batch, suggestedBatch: max(0, min(byTotal, byAllocation, batch - 1)))
    }
}
