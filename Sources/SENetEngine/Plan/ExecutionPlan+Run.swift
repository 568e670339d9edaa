import Foundation
import OpenCLKit
import SENetCore

extension ExecutionPlan {
    /// Runs the plan on `input` [N, 3, H, W] (the shape it was built for).
    /// `observe` sees every node's output as it is produced (a blocking read per op on the
    /// device, so only `compare` uses it).
    public func run(_ input: Tensor, observe: ((GraphNode, Tensor) -> Void)? = nil) throws -> Output {
        guard input.shape == inputShape else { throw EngineError.inputShapeMismatch(got: input.shape, planned: inputShape) }
        return try lock.withLock { try execute(input, observe: observe) }
    }

    /// The device buffer the input goes to when every consumer of the input runs on the device;
    /// nil otherwise (then the input must come from the host).
    public var deviceInputBuffer: CLBuffer? {
        let hostReadsInput = graph.nodes.indices.contains { index in
            graph.nodes[index].inputs.contains(graph.input) && !placements[index].onDevice
        }
        return hostReadsInput ? nil : valueBuffers[graph.input]
    }

    /// Runs the plan with the input written straight into `deviceInputBuffer` by `fill`
    /// (device preprocessing), skipping the upload.
    public func run(fillingInputOnDevice fill: (CLBuffer) throws -> Void) throws -> Output {
        guard let buffer = deviceInputBuffer else { preconditionFailure("the plan takes its input from the host") }
        return try lock.withLock {
            try fill(buffer)
            return try execute(nil, observe: nil)
        }
    }

    private func execute(_ input: Tensor?, observe: ((GraphNode, Tensor) -> Void)?) throws -> Output {
        do {
            return try walkSteps(input, observe: observe)
        } catch {
            // Let the commands already queued finish before anyone frees their buffers or exits.
            try? runtime?.queue.finish()
            throw error
        }
    }

    private func walkSteps(_ input: Tensor?, observe: ((GraphNode, Tensor) -> Void)?) throws -> Output {
        var host: [Int: Tensor] = [:]
        if let input { host[graph.input] = input }
        var events: [(Int, [CLEvent])] = []
        var hostSeconds: [Int: Double] = [:]
        for step in steps {
            switch step {
            case .upload(let value):
                // A missing host input was filled on the device already.
                if let tensor = host[value] { try runtime!.write(tensor, to: buffer(value), as: graph.values[value].elementType) }
            case .download(let value):
                host[value] = try read(value)
            case .device(let index):
                let node = graph.nodes[index]
                do {
                    if node.name == options.failLayer { throw CLError(code: -5, call: "injected failure") }
                    events.append((index, try deviceOps[index]!.enqueue(on: queue, profile: options.profile && queue.profiling)))
                    if let observe, !perturbedValues.contains(node.output) { observe(node, try read(node.output)) }
                } catch let error as CLError {
                    throw EngineError.layerFailed(layer: node.name, reason: error.description)
                }
            case .host(let index):
                let node = graph.nodes[index]
                let start = Date()
                let output = node.op.reference(node.inputs.map { host[$0]! })
                hostSeconds[index] = Date().timeIntervalSince(start)
                host[node.output] = output
                if let observe, !perturbedValues.contains(node.output) { observe(node, output) }
            case .perturb(let value):
                // A debug step: finding the producer by search costs nothing that matters here.
                let producer = graph.nodes.firstIndex { $0.output == value }!
                let onDevice = placements[producer].onDevice
                var tensor = onDevice ? try read(value) : host[value]!
                for i in tensor.data.indices { tensor.data[i] += 0.01 * abs(tensor.data[i]) + 0.01 }
                if onDevice { try runtime!.write(tensor, to: buffer(value), as: graph.values[value].elementType) }
                host[value] = onDevice ? host[value] : tensor
                observe?(graph.nodes[producer], tensor)
            }
        }
        // Each event is read once: its launch's times, and the op's seconds summed from them.
        var seconds = hostSeconds
        var launches: [LaunchTiming] = []
        for (index, opEvents) in events where !opEvents.isEmpty {
            seconds[index] = 0
            // Profiling gives every launch of the op an event, in launch order.
            for (launch, event) in zip(deviceOps[index]!.launches, opEvents) {
                let (start, end) = try event.startAndEndNanoseconds()
                seconds[index]! += Double(end >= start ? end - start : 0) / 1e9
                launches.append(
                    LaunchTiming(
                        node: index, kernel: launch.kernel.name, global: launch.global, local: launch.local, start: start,
                        end: end))
            }
        }
        let timings = options.profile ? graph.nodes.indices.map { (name: graph.nodes[$0].name, seconds: seconds[$0] ?? 0) } : []
        return Output(
            logits: host[graph.logits]!, probabilities: host[graph.probabilities]!, opSeconds: timings, launches: launches)
    }

    private var queue: CLQueue { runtime!.queue }

    private func buffer(_ value: Int) throws -> CLBuffer {
        guard let buffer = valueBuffers[value] else { preconditionFailure("value \(value) has no device buffer") }
        return buffer
    }

    /// A device value read back as fp32, whatever its element type.
    private func read(_ value: Int) throws -> Tensor {
        let info = graph.values[value]
        return try runtime!.download(try buffer(value), shape: info.shape, as: info.elementType)
    }
}
