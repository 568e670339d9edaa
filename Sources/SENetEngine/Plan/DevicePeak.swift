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
    /// Float lanes per FMA in the measuring kernel (the native vector width).
    public let vectorWidth: Int

    static let chains = 8
    static let (a, b): (Float, Float) = (0.999, 0.001)

    /// Measures the device; `iterations` FMAs per chain and work-item (default: enough for tens
    /// of milliseconds, so launch overhead does not count).
    public static func measure(runtime: DeviceRuntime, iterations: Int? = nil, repeats: Int = 5) throws -> DevicePeak {
        let device = runtime.device
        let iterations = iterations ?? (device.type == .cpu ? 65_536 : 4096)
        let width = [16, 8, 4, 2, 1].first { $0 <= device.nativeFloatVectorWidth } ?? 1
        // Enough work-items to fill every unit several times (GPUs need thousands).
        let items = runtime.roundedUp(device.computeUnits * (device.type == .cpu ? 16 : 4096))
        let (op, _) = try launch(runtime: runtime, width: width, items: items, iterations: iterations)
        try op.enqueue(on: runtime.queue, profile: false)
        try runtime.queue.finish()
        let seconds = try Benchmark.medianSeconds(repeats: repeats) {
            try op.enqueue(on: runtime.queue, profile: false)
            try runtime.queue.finish()
        }
        let flops = 2 * Double(width * chains * iterations) * Double(items)
        let nominal = nominalGflops(
            clockMHz: device.clockMHz, computeUnits: device.computeUnits, vectorWidth: device.nativeFloatVectorWidth)
        return DevicePeak(nominalGflops: nominal, measuredGflops: flops / seconds / 1e9, vectorWidth: width)
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
