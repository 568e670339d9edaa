import Foundation
import SENetCore
import TestSupport
import XCTest

/// `--precision fp16` and `--arithmetic` as a user runs them: infer, compare, plan and bench in
/// half, against the fp32 CPU reference, and each wrong combination as one error line.
final class PrecisionCLITests: XCTestCase {
    private let small = ["--model", "seresnet18", "--size", "64", "--batch", "2"]

    private func logits(_ arguments: [String]) throws -> Tensor {
        let path = try temporaryDirectory(self).appendingPathComponent("logits.npy").path
        let result = try runCLI(["infer"] + small + arguments + ["--save-logits", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        return try NumpyFile.read(path: path)
    }

    // MARK: - Working runs

    func testInferInHalfAgreesWithTheReference() throws {
        try skipWithoutOpenCL()
        let reference = try logits(["--device", "cpu"])
        let half = try logits(["--device", "0", "--precision", "fp16"])
        let error = Comparison(actual: half, expected: reference).relativeError
        XCTAssertLessThanOrEqual(error, 2e-2)
        XCTAssertGreaterThan(error, 0, "fp16 rounds somewhere: identical logits mean fp16 was not used")
        for row in 0..<2 { XCTAssertEqual(half.argmax(row: row), reference.argmax(row: row)) }
    }

    func testCompareInHalfUsesTheHalfToleranceAndReportsTopOne() throws {
        try skipWithoutOpenCL()
        let result = try runCLI(["compare", "--device", "0", "--precision", "fp16", "--json"] + small)
        XCTAssertEqual(result.status, 0, result.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(summary["precision"] as? String, "fp16")
        XCTAssertEqual((summary["tolerance"] as? Double).map { Float($0) }, 2e-2)
        XCTAssertEqual(summary["top1Agreement"] as? Int, 2)
        let error = summary["logitsRelativeError"] as! Double
        XCTAssertTrue(error > 0 && error <= 2e-2, "\(error)")
        // The same run held to the fp32 tolerance fails, naming a layer: half is visible per layer.
        let strict = try runCLI(["compare", "--device", "0", "--precision", "fp16", "--tolerance", "1e-6"] + small)
        XCTAssertEqual(strict.status, 1)
        XCTAssertTrue(strict.stdout.contains("first layer over tolerance: stem"), strict.stdout)
    }

    func testPlanAndBenchShowHalfTheMemory() throws {
        try skipWithoutOpenCL()
        func bench(_ precision: String, _ extra: [String] = []) throws -> [String: Any] {
            let result = try runCLI(
                ["bench", "--device", "0", "--precision", precision, "--json", "--iterations", "1", "--warmup", "0"]
                    + ["--no-startup", "--no-ceiling", "--model", "seresnet50", "--size", "64"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        }
        // Against fp32 with the same kernels: fp32 plans run 3×3s as Winograd, whose transformed
        // weights and fp32 scratch fp16 plans do not have.
        let (half, full) = (try bench("fp16"), try bench("fp32", ["--no-winograd"]))
        XCTAssertEqual(half["precision"] as? String, "fp16")
        let ratio = (half["weightBytes"] as! Double) / (full["weightBytes"] as! Double)
        XCTAssertEqual(ratio, 0.5, accuracy: 0.01)
        XCTAssertLessThan(half["peakActivationBytes"] as! Double, 0.55 * (full["peakActivationBytes"] as! Double))
        let plan = try runCLI(["plan", "--device", "0", "--precision", "fp16", "--model", "seresnet50"])
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(plan.stdout.contains("fp16 storage"), plan.stdout)
        XCTAssertTrue(plan.stdout.contains("weights 53.6 MiB"), plan.stdout)
    }

    // MARK: - Errors

    private func assertOneLineError(_ arguments: [String], _ fragment: String, file: StaticString = #filePath, line: UInt = #line)
        throws
    {
        let output = try temporaryDirectory(self).appendingPathComponent("logits.npy").path
        let result = try runCLI(arguments + ["--save-logits", output])
        XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(fragment), "«\(result.stderr)» lacks «\(fragment)»", file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "no partial output", file: file, line: line)
    }

    func testPrecisionErrors() throws {
        // Flag errors come before any device is opened (bad values: ErrorCLITests, in the parser).
        try assertOneLineError(["infer", "--arithmetic", "fp16"] + small, "--arithmetic fp16 needs --precision fp16")
        try assertOneLineError(
            ["infer", "--device", "cpu", "--precision", "fp16"] + small, "the CPU reference computes in fp32 only")
        try skipWithoutOpenCL()
        let devices =
            try JSONSerialization.jsonObject(with: Data(try runCLI(["devices", "--json"]).stdout.utf8)) as! [[String: Any]]
        for (index, device) in devices.enumerated() where device["fp16"] as? Bool == false {
            try assertOneLineError(
                ["infer", "--device", "\(index)", "--precision", "fp16", "--arithmetic", "fp16"] + small,
                "has no fp16 arithmetic (no cl_khr_fp16")
            let caches = ["SENET_GPU_CACHE": "", "XDG_CACHE_HOME": try temporaryDirectory(self).path]
            let tune = try runCLI(
                ["tune", "--device", "\(index)", "--precision", "fp16", "--arithmetic", "fp16"] + small, environment: caches)
            XCTAssertEqual(tune.status, 1)
            XCTAssertTrue(tune.stderr.contains("has no fp16 arithmetic"), tune.stderr)
        }
    }

    func testFallbackToTheCPUFromHalfRunsTheFP32Reference() throws {
        try skipWithoutOpenCL()
        let fallback = try logits(["--device", "0", "--precision", "fp16", "--memory-limit", "1", "--fallback", "cpu"])
        let reference = try logits(["--device", "cpu"])
        XCTAssertEqual(fallback.data, reference.data)
    }

    func testOutOfHalfRangeWeightsNameTheTensor() throws {
        try skipWithoutOpenCL()
        let fixture = try ModelFixture.load("timm18_224")
        var parameters = SyntheticWeights.parameters(for: fixture.architecture, seed: fixture.weightSeed)
        parameters["fc.weight"]!.data[3] = -1e5
        let floats = fixture.stateDict.filter { $0.dtype != "I64" }.map { (name: $0.key, tensor: parameters[$0.key]!) }
        let path = try temporaryDirectory(self).appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write(floats, metadata: ["family": "timm"], to: path)
        try assertOneLineError(
            ["infer", "--device", "0", "--precision", "fp16", "--weights", path, "--size", "64"],
            "tensor fc.weight has 1 values outside the fp16 range (largest magnitude 100000.0, fp16 stops at 65504); run this model with --precision fp32, or add --auto-precision to keep that layer in fp32"
        )
        // As the hint says: --auto-precision keeps the classifier's weights in fp32 and runs.
        let auto = try runCLI(
            ["plan", "--device", "0", "--precision", "fp16", "--auto-precision", "--weights", path, "--size", "64"])
        XCTAssertEqual(auto.status, 0, auto.stderr)
        XCTAssertTrue(auto.stdout.contains("classifier: its weights reach 1e+05, past half's largest 65504"), auto.stdout)
    }

    func testOverflowingFeatureMapsInHalfAreWarnedAbout() throws {
        try skipWithoutOpenCL()
        let fixture = try ModelFixture.load("timm18_224")
        var parameters = SyntheticWeights.parameters(for: fixture.architecture, seed: fixture.weightSeed)
        // Biases stay fp32, so the file loads in fp16; layer4's last output (1e6) does not fit half, and no ReLU hides the NaN that follows.
        parameters["layer4.1.bn2.bias"] = Tensor(shape: [512], repeating: 1e6)
        let floats = fixture.stateDict.filter { $0.dtype != "I64" }.map { (name: $0.key, tensor: parameters[$0.key]!) }
        let path = try temporaryDirectory(self).appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write(floats, metadata: ["family": "timm"], to: path)
        let half = try runCLI(["infer", "--device", "0", "--precision", "fp16", "--weights", path, "--size", "64"])
        XCTAssertEqual(half.status, 0, half.stderr)
        XCTAssertTrue(
            half.stderr.contains("logits are not finite; a feature map probably overflowed fp16"), half.stderr + half.stdout)
        let full = try runCLI(["infer", "--device", "0", "--weights", path, "--size", "64"])
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertFalse(full.stderr.contains("not finite"), full.stderr)
    }
}
