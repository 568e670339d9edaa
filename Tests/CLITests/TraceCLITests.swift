import Foundation
import TestSupport
import XCTest

/// `bench --trace` and `infer --trace` write a Chrome trace-event file of the profiled run;
/// on the CPU reference `--trace` is one error line and writes nothing.
final class TraceCLITests: XCTestCase {
    func testBenchAndInferWriteATraceOfTheirKernelLaunches() throws {
        try skipWithoutOpenCL()
        let folder = try temporaryDirectory(self)
        let model = ["--model", "seresnet18", "--size", "48"]
        for (name, arguments) in [
            ("bench", ["bench", "--device", "0", "--no-startup", "--no-ceiling", "--iterations", "1", "--warmup", "0"]),
            ("infer", ["infer", "--device", "0"]),
        ] {
            let path = folder.appendingPathComponent("\(name).json").path
            let result = try runCLI(arguments + model + ["--trace", path])
            XCTAssertEqual(result.status, 0, result.stderr)
            let root = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
            let events = root?["traceEvents"] as? [[String: Any]] ?? []
            let layers = Set(events.compactMap { ($0["args"] as? [String: Any])?["layer"] as? String })
            XCTAssertTrue(layers.isSuperset(of: ["stem.conv", "layer4.1.conv2", "classifier"]), "\(name): \(layers.sorted())")
        }
    }

    func testTraceOnTheCPUReferenceIsAnErrorAndNoFile() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("cpu.json").path
        let result = try runCLI(["infer", "--device", "cpu", "--model", "seresnet18", "--size", "48", "--trace", path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("--trace records OpenCL kernel launches"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}
