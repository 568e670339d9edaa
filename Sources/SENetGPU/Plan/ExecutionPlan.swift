import Foundation

/// A static schedule of one network for one input shape: each op placed on the device or the
/// CPU reference, the transfers between them explicit, device buffers assigned with reuse, and
/// every kernel's arguments bound. Running it is a walk over `steps` on one in-order queue,
/// with no wait between device ops; results are read once at the end.
///
/// Thread safety: `run` may be called from any thread; calls are serialised by a lock because
/// the plan owns its activation buffers.
public final class ExecutionPlan: @unchecked Sendable {
    /// What one op ended up as.
    public struct Placement: Sendable {
        public let name: String
        public let kind: OpKind
        public let onDevice: Bool
        /// Why it runs on the CPU; nil on the device.
        public let reason: String?
        public let outputShape: [Int]
        /// Index of the device buffer holding the output; nil on the CPU.
        public let buffer: Int?
    }

    /// One thing the plan does, in order.
    public enum Step: Sendable {
        case device(op: Int)
        case host(op: Int)
        case upload(value: Int)
        case download(value: Int)
    }

    /// Outputs of one run.
    public struct Output: Sendable {
        /// [N, classes]
        public let logits: Tensor
        /// softmax(logits), [N, classes]
        public let probabilities: Tensor
        /// (op name, seconds) for every op, when the plan profiles.
        public let opSeconds: [(name: String, seconds: Double)]
    }

    public let inputShape: [Int]
    public let placements: [Placement]
    public let steps: [Step]
    /// Sizes in bytes of the activation buffers the plan allocated on the device.
    public let bufferBytes: [Int]
    /// Bytes of weights uploaded to the device.
    public let weightBytes: Int
    /// Device name, or nil for a CPU-only plan.
    public let deviceName: String?

    /// Bytes of the scratch buffer shared by the im2col convolutions.
    public let scratchBytes: Int

    /// Peak device memory for activations: the value buffers plus the shared scratch.
    public var activationBytes: Int { bufferBytes.reduce(0, +) + scratchBytes }

    let graph: NetworkGraph
    let runtime: DeviceRuntime?
    let options: PlanOptions
    private let deviceOps: [Int: DeviceOp]
    private let valueBuffers: [Int: CLBuffer]
    let lock = NSLock()

    /// Convolution shapes that used tuned tile sizes, out of all convolutions.
    public let tunedConvolutions: Int, convolutions: Int

    public init(
        model: SEResNet, runtime: DeviceRuntime?, inputShape: [Int], options: PlanOptions = PlanOptions(),
        tuning: TuningTable? = nil
    ) throws {
        guard inputShape.count == 4, inputShape[1] == 3, inputShape[0] >= 1, inputShape[2] >= 32, inputShape[3] >= 32 else {
            throw InputError.invalidOption("input shape \(inputShape) is not [N, 3, H, W] with N >= 1 and H, W >= 32")
        }
        let entries = tuning?.entries ?? [:]
        let graph = NetworkGraph(
            model: model, batch: inputShape[0], height: inputShape[2], width: inputShape[3],
            tilings: { entries[ConvTuner.key($0)] })
        let geometries = model.convolutionGeometries(batch: inputShape[0], height: inputShape[2], width: inputShape[3])
        convolutions = geometries.count
        tunedConvolutions = geometries.filter { entries[ConvTuner.key($0.geometry)] != nil }.count
        try options.validate(opNames: graph.ops.map(\.name), kinds: graph.ops.map(\.kind))
        self.graph = graph
        self.runtime = runtime
        self.options = options
        self.inputShape = inputShape
        deviceName = runtime?.device.description

        let reasons = graph.ops.map { Self.reasonForCPU($0, runtime: runtime, options: options) }
        let onDevice = reasons.map { $0 == nil }
        let steps = Self.schedule(graph, onDevice: onDevice)
        self.steps = steps
        let (assignment, sizes) = Self.assignBuffers(graph, steps: steps)
        bufferBytes = sizes.map { $0 * MemoryLayout<Float>.stride }

        var buffers: [Int: CLBuffer] = [:]
        var ops: [Int: DeviceOp] = [:]
        var weightBytes = 0
        var scratchBytes = 0
        if let runtime {
            let scratchCount = zip(graph.ops, onDevice).filter(\.1).map(\.0.scratchCount).max() ?? 0
            let weightFloats = zip(graph.ops, onDevice).filter(\.1).reduce(0) { $0 + $1.0.weights.reduce(0) { $0 + $1.count } }
            try Self.checkFits(
                device: runtime.device, buffers: sizes + [scratchCount], weights: weightFloats, batch: inputShape[0],
                limit: options.memoryLimitBytes)
            let pool = try sizes.map { try runtime.buffer(count: $0) }
            let scratch = scratchCount > 0 ? try runtime.buffer(count: scratchCount) : nil
            scratchBytes = scratchCount * MemoryLayout<Float>.stride
            for (value, index) in assignment { buffers[value] = pool[index] }
            for (index, op) in graph.ops.enumerated() where onDevice[index] {
                let weights = try op.weights.map { try runtime.upload($0) }
                weightBytes += op.weights.reduce(0) { $0 + $1.count * MemoryLayout<Float>.stride }
                ops[index] = try op.device(
                    DeviceBinding(
                        runtime: runtime, inputs: op.inputs.map { buffers[$0]! }, weights: weights, output: buffers[op.output]!,
                        scratch: scratch, perturb: op.name == options.perturbLayer))
            }
        }
        valueBuffers = buffers
        deviceOps = ops
        self.weightBytes = weightBytes
        self.scratchBytes = scratchBytes
        placements = graph.ops.enumerated().map { index, op in
            Placement(
                name: op.name, kind: op.kind, onDevice: onDevice[index],
                reason: reasons[index], outputShape: graph.values[op.output].shape,
                buffer: assignment[op.output])
        }
    }

    func valueBufferFor(_ value: Int) -> CLBuffer? { valueBuffers[value] }

    /// Throws `deviceOutOfMemory` with a batch size that fits when the buffers (in floats) and
    /// weights exceed the device's memory or its largest allowed single allocation.
    static func checkFits(device: CLDevice, buffers: [Int], weights: Int, batch: Int, limit: Int?) throws {
        let float = MemoryLayout<Float>.stride
        let needed = (buffers.reduce(0, +) + weights) * float
        let largest = (buffers.max() ?? 0) * float
        // Leave a tenth of the memory to the driver and the kernels' own allocations.
        let available = min(Int(Double(device.globalMemoryBytes) * 0.9), limit ?? .max)
        let maxAllocation = Int(device.maxAllocationBytes)
        guard needed > available || largest > maxAllocation else { return }
        // Activations grow with the batch; weights do not.
        let perImage = max(1, (needed - weights * float) / batch)
        let byTotal = (available - weights * float) / perImage
        let byAllocation = maxAllocation / max(1, largest / batch)
        throw SENetError.deviceOutOfMemory(
            neededBytes: needed, availableBytes: min(available, largest > maxAllocation ? maxAllocation : available),
            batch: batch,
            suggestedBatch: max(0, min(byTotal, byAllocation, batch - 1)))
    }

    func deviceOp(_ index: Int) throws -> DeviceOp { deviceOps[index]! }

    /// Why `op` cannot or must not run on the device; nil when it runs there.
    static func reasonForCPU(_ op: GraphOp, runtime: DeviceRuntime?, options: PlanOptions) -> String? {
        guard runtime != nil else { return "CPU reference selected (--device cpu)" }
        if options.forcesCPU(name: op.name, kind: op.kind) { return "forced by --cpu-ops" }
        if op.kind == .excite, let shape = op.weights.first?.shape,
            shape[0] > ExciteOp.maxReducedWidth || shape[1] > ExciteOp.maxChannels
        {
            return
                "SE widths \(shape) exceed the excite kernel's local buffers (\(ExciteOp.maxReducedWidth), \(ExciteOp.maxChannels))"
        }
        return nil
    }

    /// The step list: each op where it was placed, with an upload or download in front of any
    /// input that lives on the other side, and downloads of the outputs at the end.
    static func schedule(_ graph: NetworkGraph, onDevice: [Bool]) -> [Step] {
        var onHost: Set<Int> = [graph.input]
        var onDev: Set<Int> = []
        var steps: [Step] = []
        for (index, op) in graph.ops.enumerated() {
            for input in op.inputs {
                if onDevice[index] && !onDev.contains(input) {
                    steps.append(.upload(value: input))
                    onDev.insert(input)
                } else if !onDevice[index] && !onHost.contains(input) {
                    steps.append(.download(value: input))
                    onHost.insert(input)
                }
            }
            steps.append(onDevice[index] ? .device(op: index) : .host(op: index))
            if onDevice[index] { onDev.insert(op.output) } else { onHost.insert(op.output) }
        }
        for value in [graph.logits, graph.probabilities] where !onHost.contains(value) {
            steps.append(.download(value: value))
        }
        return steps
    }

    /// Device buffers with reuse: a value holds a buffer from the step that writes it to its
    /// last device use; freed buffers go to later values (best fit by size).
    /// Returns value → buffer index, and each buffer's size in floats.
    static func assignBuffers(_ graph: NetworkGraph, steps: [Step]) -> ([Int: Int], [Int]) {
        var lastUse: [Int: Int] = [:]
        var firstWrite: [Int: Int] = [:]
        for (index, step) in steps.enumerated() {
            switch step {
            case .upload(let value):
                firstWrite[value] = index
                lastUse[value] = index
            case .device(let op):
                for input in graph.ops[op].inputs { lastUse[input] = index }
                firstWrite[graph.ops[op].output] = index
                lastUse[graph.ops[op].output] = max(lastUse[graph.ops[op].output] ?? index, index)
            case .download(let value):
                lastUse[value] = index
            case .host:
                break
            }
        }
        var sizes: [Int] = []
        var free: [Int] = []
        var assignment: [Int: Int] = [:]
        var owner: [Int: Int] = [:]  // Buffer → the value living in it now.
        let writes = Dictionary(grouping: firstWrite.keys, by: { firstWrite[$0]! })
        let releases = Dictionary(grouping: lastUse.keys, by: { lastUse[$0]! })
        for index in steps.indices {
            for value in (writes[index] ?? []).sorted() {
                let need = graph.values[value].count
                // Elementwise ops may write over their first input when it dies here.
                if case .device(let op) = steps[index], graph.ops[op].kind == .scaleAddRelu,
                    let first = graph.ops[op].inputs.first, lastUse[first] == index, let buffer = assignment[first],
                    sizes[buffer] >= need
                {
                    (assignment[value], owner[buffer]) = (buffer, value)
                    continue
                }
                if let best = free.filter({ sizes[$0] >= need }).min(by: { sizes[$0] < sizes[$1] }) {
                    free.removeAll { $0 == best }
                    (assignment[value], owner[best]) = (best, value)
                } else {
                    sizes.append(need)
                    (assignment[value], owner[sizes.count - 1]) = (sizes.count - 1, value)
                }
            }
            // A value that handed its buffer on in place no longer owns it, so does not free it.
            for value in releases[index] ?? [] {
                if let buffer = assignment[value], owner[buffer] == value { free.append(buffer) }
            }
        }
        return (assignment, sizes)
    }
}
