import ArgumentParser
import Foundation
import Logging
import SENetCore
import SENetEngine
import SENetImages
import SENetServe

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over HTTP with the Open Inference Protocol (KServe v2, Triton's clients), batching requests.",
        discussion: """
            --device takes one index, a list (0,1) or `all`: one worker per device, requests go to the least loaded. \
            Live at once; ready (GET /v2/health/ready) after every device built its plans and passed a warm-up run. \
            SIGTERM turns readiness 503 and keeps serving for --drain-window seconds, then closes the listener and answers \
            every request received (waiting at most --drain-timeout seconds), then exits; SIGINT skips the window. \
            Prometheus metrics at GET /metrics.
            """)

    @OptionGroup var engineOptions: EngineOptions

    @OptionGroup var weightsOptions: WeightsOptions

    @OptionGroup var preprocessingOptions: PreprocessingOptions

    @Option(help: "Class names, one per line, for the labels output (default: ImageNet's for 1000-class models).")
    var labels: String?

    @Option(help: "Address to listen on (0.0.0.0 in a container).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed in the `listening` log line).")
    var port = 8000

    @Option(help: "Port for the protocol's gRPC side (inference.GRPCInferenceService) on --host; none by default.")
    var grpcPort: Int?

    @Option(help: "The model's name in URLs (default: the model name, e.g. seresnet50).")
    var name: String?

    @Option(
        help: ArgumentHelp(
            "Take FP32 tensors of any height and width from MIN to MAX (metadata says [-1, 3, -1, -1]); image files still become --crop squares.",
            valueName: "MIN..MAX"))
    var dynamicSize: String?

    @Option(
        help:
            "Most plans each device keeps with --dynamic-size, one per batch size and H×W; past it the least recently used is dropped and rebuilt when next needed (default: 4 sizes' worth)."
    )
    var maxPlans: Int?

    @Option(help: "Most images run as one batch; also the most one request may send.")
    var maxBatch = 8

    @Option(help: "Milliseconds a batch waits for more requests after its first arrived (0: run what is queued).")
    var batchWindowMs = 2.0

    @Option(help: "Most images waiting across every device; beyond it requests get 503 with Retry-After.")
    var maxQueue = 256

    @Option(help: "Seconds a request may wait in the queue before it gets 503.")
    var timeout = 30.0

    @Option(
        help:
            "Seconds one batch may run on its device; past it the batch's requests get 503 and the device leaves service (readiness says 503 when none is left)."
    )
    var batchTimeout = 60.0

    @Option(help: "Largest request body in MiB.")
    var maxBodyMb = 64

    @Option(
        help:
            "Seconds a connection may go without a complete request part (headers, a body chunk) when no response is due: closes idle keep-alive, slow-header and stalled-body connections."
    )
    var idleTimeout = 60.0

    @Option(
        help:
            "Seconds after SIGTERM that the listener keeps serving while readiness says 503, so load balancers stop sending first (SIGINT skips it)."
    )
    var drainWindow = 5.0

    @Option(
        help:
            "Seconds the shutdown waits for requests in flight once the listener closed; then the connections left (stalled uploads) are closed. Keep window + timeout under the orchestrator's grace period (Kubernetes: 30 s)."
    )
    var drainTimeout = 20.0

    @Option(
        help:
            "Most open connections; at the cap a new connection closes the one idle longest, or is closed when none is idle (default: the open-file limit less 64)."
    )
    var maxConnections: Int?

    @Option(help: "Threads that decode request bodies and images (default: the host's cores).")
    var decodeThreads = ProcessInfo.processInfo.activeProcessorCount

    @Option(
        help:
            "Most megapixels the images of one request may declare in their headers; more gets 400 before anything is decoded."
    )
    var maxRequestMegapixels = 200.0

    @Option(
        help:
            "Most megapixels all requests may be decoding at once; a request that would pass it gets 503 with Retry-After."
    )
    var maxDecodingMegapixels = 400.0

    @Option(help: "Log lines as json (one object per line) or text.")
    var logFormat = LogFormat.json

    @Option(help: "Log level.")
    var logLevel = LogLevel.info

    @Option(help: ArgumentHelp("Seconds to wait before the warm-up (tests of not-ready).", visibility: .hidden))
    var debugWarmUpDelay = 0.0

    @Option(help: ArgumentHelp("Device index whose batches hang after the warm-up (tests of the watchdog).", visibility: .hidden))
    var debugStallDevice: Int?

    func validate() throws {
        let crop = preprocessingOptions.crop
        guard (32...4096).contains(crop) else { throw CLIError.invalidOption("--crop \(crop) is not between 32 and 4096") }
        if let sizes = try dynamicSizes(), !sizes.contains(crop) {
            throw CLIError.invalidOption(
                "--crop \(crop) is outside --dynamic-size \(sizes.lowerBound)..\(sizes.upperBound); image files become --crop squares, so it must lie within"
            )
        }
        if let maxPlans {
            guard dynamicSize != nil else { throw CLIError.invalidOption("--max-plans needs --dynamic-size") }
            let sizes = BatchSettings.planBatches(maxBatch: maxBatch).count
            guard (sizes...100_000).contains(maxPlans) else {
                throw CLIError.invalidOption(
                    "--max-plans \(maxPlans) is below the \(sizes) batch sizes one input size runs at with --max-batch \(maxBatch)"
                )
            }
        }
        guard preprocessingOptions.resize >= crop else {
            throw CLIError.invalidOption("--resize \(preprocessingOptions.resize) is smaller than --crop \(crop)")
        }
        guard maxBatch >= 1, maxBatch <= 256 else {
            throw CLIError.invalidOption("--max-batch \(maxBatch) is not between 1 and 256")
        }
        guard batchWindowMs >= 0, batchWindowMs <= 10_000 else {
            throw CLIError.invalidOption("--batch-window-ms \(batchWindowMs) is not between 0 and 10000")
        }
        guard maxQueue >= maxBatch else {
            throw CLIError.invalidOption("--max-queue \(maxQueue) must be at least --max-batch \(maxBatch)")
        }
        guard timeout > batchWindowMs / 1000 else {
            throw CLIError.invalidOption("--timeout \(timeout) s must be longer than --batch-window-ms \(batchWindowMs)")
        }
        guard batchTimeout > 0, batchTimeout <= 86_400 else {
            throw CLIError.invalidOption("--batch-timeout \(batchTimeout) is not between 0 and 86400 seconds")
        }
        guard idleTimeout > 0, idleTimeout <= 3600 else {
            throw CLIError.invalidOption("--idle-timeout \(idleTimeout) is not between 0 and 3600 seconds")
        }
        guard drainWindow >= 0, drainWindow <= 3600 else {
            throw CLIError.invalidOption("--drain-window \(drainWindow) is not between 0 and 3600 seconds")
        }
        guard drainTimeout > 0, drainTimeout <= 3600 else {
            throw CLIError.invalidOption("--drain-timeout \(drainTimeout) is not between 0 and 3600 seconds")
        }
        if let maxConnections, !(1...1_000_000).contains(maxConnections) {
            throw CLIError.invalidOption("--max-connections \(maxConnections) is not between 1 and 1000000")
        }
        guard (1...256).contains(decodeThreads) else {
            throw CLIError.invalidOption("--decode-threads \(decodeThreads) is not between 1 and 256")
        }
        guard maxRequestMegapixels > 0, maxRequestMegapixels <= 100_000 else {
            throw CLIError.invalidOption("--max-request-megapixels \(maxRequestMegapixels) is not between 0 and 100000")
        }
        guard maxDecodingMegapixels >= maxRequestMegapixels, maxDecodingMegapixels <= 100_000 else {
            throw CLIError.invalidOption(
                "--max-decoding-megapixels \(maxDecodingMegapixels) must be at least --max-request-megapixels \(maxRequestMegapixels) and at most 100000"
            )
        }
        guard maxBodyMb >= 1, maxBodyMb <= 4096 else {
            throw CLIError.invalidOption("--max-body-mb \(maxBodyMb) is not between 1 and 4096")
        }
        guard (0...65535).contains(port) else { throw CLIError.invalidOption("--port \(port) is not between 0 and 65535") }
        if let grpcPort {
            guard (0...65535).contains(grpcPort) else {
                throw CLIError.invalidOption("--grpc-port \(grpcPort) is not between 0 and 65535")
            }
            guard grpcPort != port || port == 0 else {
                throw CLIError.invalidOption("--grpc-port \(grpcPort) is --port too; give HTTP and gRPC a port each")
            }
        }
    }

    /// `--dynamic-size MIN..MAX`, checked: the network needs 32 pixels and a device's memory bounds the top.
    func dynamicSizes() throws -> ClosedRange<Int>? {
        guard let dynamicSize else { return nil }
        let parts = dynamicSize.components(separatedBy: "..")
        guard parts.count == 2, let low = Int(parts[0]), let high = Int(parts[1]) else {
            throw CLIError.invalidOption("--dynamic-size \(dynamicSize) is not MIN..MAX, e.g. 128..512")
        }
        guard 32 <= low, low <= high, high <= 4096 else {
            throw CLIError.invalidOption(
                "--dynamic-size \(dynamicSize) is not within 32..4096 with MIN at most MAX")
        }
        return low...high
    }

    func run() throws {
        do {
            let (model, synthetic) = try weightsOptions.loadModel()
            let logger = makeLogger()
            if synthetic { logger.warning("SYNTHETIC seeded weights (not trained); pass --weights for real predictions") }
            let engines = try engineOptions.engines(for: model)
            let preprocessing = try preprocessingOptions.preprocessing()
            let served = ServedModel(
                name: name ?? model.architecture.modelName, classes: model.architecture.numClasses, preprocessing: preprocessing,
                labels: try ClassLabels(classes: model.architecture.numClasses, file: labels),
                maxBatch: maxBatch, dynamicSizes: try dynamicSizes())
            var settings = BatchSettings(
                maxBatch: maxBatch, windowSeconds: batchWindowMs / 1000, maxQueue: maxQueue, timeoutSeconds: timeout,
                inputSide: (preprocessing.crop, preprocessing.crop))
            settings.batchTimeoutSeconds = batchTimeout
            if served.dynamicSizes != nil {
                let plans = maxPlans ?? 4 * settings.planBatches.count
                for entry in engines { entry.engine.keepPlans(atMost: plans) }
            }
            var configuration = ServerConfiguration(host: host, port: port, maxBodyBytes: maxBodyMb * 1_048_576, batch: settings)
            configuration.warmUpDelay = debugWarmUpDelay
            configuration.grpcPort = grpcPort
            (configuration.idleTimeout, configuration.decodeThreads) = (idleTimeout, decodeThreads)
            (configuration.drainWindow, configuration.drainTimeout) = (drainWindow, drainTimeout)
            configuration.maxConnections = maxConnections ?? OpenFiles.raiseLimit() - OpenFiles.reserve
            configuration.maxRequestPixels = Int(maxRequestMegapixels * 1e6)
            configuration.maxDecodingPixels = Int(maxDecodingMegapixels * 1e6)
            let server = InferenceServer(
                model: served, backends: try backends(engines, warmUpRuns: served.warmUpShapes(settings).count),
                configuration: configuration, logger: logger)
            do {
                try blockOn { try await server.run() }
            } catch let error as ServeError where error.message.hasPrefix("the gRPC listener") {
                let hint =
                    "\(error)".contains("ddress already in use") ? "; stop the other server or choose another --grpc-port" : ""
                throw CLIError.invalidOption("\(error.message)\(hint)")
            } catch  where "\(error)".contains("Address already in use") {
                throw CLIError.invalidOption(
                    "port \(port) on \(host) is already in use; stop the other server or choose another --port (0 picks a free one)"
                )
            }
        } catch let error as ExitCode {
            throw error
        } catch { throw SENetGPUCommand.fail(error) }
    }

    /// One backend per engine; `--debug-stall-device N` makes device N's hang after its warm-up.
    private func backends(_ engines: [(name: String, engine: InferenceEngine)], warmUpRuns: Int) throws
        -> [(name: String, backend: any InferenceBackend)]
    {
        guard let stalled = debugStallDevice else { return engines.map { ($0.name, $0.engine) } }
        guard let indices = try engineOptions.deviceIndices(), let position = indices.firstIndex(of: stalled) else {
            throw CLIError.invalidOption(
                "--debug-stall-device \(stalled) is not one of the served --device \(engineOptions.device)")
        }
        return engines.enumerated().map { index, entry in
            (entry.name, index == position ? StallingBackend(inner: entry.engine, runsBeforeStall: warmUpRuns) : entry.engine)
        }
    }

    private func makeLogger() -> Logger {
        var logger = Logger(label: "senet-gpu.serve") { label in
            logFormat == .json ? JSONLogHandler(label: label) as any LogHandler : StreamLogHandler.standardError(label: label)
        }
        logger.logLevel = logLevel.level
        return logger
    }
}

/// The process's open-file limit, which bounds its connections.
enum OpenFiles {
    /// Files kept for devices, kernel caches, weights and logs beside connections.
    static let reserve = 64

    /// Raises the soft limit to the hard one (as Go's runtime does) and returns it.
    static func raiseLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = min(limit.rlim_max, 1 << 20)
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return max(Int(min(limit.rlim_cur, 1 << 20)), reserve + 16)
    }
}

/// Runs `work` on Swift concurrency's pool and waits for it: the command tree is synchronous
/// (ParsableCommand), the server is async.
func blockOn(_ work: @escaping @Sendable () async throws -> Void) throws {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var failure: Error?
    Task.detached {
        do { try await work() } catch { failure = error }
        done.signal()
    }
    done.wait()
    if let failure { throw failure }
}
