import CoreTestSupport
import Foundation
import SENetCore
import TestSupport
import XCTest

/// `--auto-precision`, `--fp32-layers` and `--save-precision` as a user runs them, on the
/// fixture built to overflow half in one layer.
final class MixedPrecisionCLITests: XCTestCase {
    private func overflowWeights() throws -> String {
        let path = try temporaryDirectory(self).appendingPathComponent("overflow.safetensors").path
        try OverflowFixture.write(to: path)
        return path
    }

    private func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }

    /// compare in plain fp16 fails; with --auto-precision it passes, prints and saves the choice,
    /// and infer with --fp32-layers FILE runs the saved choice within the fp16 bound.
    func testAutoPrecisionPassesWherePlainHalfFailsAndItsChoiceIsReused() throws {
        try skipWithoutOpenCL()
        let weights = try overflowWeights()
        let small = ["--weights", weights, "--size", "64", "--batch", "2", "--device", "0", "--precision", "fp16"]
        let plain = try runCLI(["compare", "--json"] + small)
        XCTAssertEqual(plain.status, 1, plain.stderr)
        let failed = try json(plain.stdout)
        XCTAssertEqual(failed["passed"] as? Bool, false)
        // Overflow makes a layer's error infinite, which JSON spells as a string.
        let errors = (failed["layers"] as! [[String: Any]]).map { $0["relativeError"] }
        XCTAssertTrue(errors.contains { $0 as? String == "inf" }, "\(errors)")

        let choice = try temporaryDirectory(self).appendingPathComponent("choice.json").path
        let auto = try runCLI(["compare", "--json", "--auto-precision", "--save-precision", choice] + small)
        XCTAssertEqual(auto.status, 0, auto.stderr)
        let summary = try json(auto.stdout)
        XCTAssertEqual(summary["passed"] as? Bool, true)
        let kept = (summary["fp32Layers"] as! [[String: Any]]).map { $0["name"] as! String }
        XCTAssertEqual(kept, [OverflowFixture.overflowing, OverflowFixture.reader])
        XCTAssertTrue(auto.stderr.contains("plain fp16 logits relative error"), auto.stderr)
        XCTAssertTrue(auto.stderr.contains("fp32 \(OverflowFixture.overflowing): its output reaches"), auto.stderr)
        let saved = try json(String(contentsOfFile: choice, encoding: .utf8))
        XCTAssertEqual((saved["fp32Layers"] as! [[String: Any]]).map { $0["name"] as! String }, kept)
        XCTAssertGreaterThan(saved["plainFP16LogitsRelativeError"] as! Double, 2e-2)

        // The saved choice, in infer and plan, against the CPU reference.
        let directory = try temporaryDirectory(self)
        let reference = directory.appendingPathComponent("reference.npy").path
        let mixed = directory.appendingPathComponent("mixed.npy").path
        let cpu = try runCLI([
            "infer", "--weights", weights, "--size", "64", "--batch", "2", "--device", "cpu", "--save-logits", reference,
        ])
        XCTAssertEqual(cpu.status, 0, cpu.stderr)
        let run = try runCLI(["infer", "--fp32-layers", choice, "--save-logits", mixed] + small)
        XCTAssertEqual(run.status, 0, run.stderr)
        let error = Comparison(actual: try NumpyFile.read(path: mixed), expected: try NumpyFile.read(path: reference))
        XCTAssertTrue(error.passes(tolerance: 2e-2), "\(error)")
        let plan = try runCLI(["plan", "--fp32-layers", choice] + small)
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(plan.stdout.contains("kept in fp32 (2"), plan.stdout)
        for cast in ["stem.pool.to_fp32", "layer1.0.conv2.to_fp16"] { XCTAssertTrue(plan.stdout.contains(cast), plan.stdout) }
    }

    /// Each misuse is one error line with a hint and a non-zero exit.
    func testMisuseIsOneErrorLine() throws {
        try skipWithoutOpenCL()
        let small = ["--model", "seresnet18", "--size", "64", "--device", "0"]
        let cases: [([String], String)] = [
            (["--auto-precision"], "add --precision fp16"),
            (["--fp32-layers", "layer1*"], "add --precision fp16"),
            (["--precision", "fp16", "--save-precision", "x.json"], "belong to --auto-precision"),
            (["--precision", "fp16", "--fp32-layers", "layer9*"], "matches no layer"),
            (["--precision", "fp16", "--fp32-layers", "missing.json"], "is not a precision choice"),
        ]
        for (arguments, hint) in cases {
            let result = try runCLI(["plan"] + small + arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(hint), "\(arguments): \(result.stderr)")
        }
    }
}
