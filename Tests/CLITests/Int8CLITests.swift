import Foundation
import SENetCore
import TestSupport
import XCTest

/// `--precision int8` as a user runs it: calibrate, then infer, compare and plan with the file;
/// and one error line for each request that cannot work.
final class Int8CLITests: XCTestCase {
    private static let model = ["--model", "seresnet18", "--size", "64"]

    private func calibrated(_ folder: URL) throws -> String {
        let path = folder.appendingPathComponent("seresnet18.int8.json").path
        let result = try runCLI(["calibrate", "--device", "cpu", "--out", path, "--batch", "2"] + Self.model)
        XCTAssertEqual(result.status, 0, result.stderr)
        return path
    }

    func testInferCompareAndPlanRunTheInt8Kernels() throws {
        try skipWithoutOpenCL()
        let folder = try temporaryDirectory(self)
        let int8 = ["--device", "0", "--precision", "int8", "--int8-calibration", try calibrated(folder)] + Self.model
        let logits = folder.appendingPathComponent("int8.npy").path
        let infer = try runCLI(["infer", "--save-logits", logits] + int8)
        XCTAssertEqual(infer.status, 0, infer.stderr)
        let fp32 = folder.appendingPathComponent("fp32.npy").path
        XCTAssertEqual(try runCLI(["infer", "--device", "0", "--save-logits", fp32] + Self.model).status, 0)
        let (a, b) = (try NumpyFile.read(path: logits), try NumpyFile.read(path: fp32))
        XCTAssertNotEqual(a.data, b.data, "int8 computes something else than fp32")
        XCTAssertLessThan(Comparison(actual: a, expected: b).relativeError, 0.1, "but close to it")

        let compare = try runCLI(["compare"] + int8)
        XCTAssertEqual(compare.status, 0, compare.stdout + compare.stderr)
        XCTAssertTrue(compare.stdout.contains("(int8) against the CPU reference of the same int8 graph"), compare.stdout)
        XCTAssertTrue(compare.stdout.contains("layer1.0.conv1.q"), "quantize rows are compared too")

        let plan = try runCLI(["plan", "-v"] + int8)
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(plan.stdout.contains("int8 in 21 convolutions and classifiers"), plan.stdout)
        XCTAssertTrue(plan.stdout.contains("int8 convolution algorithms (registered: int8-dot, int8):"), plan.stdout)
        let convLines = plan.stdout.split(separator: "\n").filter { $0.contains(" conv_int8 ") }
        XCTAssertEqual(convLines.count, 21, plan.stdout)
        XCTAssertTrue(convLines.allSatisfy { $0.hasSuffix("int8") || $0.hasSuffix("int8-dot") }, plan.stdout)
    }

    /// `serve --precision int8` answers a tensor with the logits `infer --precision int8` gives.
    func testServeAnswersWithInfersInt8Logits() throws {
        try skipWithoutOpenCL()
        let folder = try temporaryDirectory(self)
        let calibration = try calibrated(folder)
        let input = SyntheticWeights.input(shape: [1, 3, 64, 64], seed: 5)
        let (npy, logits) = (folder.appendingPathComponent("x.npy").path, folder.appendingPathComponent("l.npy").path)
        try NumpyFile.write(input, path: npy)
        let int8 = ["--device", "0", "--model", "seresnet18", "--precision", "int8", "--int8-calibration", calibration]
        let infer = try runCLI(["infer", "--size", "64", "--input", npy, "--save-logits", logits] + int8)
        XCTAssertEqual(infer.status, 0, infer.stderr)
        let server = try ServerProcess(int8 + ["--crop", "64"])
        defer { server.stop() }
        let request: [String: Any] = [
            "inputs": [["name": "input", "datatype": "FP32", "shape": input.shape, "data": input.data]],
            "outputs": [["name": "logits"]],
        ]
        let reply = try server.post(
            "/v2/models/seresnet18/infer", body: try JSONSerialization.data(withJSONObject: request),
            headers: ["Content-Type": "application/json"])
        XCTAssertEqual(reply.status, 200, reply.text)
        let body = try XCTUnwrap(try JSONSerialization.jsonObject(with: reply.body) as? [String: Any])
        let outputs = try XCTUnwrap(body["outputs"] as? [[String: Any]])
        let served = try XCTUnwrap(outputs.first?["data"] as? [NSNumber]).map(\.floatValue)
        XCTAssertEqual(served, try NumpyFile.read(path: logits).data, "bit for bit")
    }

    func testKeptLayersAreListedWithWhy() throws {
        try skipWithoutOpenCL()
        let folder = try temporaryDirectory(self)
        let plan = try runCLI(
            [
                "plan", "--device", "0", "--precision", "int8", "--int8-calibration", try calibrated(folder), "--fp32-layers",
                "layer4*",
            ]
                + Self.model)
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(plan.stdout.contains("kept in fp32 (5, they read fp32 feature maps):"), plan.stdout)
        XCTAssertTrue(plan.stdout.contains("  layer4.0.conv1: named by --fp32-layers"), plan.stdout)
    }

    func testRequestsThatCannotWorkGetOneLine() throws {
        let folder = try temporaryDirectory(self)
        let other = folder.appendingPathComponent("seresnet34.int8.json").path
        XCTAssertEqual(
            try runCLI(["calibrate", "--device", "cpu", "--model", "seresnet34", "--size", "32", "--out", other]).status, 0)
        let garbage = folder.appendingPathComponent("garbage.json").path
        try Data("{\"format\": 1}".utf8).write(to: URL(fileURLWithPath: garbage))
        for (arguments, expected) in [
            (["--precision", "int8"], "--precision int8 needs --int8-calibration FILE"),
            (["--int8-calibration", other], "--int8-calibration belongs to --precision int8"),
            (["--precision", "int8", "--int8-calibration", other], "it calibrates seresnet34, not seresnet18"),
            (["--precision", "int8", "--int8-calibration", garbage], "not a senet-gpu int8 calibration file"),
            (["--precision", "int8", "--int8-calibration", folder.appendingPathComponent("absent.json").path], "cannot be read"),
            (["--precision", "int8", "--int8-calibration", other, "--device", "cpu"], "--precision int8 needs an OpenCL device"),
            (
                ["--precision", "int8", "--int8-calibration", other, "--auto-precision"],
                "--auto-precision keeps layers of an fp16"
            ),
        ] {
            let device = arguments.contains("cpu") ? [] : ["--device", "0"]
            let result = try runCLI(["infer"] + device + Self.model + arguments)
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(expected), "«\(result.stderr)» lacks «\(expected)»")
        }
    }
}
