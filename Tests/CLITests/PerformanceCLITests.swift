import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages
import TestSupport
import XCTest

/// `tune` and `bench` as a user runs them.
final class PerformanceCLITests: XCTestCase {
    func testTunedValuesReachTheNextProcess() throws {
        try skipWithoutOpenCL()
        let cache = try temporaryDirectory(self).path
        let environment = ["SENET_GPU_CACHE": "on", "XDG_CACHE_HOME": cache]
        let model = ["--model", "legacy_seresnet18", "--size", "40"]
        let before = try runCLI(["infer", "--verbose"] + model, environment: environment)
        XCTAssertTrue(before.stderr.contains("0 of 20 layers tuned"), before.stderr)
        let tune = try runCLI(["tune"] + model, environment: environment)
        XCTAssertEqual(tune.status, 0, tune.stderr)
        XCTAssertTrue(tune.stdout.contains("saved 1"), tune.stdout)
        let after = try runCLI(["infer", "--verbose"] + model, environment: environment)
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertTrue(after.stderr.contains("20 of 20 layers tuned for this device"), after.stderr)

        // The table's fallback chain: a batch-4 plan runs the tiles tuned at batch 1, and says so.
        func convolutions(_ arguments: [String]) throws -> [String: [String: Any]] {
            let plan = try runCLI(["plan", "--json"] + arguments + model, environment: environment)
            XCTAssertEqual(plan.status, 0, plan.stderr)
            let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
            let ops = try XCTUnwrap(report["ops"] as? [[String: Any]])
            return Dictionary(
                uniqueKeysWithValues: ops.compactMap { op in
                    (op["convolution"] as? [String: Any]).map { (op["name"] as! String, $0) }
                })
        }
        let (one, four) = (try convolutions([]), try convolutions(["--batch", "4"]))
        XCTAssertEqual(one.count, 20)
        XCTAssertEqual(Set(four.keys), Set(one.keys))
        for (name, tuned) in one {
            let batched = try XCTUnwrap(four[name])
            XCTAssertEqual(tuned["tuned"] as? Bool, true, name)
            XCTAssertNil(tuned["tunedAtBatch"] as? Int, name)
            XCTAssertEqual(batched["tuned"] as? Bool, true, name)
            XCTAssertEqual(batched["tunedAtBatch"] as? Int, 1, name)
            XCTAssertEqual(batched["tiling"] as? String, tuned["tiling"] as? String, name)
            XCTAssertEqual(batched["algorithm"] as? String, tuned["algorithm"] as? String, name)
        }

        // A stored entry damaged by hand: `infer` warns, uses the default for it, and its
        // logits still match the CPU reference's.
        let tables = try FileManager.default.contentsOfDirectory(atPath: cache + "/senet-gpu/tuning")
        XCTAssertEqual(tables.count, 1)
        let tablePath = cache + "/senet-gpu/tuning/" + tables[0]
        let text = try String(contentsOfFile: tablePath, encoding: .utf8)
        let damaged = try XCTUnwrap(text.range(of: #""pixels" : [0-9]+"#, options: .regularExpression))
        try text.replacingCharacters(in: damaged, with: #""pixels" : -3"#).write(
            toFile: tablePath, atomically: true, encoding: .utf8)
        let directory = try temporaryDirectory(self)
        let (deviceLogits, cpuLogits) = (directory.appendingPathComponent("d.npy"), directory.appendingPathComponent("c.npy"))
        let damagedRun = try runCLI(["infer", "--save-logits", deviceLogits.path] + model, environment: environment)
        XCTAssertEqual(damagedRun.status, 0, damagedRun.stderr)
        XCTAssertNotNil(
            damagedRun.stderr.range(
                of: #"is not valid on this device \((TN|NP)=-3 [^)]*\); using the default"#, options: .regularExpression),
            damagedRun.stderr)
        let reference = try runCLI(["infer", "--device", "cpu", "--save-logits", cpuLogits.path] + model)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        assertClose(
            try NumpyFile.read(path: deviceLogits.path), try NumpyFile.read(path: cpuLogits.path), tolerance: 1e-4)
        let refused = try runCLI(["tune", "--device", "cpu"] + model)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("tune needs an OpenCL device"), refused.stderr)
    }

    func testBenchReportsEveryField() throws {
        try skipWithoutOpenCL()
        let result = try runCLI(
            ["bench", "--model", "seresnet18", "--size", "64", "--batch", "2", "--iterations", "2", "--warmup", "1", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 1)
        XCTAssertEqual(
            report["gmacsPerImage"] as? Double ?? 0, Double(try model.macs(height: 64, width: 64)) / 1e9, accuracy: 1e-9)
        XCTAssertEqual(report["batch"] as? Int, 2)
        XCTAssertEqual(report["iterations"] as? Int, 2)
        XCTAssertEqual((report["layers"] as? [Any])?.count, 10)
        for key in [
            "medianMs", "minMs", "maxMs", "imagesPerSecond", "gflops", "ceilingGflops", "coldStartSeconds", "warmStartSeconds",
            "measuredPeakGflops", "fractionOfPeak",
        ] {
            XCTAssertGreaterThan(report[key] as? Double ?? 0, 0, key)
        }
        XCTAssertLessThanOrEqual(report["minMs"] as? Double ?? 1, report["maxMs"] as? Double ?? 0)
        // The kinds split the same profiled run: SE-ResNet-18's 20 convolutions and 8 SE blocks'
        // 16 FCs plus the classifier, with all the network's MACs and no layer counted twice.
        let kinds = try XCTUnwrap(report["layerKinds"] as? [[String: Any]])
        let layersByKind = Dictionary(
            uniqueKeysWithValues: kinds.map { ($0["kind"] as? String ?? "", $0["layers"] as? Int ?? 0) })
        XCTAssertEqual(layersByKind.filter { $0.key.contains("conv") }.values.reduce(0, +), 20, "\(layersByKind)")
        XCTAssertEqual(layersByKind["linear"], 17, "\(layersByKind)")
        XCTAssertEqual(layersByKind["3×3 conv stride 2"], 3, "\(layersByKind)")
        let gmacs = kinds.reduce(0) { $0 + ($1["gmacs"] as? Double ?? 0) }
        XCTAssertEqual(gmacs / 2, report["gmacsPerImage"] as? Double ?? 0, accuracy: 1e-9)
        let peak = try XCTUnwrap(report["measuredPeakGflops"] as? Double)
        let byWidth = try XCTUnwrap(report["peakGflopsByVectorWidth"] as? [String: Double])
        XCTAssertEqual(byWidth.values.max(), peak, "the peak is the best width's rate: \(byWidth)")
        for kind in kinds where kind["gflops"] != nil {
            let rate = kind["gflops"] as? Double ?? 0
            XCTAssertEqual(kind["fractionOfPeak"] as? Double ?? 0, rate / peak, accuracy: 1e-9 * rate, "\(kind)")
        }
    }
}
