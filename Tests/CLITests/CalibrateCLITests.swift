import Foundation
import SENetCore
import SENetEngine
import TestSupport
import XCTest

/// `senet-gpu calibrate`: the file it writes fits the model, the device measures what the CPU
/// reference does, and bad requests get one line and no file.
final class CalibrateCLITests: XCTestCase {
    private static let small = ["--model", "seresnet18", "--size", "64", "--batch", "3", "--calibration-batch", "2"]

    private func calibrate(_ device: String, _ out: String) throws -> Int8Calibration {
        let result = try runCLI(["calibrate", "--device", device, "--out", out] + Self.small)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("seresnet18: 21 int8 ops,"), result.stdout)
        XCTAssertTrue(result.stdout.contains("calibrated on 3 images"), result.stdout)
        XCTAssertTrue(result.stdout.contains("fp32 layer1.0.se.fc1 linear: squeeze-excite FC"), result.stdout)
        return try Int8Calibration.decode(try Data(contentsOf: URL(fileURLWithPath: out)), path: out)
    }

    func testTheFileFitsTheModelAndTheDeviceMeasuresWhatTheReferenceDoes() throws {
        let folder = try temporaryDirectory(self)
        let reference = try calibrate("cpu", folder.appendingPathComponent("cpu.json").path)
        let graph = try NetworkGraph(
            model: try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 1), inputShape: [3, 3, 64, 64])
        XCTAssertNoThrow(try reference.validate(model: "seresnet18", ops: Int8Calibrator.expectedOps(graph), path: "cpu.json"))
        XCTAssertEqual(reference.calibration.inputShape, [3, 3, 64, 64])
        try skipWithoutOpenCL()
        let device = try calibrate("0", folder.appendingPathComponent("device.json").path)
        XCTAssertEqual(device.ops.map(\.name), reference.ops.map(\.name))
        for (got, want) in zip(device.ops, reference.ops) where want.precision == .int8 {
            XCTAssertEqual(got.weightScales, want.weightScales, got.name)
            // Feature maps agree to 1e-4; a percentile may move to the next bin (2.2 %).
            let (a, b) = (try XCTUnwrap(got.inputScale), try XCTUnwrap(want.inputScale))
            XCTAssertEqual(a, b, accuracy: 0.023 * b, got.name)
        }
    }

    func testBadRequestsGetOneLineAndNoFile() throws {
        let folder = try temporaryDirectory(self)
        let out = folder.appendingPathComponent("c.json").path
        let missing = folder.appendingPathComponent("no/such/folder/c.json").path
        for (arguments, expected) in [
            (["--out", out, "--precision", "fp16"], "calibrate measures fp32 feature maps; drop --precision fp16"),
            (["--out", out, "--calibration-batch", "0"], "--calibration-batch 0 is not between 1 and 256"),
            (["--out", missing], "does not exist or is not writable"),
            (["--out", out, "--input", folder.appendingPathComponent("absent.npy").path], "cannot read"),
        ] {
            let result = try runCLI(["calibrate", "--device", "cpu", "--model", "seresnet18", "--size", "32"] + arguments)
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix("senet-gpu: error: "), result.stderr)
            XCTAssertTrue(result.stderr.contains(expected), "«\(result.stderr)» lacks «\(expected)»")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no partial file")
        }
    }
}
