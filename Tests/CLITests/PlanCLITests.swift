import Foundation
import SENetEngine
import TestSupport
import XCTest

/// `plan -v` and `plan --json` say what every convolution runs, and `plan` lists substitutions.
final class PlanCLITests: XCTestCase {
    func testVerboseAndJSONNameTheAlgorithmAndTilingOfEveryConvolution() throws {
        try skipWithoutOpenCL()
        let arguments = ["plan", "--device", "0", "--model", "seresnet18", "--size", "32"]
        let json = try runCLI(arguments + ["--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let ops = try XCTUnwrap(report["ops"] as? [[String: Any]])
        let convolutions = ops.compactMap { op in (op["convolution"] as? [String: Any]).map { (op["name"] as! String, $0) } }
        XCTAssertEqual(convolutions.count, 20, "SE-ResNet-18 has 20 convolutions")
        XCTAssertEqual(report["convolutions"] as? Int, 20)
        let verbose = try runCLI(arguments + ["-v"])
        XCTAssertEqual(verbose.status, 0, verbose.stderr)
        let registered = Set(ConvAlgorithms.registered.map(\.name))
        for (name, conv) in convolutions {
            let algorithm = try XCTUnwrap(conv["algorithm"] as? String)
            let tiling = try XCTUnwrap(conv["tiling"] as? String)
            XCTAssertTrue(registered.contains(algorithm), "\(name): \(algorithm)")
            XCTAssertNotNil(conv["parameters"] as? [String: Any], "\(name): the tiling's fields")
            XCTAssertEqual(conv["splitK"] as? Int, 1, "\(name): the CPU family does not split K")
            // The verbose listing names the same algorithm and tiling, and why the GPU one was passed.
            XCTAssertTrue(
                verbose.stdout.contains("\n  \(name): \(algorithm) \(tiling) (default); passed over gemm-gpu: "),
                "\(name) \(algorithm) \(tiling):\n\(verbose.stdout)")
        }
        XCTAssertFalse(verbose.stdout.contains("substitutions ("), "nothing was substituted: \(verbose.stdout)")
    }

    func testAKernelsFolderMissingAFileIsASubstitution() throws {
        try skipWithoutOpenCL()
        // A folder holding one kernel file: the others come from the binary, and `plan` says so.
        let folder = try temporaryDirectory(self)
        try KernelSources().source(named: "conv_ocvec.cl").write(
            to: folder.appendingPathComponent("conv_ocvec.cl"), atomically: true, encoding: .utf8)
        let plan = try runCLI(["plan", "--device", "0", "--model", "seresnet18", "--size", "32", "--kernels", folder.path])
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(plan.stdout.contains("\nsubstitutions ("), plan.stdout)
        XCTAssertTrue(
            plan.stdout.contains("\n  precision.cl is not in the --kernels folder \(folder.path): its embedded source ran"),
            plan.stdout)
        XCTAssertFalse(plan.stdout.contains("conv_ocvec.cl is not in"), plan.stdout)
    }

    func testNoWinogradKeepsTheDirectKernelsAndSaysSo() throws {
        try skipWithoutOpenCL()
        let arguments = ["plan", "--device", "0", "--model", "seresnet18", "--size", "64", "--kernel-family", "cpu", "-v"]
        let on = try runCLI(arguments)
        XCTAssertEqual(on.status, 0, on.stderr)
        // At 64×64 the 3×3 stride-1 layers are 16×16 down to 2×2: F(4,3) below 512 channels, F(2,3) from 512.
        XCTAssertTrue(on.stdout.contains("\n  layer1.0.conv1: winograd-f4 "), on.stdout)
        XCTAssertTrue(on.stdout.contains("\n  layer4.1.conv1: winograd-f2 "), on.stdout)
        let off = try runCLI(arguments + ["--no-winograd"])
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertFalse(off.stdout.contains(": winograd-"), off.stdout)
        XCTAssertTrue(
            off.stdout.contains("\n  layer1.0.conv1: ocvec ")
                && off.stdout.contains("winograd-f4: --no-winograd turned it off; winograd-f2: --no-winograd turned it off"),
            off.stdout)
    }
}
