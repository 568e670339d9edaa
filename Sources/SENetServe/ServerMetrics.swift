import Foundation
import Metrics
import Prometheus

/// The server's Prometheus metrics, made through swift-metrics' API with a factory of our own
/// (no process-wide bootstrap, so two servers in one process keep separate numbers).
final class ServerMetrics: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let queueDepth: Metrics.Gauge
    private let batchSizes: Metrics.Recorder
    private let latency: Metrics.Timer
    private let timeouts: Metrics.Counter
    private let rejections: Metrics.Counter
    private var requestCounters: [String: Metrics.Counter] = [:]
    private var deviceCounters:
        [String: (busy: Metrics.FloatingPointCounter, images: Metrics.Counter, batches: Metrics.Counter)] = [:]
    private var deviceHealth:
        [String: (inService: Metrics.Gauge, timeouts: Metrics.Counter, plans: Metrics.Gauge, dropped: Metrics.Counter)] =
            [:]
    private var plansDropped: [String: Int] = [:]
    private let lock = NSLock()
    private var depth = 0
    /// Triton's statistics extension, beside the Prometheus numbers.
    let statistics = ModelStatistics()

    init(devices: [String], maxBatch: Int) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["senet_request_duration_seconds"] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(50),
            .milliseconds(100), .milliseconds(200), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        factory.valueHistogramBuckets["senet_batch_size"] =
            (0..<8).map { Double(1 << $0) }.filter { $0 < Double(maxBatch) } + [
                Double(maxBatch)
            ]
        self.factory = factory
        queueDepth = Metrics.Gauge(label: "senet_queue_depth", factory: factory)
        batchSizes = Metrics.Recorder(label: "senet_batch_size", aggregate: true, factory: factory)
        latency = Metrics.Timer(label: "senet_request_duration_seconds", factory: factory)
        timeouts = Metrics.Counter(label: "senet_queue_timeouts_total", factory: factory)
        rejections = Metrics.Counter(label: "senet_queue_full_total", factory: factory)
        for device in devices {
            deviceCounters[device] = (
                Metrics.FloatingPointCounter(
                    label: "senet_device_busy_seconds_total", dimensions: [("device", device)], factory: factory),
                Metrics.Counter(label: "senet_device_images_total", dimensions: [("device", device)], factory: factory),
                Metrics.Counter(label: "senet_device_batches_total", dimensions: [("device", device)], factory: factory)
            )
        }
        for device in devices {
            deviceHealth[device] = (
                Metrics.Gauge(label: "senet_device_in_service", dimensions: [("device", device)], factory: factory),
                Metrics.Counter(label: "senet_device_batch_timeouts_total", dimensions: [("device", device)], factory: factory),
                Metrics.Gauge(label: "senet_device_plans", dimensions: [("device", device)], factory: factory),
                Metrics.Counter(label: "senet_device_plans_dropped_total", dimensions: [("device", device)], factory: factory)
            )
            deviceHealth[device]?.inService.record(1)
        }
        queueDepth.record(0)
    }

    /// The watchdog took `device` out: a batch ran past --batch-timeout.
    func deviceTakenOut(_ device: String) {
        deviceHealth[device]?.timeouts.increment()
        deviceHealth[device]?.inService.record(0)
    }

    /// `device`'s plans kept and dropped so far (`--dynamic-size` bounds them by --max-plans).
    func plans(device: String, kept: Int, dropped: Int) {
        guard let health = deviceHealth[device] else { return }
        let newlyDropped = lock.withLock {
            defer { plansDropped[device] = max(dropped, plansDropped[device] ?? 0) }
            return dropped - (plansDropped[device] ?? 0)
        }
        health.plans.record(kept)
        if newlyDropped > 0 { health.dropped.increment(by: newlyDropped) }
    }

    /// One answered request of any route: by route and status, and its latency.
    func request(route: String, status: Int, seconds: Double) {
        let key = "\(route) \(status)"
        let counter = lock.withLock {
            if let counter = requestCounters[key] { return counter }
            let counter = Metrics.Counter(
                label: "senet_requests_total", dimensions: [("route", route), ("status", "\(status)")], factory: factory)
            requestCounters[key] = counter
            return counter
        }
        counter.increment()
        if route == "infer" { latency.recordNanoseconds(Int64(seconds * 1e9)) }
    }

    func queueDepthChanged(by images: Int) {
        // Recorded under the lock: two threads' updates must reach the gauge in order.
        lock.withLock {
            depth += images
            queueDepth.record(depth)
        }
    }

    func batchRan(device: String, images: Int, seconds: Double, succeeded: Bool) {
        guard let counters = deviceCounters[device] else { return }
        counters.busy.increment(by: seconds)
        guard succeeded else { return }
        batchSizes.record(images)
        counters.images.increment(by: images)
        counters.batches.increment()
    }

    func timedOut() { timeouts.increment() }
    func rejected() { rejections.increment() }

    /// The text exposition format for `GET /metrics`.
    func exposition() -> [UInt8] { registry.emitToBuffer() }
}
