import Foundation
import Logging

/// Spreads requests over the devices' workers by load (images waiting or running), and turns
/// requests away with 503 when the queue is full.
final class Dispatcher: @unchecked Sendable {
    let workers: [DeviceWorker]
    let settings: BatchSettings
    private let metrics: ServerMetrics
    private let lock = NSLock()

    init(workers: [DeviceWorker], settings: BatchSettings, metrics: ServerMetrics) {
        (self.workers, self.settings, self.metrics) = (workers, settings, metrics)
    }

    private var watching = true

    func start() {
        for worker in workers { worker.start() }
        let thread = Thread { [self] in watch() }
        thread.name = "senet-watchdog"
        thread.start()
    }

    /// Lets every worker in service finish what it has queued, then returns.
    func drain() {
        lock.withLock { watching = false }
        for worker in workers { worker.stop() }
        for worker in workers { worker.waitUntilStopped() }
    }

    /// Whether any device still takes requests: readiness says 503 when none does.
    var hasWorkerInService: Bool { workers.contains { $0.isInService } }

    /// The watchdog: checks the running batches a few times per limit (at most every 50 ms).
    /// A batch past `batchTimeoutSeconds` gets 503 for its requests, its device leaves service,
    /// and the requests queued there move to the devices left (or get 503 when none is left).
    private func watch() {
        let limit = settings.batchTimeoutSeconds
        let interval = min(0.05, limit / 10)
        while lock.withLock({ watching }) {
            Thread.sleep(forTimeInterval: interval)
            for worker in workers {
                guard let (running, queued) = worker.takeOutIfStuck(limit: limit) else { continue }
                metrics.deviceTakenOut(worker.name)
                metrics.queueDepthChanged(by: -queued.reduce(0) { $0 + $1.images })
                let message =
                    "device \(worker.name) did not finish a batch within --batch-timeout \(limit) s and is out of service; retry"
                for job in running { job.finish(.failure(ServeError(status: 503, message: message, retryAfter: 1))) }
                for job in queued {
                    if let refusal = place(job) { job.finish(.failure(refusal)) }
                }
            }
        }
    }

    /// Runs `images` rows of `input`, `side` each, on the least loaded device.
    func submit(images: Int, side: ImageSide, input: [Float]) async -> Result<BatchRows, ServeError> {
        await withCheckedContinuation { continuation in
            let job = BatchJob(images: images, side: side, input: input, timeout: settings.timeoutSeconds) {
                continuation.resume(returning: $0)
            }
            if let refusal = place(job) { job.finish(.failure(refusal)) }
        }
    }

    /// Enqueues `job`, or says why not.
    private func place(_ job: BatchJob) -> ServeError? {
        lock.withLock {
            let waiting = workers.reduce(0) { $0 + $1.waiting }
            guard waiting + job.images <= settings.maxQueue else {
                metrics.rejected()
                return ServeError(
                    status: 503,
                    message:
                        "the queue is full (\(waiting) images waiting, --max-queue \(settings.maxQueue)); retry after the Retry-After seconds",
                    retryAfter: 1)
            }
            guard let worker = workers.filter(\.isInService).min(by: { $0.load < $1.load }) else {
                return ServeError(
                    status: 503, message: "no device is in service: the watchdog took every one out; see /metrics",
                    retryAfter: 1)
            }
            metrics.queueDepthChanged(by: job.images)
            guard worker.enqueue(job) else {
                metrics.queueDepthChanged(by: -job.images)
                let reason = worker.isInService ? "the server is shutting down" : "its device just left service"
                return ServeError(status: 503, message: "\(reason); retry on another replica", retryAfter: 1)
            }
            return nil
        }
    }
}
