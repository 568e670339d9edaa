import Foundation
import Logging
import SENetCore
import SENetEngine

/// One device's queue and the thread that runs it: requests that arrive within `window` of the
/// oldest waiting one, up to `maxBatch` images, run as one batch. OpenCL calls block, so the
/// worker owns a thread instead of occupying Swift concurrency's few.
final class DeviceWorker: @unchecked Sendable {
    let name: String
    let backend: any InferenceBackend
    private let settings: BatchSettings
    private let metrics: ServerMetrics
    private let logger: Logger
    private let condition = NSCondition()
    private var queue: [BatchJob] = []
    private var queuedImages = 0
    private var runningImages = 0
    private var stopping = false
    private var stopped = false

    init(name: String, backend: any InferenceBackend, settings: BatchSettings, metrics: ServerMetrics, logger: Logger) {
        (self.name, self.backend, self.settings, self.metrics, self.logger) = (name, backend, settings, metrics, logger)
    }

    /// Images waiting and running: what the dispatcher balances.
    var load: Int { condition.withLock { queuedImages + runningImages } }
    var waiting: Int { condition.withLock { queuedImages } }

    /// False once the worker is stopping: the caller answers the job instead.
    func enqueue(_ job: BatchJob) -> Bool {
        condition.withLock {
            guard !stopping else { return false }
            queue.append(job)
            queuedImages += job.images
            condition.broadcast()
            return true
        }
    }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "senet-worker-\(name)"
        thread.start()
    }

    /// Runs what is queued, then returns from `waitUntilStopped`.
    func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    func waitUntilStopped() {
        condition.withLock { while !stopped { condition.wait() } }
    }

    private func loop() {
        while let batch = nextBatch() {
            run(batch)
        }
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    /// Waits for work, then for the window to fill; nil once stopping with nothing queued.
    private func nextBatch() -> [BatchJob]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty {
            if stopping { return nil }
            condition.wait()
        }
        let windowEnd = queue[0].arrival + settings.windowSeconds
        while queuedImages < settings.maxBatch && !stopping && DispatchTime.now() < windowEnd {
            let seconds = Double(windowEnd.uptimeNanoseconds &- DispatchTime.now().uptimeNanoseconds) / 1e9
            _ = condition.wait(until: Date(timeIntervalSinceNow: max(seconds, 0)))
        }
        var batch: [BatchJob] = []
        var images = 0
        let now = DispatchTime.now()
        while let job = queue.first, batch.isEmpty || images + job.images <= settings.maxBatch {
            queue.removeFirst()
            queuedImages -= job.images
            metrics.queueDepthChanged(by: -job.images)
            if job.deadline < now {
                metrics.timedOut()  // Before the answer, so a client that then reads /metrics sees it.
                job.finish(.failure(ServeError(status: 503, message: Self.timeoutMessage(settings), retryAfter: 1)))
                continue
            }
            batch.append(job)
            images += job.images
        }
        runningImages = images
        return batch
    }

    static func timeoutMessage(_ settings: BatchSettings) -> String {
        "the request waited in the queue longer than --timeout \(settings.timeoutSeconds) s; the server is overloaded, retry later"
    }

    private func run(_ batch: [BatchJob]) {
        defer { condition.withLock { runningImages = 0 } }
        guard !batch.isEmpty else { return }
        let images = batch.reduce(0) { $0 + $1.images }
        let perImage = batch[0].input.count / batch[0].images
        var data: [Float] = []
        data.reserveCapacity(images * perImage)
        for job in batch { data.append(contentsOf: job.input) }
        let side = settings.inputSide
        // Zero rows pad the batch to its plan's size; rows are independent, so they change nothing.
        let planned = settings.planBatch(for: images)
        data.append(contentsOf: repeatElement(0, count: (planned - images) * perImage))
        let start = DispatchTime.now()
        let result = Result { try backend.infer(Tensor(shape: [planned, 3, side.height, side.width], data: data)) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        // Counted before the answers go out, so a client that then reads /metrics sees its batch.
        metrics.batchRan(device: name, images: images, seconds: seconds, succeeded: (try? result.get()) != nil)
        switch result {
        case .success(let output):
            let classes = output.logits.shape[1]
            var row = 0
            for job in batch {
                let range = (row * classes)..<((row + job.images) * classes)
                job.finish(
                    .success(
                        BatchRows(
                            images: job.images, logits: Array(output.logits.data[range]),
                            probabilities: Array(output.probabilities.data[range]))))
                row += job.images
            }
        case .failure(let error):
            logger.error("batch failed", metadata: ["device": "\(name)", "images": "\(images)", "error": "\(error)"])
            for job in batch {
                job.finish(.failure(ServeError(status: 500, message: "inference failed on device \(name): \(error)")))
            }
        }
    }
}

/// The batching knobs of `serve`.
public struct BatchSettings: Sendable {
    public var maxBatch: Int
    public var windowSeconds: Double
    /// Most images waiting (not running) across every device before new requests get 503.
    public var maxQueue: Int
    public var timeoutSeconds: Double
    /// The model's input height and width (the crop for images).
    public var inputSide: (height: Int, width: Int)

    /// The batch sizes plans are built for: powers of two below `maxBatch`, and `maxBatch`.
    /// A batch runs padded to the next one, so a device holds about 2 × maxBatch images of
    /// activations instead of the maxBatch²/2 of a plan per size.
    public var planBatches: [Int] {
        (0..<16).map { 1 << $0 }.filter { $0 < maxBatch } + [maxBatch]
    }

    func planBatch(for images: Int) -> Int { planBatches.first { $0 >= images } ?? images }

    public init(maxBatch: Int, windowSeconds: Double, maxQueue: Int, timeoutSeconds: Double, inputSide: (Int, Int)) {
        (self.maxBatch, self.windowSeconds, self.maxQueue, self.timeoutSeconds) = (
            maxBatch, windowSeconds, maxQueue, timeoutSeconds
        )
        self.inputSide = (inputSide.0, inputSide.1)
    }
}
