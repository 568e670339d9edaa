import Foundation
import SENetCore

extension ExecutionPlan {
    /// A profiled run's kernel launches in the Chrome trace-event format (the JSON object
    /// form that Perfetto and chrome://tracing open): one complete event ("ph": "X") per
    /// launch on the device's timeline, microseconds from the first launch's start, with the
    /// layer, op kind, algorithm and tiling, work sizes, FLOPs and bytes in its args; metadata
    /// events name the process and the device's track. Nil when the run has no launches (not
    /// profiled, or on the CPU reference).
    public func chromeTrace(_ output: Output) throws -> Data? {
        guard let first = output.launches.map(\.start).min() else { return nil }
        let choices = Dictionary(uniqueKeysWithValues: convolutionChoices.map { ($0.name, $0) })
        let device = deviceName ?? "device"
        var events: [[String: Any]] = [
            ["name": "process_name", "ph": "M", "pid": 1, "tid": 1, "args": ["name": "senet-gpu \(inputShape)"]],
            ["name": "thread_name", "ph": "M", "pid": 1, "tid": 1, "args": ["name": device]],
        ]
        for launch in output.launches {
            let node = graph.nodes[launch.node]
            let bytes = (node.inputs + [node.output]).reduce(0) { $0 + graph.values[$1].byteCount }
            var args: [String: Any] = [
                "layer": node.name, "op": node.op.kind.rawValue, "global": launch.global,
                "local": launch.local.map { $0 as Any } ?? "driver", "layerFlops": 2 * node.op.macs, "layerBytes": bytes,
            ]
            if let choice = choices[node.name] { args["algorithm"] = choice.summary }
            events.append([
                "name": launch.kernel, "cat": node.op.kind.rawValue, "ph": "X", "pid": 1, "tid": 1,
                "ts": Double(launch.start - first) / 1e3,
                "dur": Double(launch.end >= launch.start ? launch.end - launch.start : 0) / 1e3,
                "args": args,
            ])
        }
        let trace: [String: Any] = [
            "traceEvents": events, "displayTimeUnit": "ms",
            "otherData": ["inputShape": inputShape, "precision": precision.rawValue, "device": device],
        ]
        return try JSONSerialization.data(withJSONObject: trace, options: [.sortedKeys])
    }
}
