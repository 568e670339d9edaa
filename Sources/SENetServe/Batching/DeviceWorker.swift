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
    /// False once the watchdog took the worker out: a batch ran past the limit.
    private var inService = true
    private var runningBatch: [BatchJob] = []
    private var runningSince: DispatchTime?

    init(name: String, backend: any InferenceBackend, settings: BatchSettings, metrics: ServerMetrics, logger: Logger) {
        (self.name, self.backend, self.settings, self.metrics, self.logger) = (name, backend, settings, metrics, logger)
    }

    /// Images waiting and running: what the dispatcher balances.
    var load: Int { condition.withLock { queuedImages + runningImages } }
    var waiting: Int { condition.withLock { queuedImages } }
    var isInService: Bool { condition.withLock { inService } }

    /// The watchdog's check: when the running batch began more than `limit` seconds ago, takes
    /// the worker out of service and hands back the running batch's jobs and the queued ones;
    /// nil otherwise. The blocked device call is left to return or not: its late result is
    /// dropped.
    func takeOutIfStuck(limit: Double) -> (running: [BatchJob], queued: [BatchJob])? {
        condition.withLock {
            // The clock is read under the lock: read before it, a batch that began in between
            // looked as if it had run for 584 years.
            guard inService, let since = runningSince, Self.ran(since: since, now: .now(), pastLimit: limit)
            else { return nil }
            inService = false
            stopping = true
            let queued = queue
            queue = []
            queuedImages = 0
            runningImages = 0
            condition.broadcast()
            return (runningBatch, queued)
        }
    }

    /// Whether more than `limit` seconds lie between `since` and `now`; a `now` before `since`
    /// is no time at all, not an unsigned wrap-around.
    static func ran(since: DispatchTime, now: DispatchTime, pastLimit limit: Double) -> Bool {
        now > since && now.uptimeNanoseconds - since.uptimeNanoseconds > UInt64(limit * 1e9)
    }

    /// Puts the backend's plan counts on /metrics.
    func reportPlans() {
        if let cache = backend.planCache { metrics.plans(device: name, kept: cache.kept, dropped: cache.dropped) }
    }

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

    /// Returns at once for a worker out of service: its device call may never return.
    func waitUntilStopped() {
        condition.withLock { while !stopped && inService { condition.wait() } }
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
        // The oldest job's side sets the batch's; jobs of other sides keep their places.
        let side = queue[0].side
        var index = 0
        while index < queue.count, batch.isEmpty || images < settings.maxBatch {
            let job = queue[index]
            guard job.side == side, batch.isEmpty || images + job.images <= settings.maxBatch else {
                index += 1
                continue
            }
            queue.remove(at: index)
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
        let begun = DispatchTime.now()
        condition.withLock { (runningBatch, runningSince) = (batch, begun) }
        let images = batch.reduce(0) { $0 + $1.images }
        let perImage = batch[0].input.count / batch[0].images
        var data: [Float] = []
        data.reserveCapacity(images * perImage)
        for job in batch { data.append(contentsOf: job.input) }
        let side = batch[0].side
        // Zero rows pad the batch to its plan's size; rows are independent, so they change nothing.
        let planned = settings.planBatch(for: images)
        data.append(contentsOf: repeatElement(0, count: (planned - images) * perImage))
        let start = DispatchTime.now()
        let result = Result { try backend.infer(Tensor(shape: [planned, 3, side.height, side.width], data: data)) }
        let finished = DispatchTime.now()
        reportPlans()
        let inferNanoseconds = finished.uptimeNanoseconds &- start.uptimeNanoseconds
        let seconds = Double(inferNanoseconds) / 1e9
        let stillInService = condition.withLock {
            (runningBatch, runningSince) = ([], nil)
            return inService
        }
        guard stillInService else {
            // The watchdog answered these jobs already; a result this late counts nowhere.
            logger.warning(
                "a batch returned after the watchdog took its device out; result dropped",
                metadata: ["device": "\(name)", "seconds": "\(String(format: "%.1f", seconds))"])
            return
        }
        // Counted before the answers go out, so a client that then reads /metrics sees its batch.
        metrics.batchRan(device: name, images: images, seconds: seconds, succeeded: (try? result.get()) != nil)
        switch result {
        case .success(let output):
            let classes = output.logits.shape[1]
            var row = 0
            var rows: [BatchRows] = []
            for job in batch {
                let range = (row * classes)..<((row + job.images) * classes)
                rows.append(
                    BatchRows(
                        images: job.images, logits: Array(output.logits.data[range]),
                        probabilities: Array(output.probabilities.data[range]),
                        queueNanoseconds: begun.uptimeNanoseconds &- job.arrival.uptimeNanoseconds,
                        inferNanoseconds: inferNanoseconds))
                row += job.images
            }
            // Counted before the answers go out, as the metrics are.
            metrics.statistics.batchRan(
                images: images,
                timing: .init(
                    input: start.uptimeNanoseconds &- begun.uptimeNanoseconds, infer: inferNanoseconds,
                    output: finished.nanosecondsUntilNow))
            for (job, rows) in zip(batch, rows) { job.finish(.success(rows)) }
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
    /// Seconds one batch may run on its device before the watchdog fails its requests with
    /// 503 and takes the device out of service.
    public var batchTimeoutSeconds: Double = 60

    /// The batch sizes plans are built for: powers of two below `maxBatch`, and `maxBatch`.
    /// A batch runs padded to the next one, so a device holds about 2 × maxBatch images of
    /// activations instead of the maxBatch²/2 of a plan per size.
    public var planBatches: [Int] { Self.planBatches(maxBatch: maxBatch) }

    public static func planBatches(maxBatch: Int) -> [Int] {
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
