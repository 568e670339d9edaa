import Foundation
import ONNXProto
import SENetCore
import TestSupport
import XCTest

/// ONNX files through the command line: `infer --device 0` and `--device cpu` against ONNX
/// Runtime, `plan` and `compare` with the file's node names, and the errors a user meets.
final class ONNXCLITests: XCTestCase {
    func testInferRunsEveryExportOnDeviceZeroAndOnTheCPU() throws {
        try skipWithoutOpenCL()
        let folder = try temporaryDirectory(self)
        for fixture in try ONNXFixture.all() {
            let model = try fixture.install(in: folder)
            let input = folder.appendingPathComponent("\(fixture.name)-input.npy").path
            try NumpyFile.write(fixture.input, path: input)
            for device in ["0", "cpu"] {
                let output = folder.appendingPathComponent("\(fixture.name)-\(device).npy").path
                let save = fixture.outputsProbabilities ? "--save-probabilities" : "--save-logits"
                let result = try runCLI(["infer", "--device", device, "--weights", model, "--input", input, save, output])
                XCTAssertEqual(result.status, 0, "\(fixture.name) on \(device): \(result.stderr)")
                XCTAssertTrue(result.stdout.contains("-shaped graph (ONNX, pytorch"), result.stdout)
                XCTAssertEqual(result.stdout.contains("output: probabilities"), fixture.outputsProbabilities, result.stdout)
                assertClose(
                    try NumpyFile.read(path: output), fixture.expectedOutput, tolerance: 1e-4, "\(fixture.name) on \(device)")
            }
        }
    }

    func testPlanAndCompareNameLayersAfterTheFile() throws {
        try skipWithoutOpenCL()
        let model = try ONNXFixture.load("seresnext26d_ts17_b2_64x96").install(in: try temporaryDirectory(self))
        let plan = try runCLI(["plan", "--device", "0", "--weights", model, "--size", "64x96"])
        XCTAssertEqual(plan.status, 0, plan.stderr)
        for name in [
            "/conv1/conv1.0/Conv", "/layer2/layer2.0/downsample/downsample.0/AveragePool", "/layer4/layer4.1/se/fc2/Conv",
        ] {
            XCTAssertTrue(plan.stdout.contains(name), "\(name) in plan:\n\(plan.stdout)")
        }
        let base = ["compare", "--device", "0", "--weights", model, "--size", "64x96", "--batch", "2"]
        let clean = try runCLI(base)
        XCTAssertEqual(clean.status, 0, clean.stderr)
        XCTAssertTrue(clean.stdout.contains("/layer1/layer1.0/conv2/Conv") && clean.stdout.contains("PASS"), clean.stdout)
        let broken = try runCLI(base + ["--debug-perturb", "/layer3/layer3.0/conv2/Conv"])
        XCTAssertEqual(broken.status, 1)
        XCTAssertTrue(broken.stdout.contains("first layer over tolerance: /layer3/layer3.0/conv2/Conv (conv)"), broken.stdout)
    }

    /// The classic class's fixed AvgPool2d(56) squeeze is a global pool at 224×224 only: another
    /// size is one error line naming the node, with the way out, and no output file.
    func testFixedPoolExportRefusesOtherSizesNamingTheNode() throws {
        let folder = try temporaryDirectory(self)
        let model = try ONNXFixture.load("classic_senet34_fixedpool_ts17_b2_224").install(in: folder)
        let output = folder.appendingPathComponent("out.npy").path
        let result = try runCLI(["infer", "--device", "cpu", "--weights", model, "--size", "160", "--save-logits", output])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(
            result.stderr.contains("AveragePool' is an AveragePool with a fixed 56×56 window")
                && result.stderr.contains("gives it 40×40; give --size the image size the model was exported at"),
            result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }

    func testBadONNXFilesAreOneErrorLine() throws {
        let folder = try temporaryDirectory(self)
        let model = try ONNXFixture.load("timm_seresnet18_ts13").install(in: folder)
        var proto = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: model)))
        proto.graph.node[1].opType = "HardSwish"
        let unknownOp = folder.appendingPathComponent("unknown-op.onnx")
        try proto.serializedData().write(to: unknownOp)
        let truncated = folder.appendingPathComponent("truncated.onnx")
        try Data(contentsOf: URL(fileURLWithPath: model)).prefix(3000).write(to: truncated)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("timm_seresnet18_ts13.weights"))
        for (path, fragment) in [
            (unknownOp.path, "node '/act1/Relu' has op type HardSwish, which senet-gpu does not run; supported ops: Add, "),
            (truncated.path, "ONNX model \(truncated.path): "),
            (model, "cannot read external data file"),
        ] {
            let output = folder.appendingPathComponent("out.npy").path
            let result = try runCLI(["infer", "--device", "cpu", "--weights", path, "--save-logits", output])
            XCTAssertEqual(result.status, 1, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix("senet-gpu: error: ") && result.stderr.contains(fragment), result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        }
    }
}
