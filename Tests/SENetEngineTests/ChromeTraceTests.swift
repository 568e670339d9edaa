import Foundation
import SENetCore
import TestSupport
import XCTest

@testable import SENetEngine

/// `ExecutionPlan.chromeTrace` against the Chrome trace-event format's rules for the events
/// it writes (JSON object form; "M" metadata and "X" complete events with name, ph, ts, dur,
/// pid, tid, args), and against the plan: one event per kernel launch, in launch order, none
/// overlapping on the in-order queue, every device op present with its layer and sizes.
final class ChromeTraceTests: XCTestCase {
    private func profiledRun(_ family: KernelFamily) throws -> (ExecutionPlan, ExecutionPlan.Output) {
        let device = try testDevices()[0]
        let runtime = try DeviceRuntime(device: device, sources: KernelSources(), cacheDirectory: nil, profiling: true)
        var options = PlanOptions(profile: true)
        options.kernelFamily = family
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 3)
        let plan = try InferenceEngine(model: model, runtime: runtime, options: options).plan(for: [2, 3, 40, 48])
        return (plan, try plan.run(Tensor.random(shape: [2, 3, 40, 48], seed: 4)))
    }

    func testTraceHoldsOneEventPerLaunchInTheFormatPerfettoReads() throws {
        for family in [KernelFamily.cpu, .gpu] {
            let (plan, output) = try profiledRun(family)
            let data = try XCTUnwrap(try plan.chromeTrace(output))
            let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let events = try XCTUnwrap(root["traceEvents"] as? [[String: Any]])
            XCTAssertEqual(root["displayTimeUnit"] as? String, "ms")
            let complete = events.filter { $0["ph"] as? String == "X" }
            XCTAssertEqual(events.count - complete.count, 2, "process and thread names")
            for event in events {
                XCTAssertTrue(["X", "M"].contains(event["ph"] as? String), "\(event)")
                XCTAssertFalse((event["name"] as? String ?? "").isEmpty, "\(event)")
                XCTAssertNotNil(event["pid"] as? Int)
                XCTAssertNotNil(event["tid"] as? Int)
                XCTAssertNotNil(event["args"] as? [String: Any])
            }
            let launches = plan.steps.reduce(0) { count, step in
                guard case .device(let index) = step else { return count }
                return count + plan.deviceOps[index]!.launches.count
            }
            XCTAssertEqual(complete.count, launches, "\(family): one event per kernel launch")
            var end = 0.0
            var layers = Set<String>()
            for event in complete {
                let ts = try XCTUnwrap(event["ts"] as? Double)
                let dur = try XCTUnwrap(event["dur"] as? Double)
                XCTAssertGreaterThanOrEqual(dur, 0)
                // In-order queue: each launch starts after the one before ends (1 µs of clock slack).
                XCTAssertGreaterThanOrEqual(ts, end - 1, "\(family): \(event)")
                end = ts + dur
                let args = try XCTUnwrap(event["args"] as? [String: Any])
                let layer = try XCTUnwrap(args["layer"] as? String)
                layers.insert(layer)
                let node = try XCTUnwrap(plan.graph.node(named: layer))
                XCTAssertEqual(args["op"] as? String, node.op.kind.rawValue)
                XCTAssertEqual(event["cat"] as? String, node.op.kind.rawValue)
                XCTAssertEqual(args["layerFlops"] as? Int, 2 * node.op.macs)
                XCTAssertGreaterThan(args["layerBytes"] as? Int ?? 0, 0)
                XCTAssertFalse((args["global"] as? [Int] ?? []).isEmpty)
                if node.op.kind == Conv2d.kind { XCTAssertNotNil(args["algorithm"] as? String, layer) }
            }
            XCTAssertEqual(complete.first?["ts"] as? Double, 0)
            let deviceLayers = Set(plan.placements.filter(\.onDevice).map(\.name))
            XCTAssertEqual(layers, deviceLayers, "\(family): every device op is in the trace")
        }
    }

    func testUnprofiledRunHasNoTrace() throws {
        let runtime = try openTestDevice()
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 3)
        let plan = try InferenceEngine(model: model, runtime: runtime).plan(for: [1, 3, 32, 32])
        XCTAssertNil(try plan.chromeTrace(try plan.run(Tensor.random(shape: [1, 3, 32, 32], seed: 4))))
    }
}
