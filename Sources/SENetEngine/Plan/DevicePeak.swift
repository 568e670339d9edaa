import Foundation
import OpenCLKit

/// The device's floating-point ceiling, two ways (GUIDE §7): from its reported clock, compute
/// units and native vector width, and measured by `fma_peak` (chains of FMAs, no memory).
public struct DevicePeak: Sendable {
    /// clock × compute units × native float vector width × 2 FLOPs per FMA; nil when the driver
    /// reports no clock (Intel's CPU runtime says 0 MHz).
    public let nominalGflops: Double?
    /// The rate `fma_peak` reaches (median of a few runs).
    public let measuredGflops: Double
    /// Float lanes per FMA of the fastest timed width.
    public let vectorWidth: Int
    /// What each timed width reached; `measuredGflops` is the best of them.
    public let gflopsByWidth: [Int: Double]

    static let chains = 8
    static let (a, b): (Float, Float) = (0.999, 0.001)

    /// Measures the device; `iterations` FMAs per chain and work-item (default: enough for tens
    /// of milliseconds, so launch overhead does not count).
    public static func measure(runtime: DeviceRuntime, iterations: Int? = nil, repeats: Int = 5) throws -> DevicePeak {
        let device = runtime.device
        let iterations = iterations ?? (device.type == .cpu ? 65_536 : 4096)
        // Enough work-items to fill every unit several times (GPUs need thousands).
        let items = runtime.roundedUp(device.computeUnits * (device.type == .cpu ? 16 : 4096))
        var rates: [Int: Double] = [:]
        for width in timedWidths(native: device.nativeFloatVectorWidth) {
            let perChain = max(1, iterations * 8 / width)  // The same FLOPs at every width.
            let (op, _) = try launch(runtime: runtime, width: width, items: items, iterations: perChain)
            try op.enqueue(on: runtime.queue, profile: false)
            try runtime.queue.finish()
            let seconds = try Benchmark.medianSeconds(repeats: repeats) {
                try op.enqueue(on: runtime.queue, profile: false)
                try runtime.queue.finish()
            }
            rates[width] = 2 * Double(width * chains * perChain) * Double(items) / seconds / 1e9
        }
        let best = rates.max { ($0.value, $1.key) < ($1.value, $0.key) }!
        let nominal = nominalGflops(
            clockMHz: device.clockMHz, computeUnits: device.computeUnits, vectorWidth: device.nativeFloatVectorWidth)
        return DevicePeak(nominalGflops: nominal, measuredGflops: best.value, vectorWidth: best.key, gflopsByWidth: rates)
    }

    /// The vector widths `measure` times: the driver's native width is a hint, not the
    /// hardware's (Intel's CPU runtime reports 4 on AVX2 hosts, where 8-wide chains reach twice
    /// the rate), so 4, 8 and 16 are timed beside it. `fma_peak` needs at least 2 lanes.
    static func timedWidths(native: Int) -> [Int] {
        Set([4, 8, 16, [16, 8, 4, 2].first { $0 <= native } ?? 2]).sorted()
    }

    /// clock × compute units × float lanes × 2 FLOPs per FMA, in GFLOP/s; nil without a clock.
    static func nominalGflops(clockMHz: Int, computeUnits: Int, vectorWidth: Int) -> Double? {
        guard clockMHz > 0 else { return nil }
        return Double(clockMHz) * 1e6 * Double(computeUnits) * Double(vectorWidth) * 2 / 1e9
    }

    /// The bound `fma_peak` launch and its output buffer (one float per work-item); `items` is
    /// a multiple of `runtime.independentWorkGroupSize`.
    static func launch(runtime: DeviceRuntime, width: Int, items: Int, iterations: Int) throws -> (DeviceOp, CLBuffer) {
        precondition(items % runtime.independentWorkGroupSize == 0, "whole work-groups only")
        let kernel = try runtime.kernel("fma_peak", file: "peak.cl", defines: ["VW": width])
        let out = try runtime.buffer(floats: items)
        let launch = try KernelLaunch(
            kernel, [.buffer(out), .int(iterations), .float(a), .float(b)], global: [items],
            local: [runtime.independentWorkGroupSize])
        return (DeviceOp([launch]), out)
    }

    /// What work-item `id` of `fma_peak` stores, computed on the host with fused multiply-adds.
    static func expected(id: Int, width: Int, iterations: Int) -> Float {
        let start = Float(id % 1024) * 1e-3
        var sum: Float = 0
        for chain in 0..<chains {
            var x = start + Float(chain)
            for _ in 0..<iterations { x = b.addingProduct(x, a) }
            for _ in 0..<width { sum += x }
        }
        return sum
    }
}
