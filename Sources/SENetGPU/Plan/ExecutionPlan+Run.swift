import Foundation

extension ExecutionPlan {
    /// Runs the plan on `input` [N, 3, H, W] (the shape it was built for).
    /// `observe` sees every op's output by name as it is produced (a blocking read per op on
    /// the device, so only `compare` uses it).
    public func run(_ input: Tensor, observe: ((String, Tensor) -> Void)? = nil) throws -> Output {
        guard input.shape == inputShape else {
            throw InputError.invalidOption("input shape \(input.shape) differs from the plan's \(inputShape)")
        }
        return try lock.withLock { try execute(input, observe: observe) }
    }

    /// The device buffer the input goes to when every consumer of the input runs on the device;
    /// nil otherwise (then the input must come from the host).
    public var deviceInputBuffer: CLBuffer? {
        let hostReadsInput = graph.ops.indices.contains { index in
            graph.ops[index].inputs.contains(graph.input) && !placements[index].onDevice
        }
        return hostReadsInput ? nil : valueBufferFor(graph.input)
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

    private func execute(_ input: Tensor?, observe: ((String, Tensor) -> Void)?) throws -> Output {
        do {
            return try walkSteps(input, observe: observe)
        } catch {
            // Let the commands already queued finish before anyone frees their buffers or exits.
            try? runtime?.queue.finish()
            throw error
        }
    }

    private func walkSteps(_ input: Tensor?, observe: ((String, Tensor) -> Void)?) throws -> Output {
        var host: [Int: Tensor] = [:]
        if let input { host[graph.input] = input }
        var events: [(Int, [CLEvent])] = []
        var hostSeconds: [Int: Double] = [:]
        for step in steps {
            switch step {
            case .upload(let value):
                // A missing host input was filled on the device already.
                if let tensor = host[value] { try buffer(value).write(tensor.data, queue: queue) }
            case .download(let value):
                host[value] = try read(value)
            case .device(let index):
                let op = graph.ops[index]
                do {
                    if op.name == options.failLayer { throw CLError(code: -5, call: "injected failure (--debug-fail)") }
                    events.append((index, try deviceOp(index).enqueue(on: queue, profile: options.profile && queue.profiling)))
                    if let observe { observe(op.name, try read(op.output)) }
                } catch let error as CLError {
                    throw SENetError.layerFailed(layer: op.name, reason: error.description)
                }
            case .host(let index):
                let op = graph.ops[index]
                let start = Date()
                let output = op.host(op.inputs.map { host[$0]! })
                hostSeconds[index] = Date().timeIntervalSince(start)
                host[op.output] = output
                observe?(op.name, output)
            }
        }
        var seconds = hostSeconds
        for (index, opEvents) in events where !opEvents.isEmpty {
            seconds[index] = try opEvents.reduce(0) { $0 + Double(try $1.durationNanoseconds()) / 1e9 }
        }
        let timings = options.profile ? graph.ops.indices.map { (name: graph.ops[$0].name, seconds: seconds[$0] ?? 0) } : []
        return Output(logits: host[graph.logits]!, probabilities: host[graph.probabilities]!, opSeconds: timings)
    }

    private var queue: CLQueue { runtime!.queue }

    private func buffer(_ value: Int) throws -> CLBuffer {
        guard let buffer = valueBufferFor(value) else { preconditionFailure("value \(value) has no device buffer") }
        return buffer
    }

    private func read(_ value: Int) throws -> Tensor {
        try runtime!.download(try buffer(value), shape: graph.values[value].shape)
    }
}
