import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages
import TestSupport
import XCTest

/// Runs the built `senet-gpu` binary the way a user does and checks its output and exit codes.
final class CLITests: XCTestCase {
    // MARK: - devices

    func testDevicesListsADeviceAsTextAndJSON() throws {
        try skipWithoutOpenCL()
        let text = try runCLI(["devices"])
        XCTAssertEqual(text.status, 0)
        XCTAssertTrue(text.stdout.hasPrefix("[0] "), text.stdout)
        for field in ["platform:", "driver:", "compute units:", "memory:", "work-group size:", "fp16 / fp64:"] {
            XCTAssertTrue(text.stdout.contains(field), "missing \(field)")
        }
        let json = try runCLI(["devices", "--json"])
        XCTAssertEqual(json.status, 0)
        let entries = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(entries?.first?["index"] as? Int, 0)
        XCTAssertNotNil(entries?.first?["driverVersion"] as? String)
        XCTAssertGreaterThan(entries?.first?["computeUnits"] as? Int ?? 0, 0)
    }

    func testNoPlatformGivesInstallHint() throws {
        // An empty vendor directory makes the ICD loader find no platform.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("senet-gpu-no-icd-\(UUID())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let result = try runCLI(["devices"], environment: ["OCL_ICD_VENDORS": empty.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("no OpenCL platform found"), result.stderr)
        XCTAssertTrue(result.stderr.contains("pocl-opencl-icd"), result.stderr)
        XCTAssertEqual(result.stdout, "")
    }

    // MARK: - selfcheck

    func testSelfCheckPassesOnDeviceZero() throws {
        try skipWithoutOpenCL()
        let result = try runCLI(["selfcheck", "--device", "0"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        // "36/36 passed in ...": every check passed, and the standard set is all there.
        let summary = try XCTUnwrap(result.stdout.split(separator: "\n").last { $0.contains(" passed in ") })
        let counts = summary.split(separator: " ")[0].split(separator: "/").compactMap { Int($0) }
        XCTAssertEqual(counts.count, 2, String(summary))
        XCTAssertEqual(counts.first, counts.last, String(summary))
        XCTAssertGreaterThanOrEqual(counts.last ?? 0, 36, String(summary))
    }

    func testBadDeviceIndexListsDevices() throws {
        try skipWithoutOpenCL()
        let result = try runCLI(["selfcheck", "--device", "99"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("device 99 does not exist; available: #0 "), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line")
    }

    func testBrokenKernelShowsBuildLog() throws {
        try skipWithoutOpenCL()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("senet-gpu-kernels-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "__kernel void channel_scale_add_relu() { undefined_symbol; }"
            .write(to: directory.appendingPathComponent("scale.cl"), atomically: true, encoding: .utf8)
        let result = try runCLI(["selfcheck", "--kernels", directory.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("scale.cl failed to build"), result.stderr)
        XCTAssertTrue(result.stderr.contains("undefined_symbol"), result.stderr)
    }
}

/// `infer` on the CPU reference: the default run, .npy in and out, and bad inputs.
final class InferCLITests: XCTestCase {
    func testDefaultRunNeedsNoDownloadAndSaysWeightsAreSynthetic() throws {
        let result = try runCLI(["infer", "--device", "cpu", "--model", "seresnet18", "--size", "64"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("SYNTHETIC seeded weights"), result.stdout)
        XCTAssertTrue(result.stdout.contains("image 0: class "), result.stdout)
    }

    func testNpyInSaveLogitsOutMatchesLibrary() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("senet-gpu-cli-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures")
        let logits = directory.appendingPathComponent("y.npy").path
        let result = try runCLI([
            "infer", "--device", "cpu", "--model", "legacy_seresnet18", "--input",
            fixtures.appendingPathComponent("input_1x3x32x40.npy").path, "--save-logits", logits, "--json",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(report?["inputShape"] as? [Int], [1, 3, 32, 40])
        XCTAssertEqual(report?["syntheticWeights"] as? Bool, true)
        let saved = try Data(contentsOf: URL(fileURLWithPath: logits))
        XCTAssertEqual(saved.count, 128 + 1000 * 4, "float32 [1, 1000] after a 128-byte header")
    }

    func testBadInputsGiveOneLineAndNoOutputFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("senet-gpu-cli-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let truncated = directory.appendingPathComponent("truncated.safetensors")
        try Data([1, 2, 3]).write(to: truncated)
        let output = directory.appendingPathComponent("out.npy").path
        let badArray = directory.appendingPathComponent("bad.npy")
        try Data([1, 2, 3]).write(to: badArray)
        let cases: [([String], String)] = [
            (["--weights", directory.appendingPathComponent("missing.safetensors").path], "no such file"),
            (["--weights", truncated.path], "too short for a safetensors header"),
            (["--model", "resnet50"], "unknown model 'resnet50'"),
            (["--input", badArray.path], "not a .npy file"),
            (["--size", "7"], "invalid --size"),
            (["--device", "gpu0"], "invalid device 'gpu0'"),
        ]
        for (arguments, fragment) in cases {
            let result = try runCLI(["infer", "--device", "cpu", "--save-logits", output] + arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.stderr.contains(fragment), "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line: \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "no partial output for \(arguments)")
        }
    }
}

/// `infer --device 0` and `compare` as a user runs them, against PyTorch's logits.
final class DeviceCLITests: XCTestCase {
    func testInferOnDeviceZeroMatchesPyTorchForEveryFixture() throws {
        try skipWithoutOpenCL()
        let directory = try temporaryDirectory(self)
        let cache = directory.appendingPathComponent("cache").path
        for fixture in try ModelFixture.all() {
            let weights = directory.appendingPathComponent("\(fixture.name).safetensors").path
            let input = directory.appendingPathComponent("\(fixture.name).npy").path
            let logits = directory.appendingPathComponent("\(fixture.name)-logits.npy").path
            try fixture.writeWeights(to: weights)
            try NumpyFile.write(fixture.input, path: input)
            let result = try runCLI(
                ["infer", "--device", "0", "--weights", weights, "--input", input, "--save-logits", logits],
                environment: ["SENET_GPU_CACHE": "on", "XDG_CACHE_HOME": cache])
            XCTAssertEqual(result.status, 0, "\(fixture.name): \(result.stderr)")
            XCTAssertTrue(result.stdout.contains("device: #0 "), result.stdout)
            assertClose(try NumpyFile.read(path: logits), fixture.expectedLogits, tolerance: 1e-4, fixture.name)
            // The SE-ResNeXt, deep-stem and SENet-154 variants also through the CPU reference.
            guard let name = fixture.model else { continue }
            let cpu = try runCLI(
                ["infer", "--device", "cpu", "--model", name, "--weights", weights, "--input", input, "--save-logits", logits])
            XCTAssertEqual(cpu.status, 0, "\(fixture.name) on the CPU: \(cpu.stderr)")
            XCTAssertTrue(cpu.stdout.contains("model: \(name) ("), cpu.stdout)
            assertClose(try NumpyFile.read(path: logits), fixture.expectedLogits, tolerance: 1e-4, "\(fixture.name) on the CPU")
        }
    }

    func testCompareExitCodesAndFirstDivergingLayer() throws {
        try skipWithoutOpenCL()
        let base = ["compare", "--device", "0", "--model", "seresnet18", "--size", "48x64"]
        let clean = try runCLI(base)
        XCTAssertEqual(clean.status, 0, clean.stderr)
        XCTAssertTrue(clean.stdout.contains("logits: relative error"), clean.stdout)
        XCTAssertTrue(clean.stdout.contains("PASS"), clean.stdout)

        let broken = try runCLI(base + ["--debug-perturb", "layer3.1.conv1"])
        XCTAssertEqual(broken.status, 1)
        XCTAssertTrue(broken.stdout.contains("first layer over tolerance: layer3.1.conv1 (conv)"), broken.stdout)

        let json = try runCLI(base + ["--debug-perturb", "classifier", "--json"])
        XCTAssertEqual(json.status, 1)
        let summary = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(summary?["firstDivergingLayer"] as? String, "classifier")

        let all = try runCLI(["compare", "--all-devices", "--model", "senet18", "--size", "40"])
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertTrue(all.stdout.contains("#0 "), all.stdout)
        let devices = try runCLI(["devices", "--json"])
        let count = (try JSONSerialization.jsonObject(with: Data(devices.stdout.utf8)) as? [Any])?.count ?? 0
        XCTAssertEqual(all.stdout.split(separator: "\n").count, 1 + count, "one row per device: \(all.stdout)")

        for family in ["cpu", "gpu"] {
            let forced = try runCLI([
                "compare", "--all-devices", "--model", "legacy_seresnet50", "--size", "36", "--kernel-family", family,
            ])
            XCTAssertEqual(forced.status, 0, "\(family): \(forced.stdout) \(forced.stderr)")
        }
    }

    func testLaunchLogGoesToStderrOnePerLaunch() throws {
        try skipWithoutOpenCL()
        let arguments = ["infer", "--device", "0", "--model", "seresnet18", "--size", "32", "--json"]
        let quiet = try runCLI(arguments)
        let logged = try runCLI(arguments, environment: ["SENET_GPU_LOG": "launches"])
        XCTAssertEqual(logged.status, 0, logged.stderr)
        XCTAssertFalse(quiet.stderr.contains("launch "), quiet.stderr)
        let launches = logged.stderr.split(separator: "\n").filter { $0.contains("launch ") }
        // SE-ResNet-18: 20 convolutions, 8 blocks × 4 SE and residual ops, stem pool, head (pool,
        // classifier, softmax): 56 launches, more where a tiling adds im2col or a split-K pass.
        XCTAssertGreaterThanOrEqual(launches.count, 56, logged.stderr)
        XCTAssertTrue(launches.contains { $0.contains("launch softmax_rows global [64] local [64]") }, logged.stderr)
        XCTAssertFalse(logged.stdout.contains("launch "), "stdout stays the results'")
    }

    func testPlanAndVerboseShowPlacementAndMemory() throws {
        try skipWithoutOpenCL()
        let plan = try runCLI(["plan", "--device", "0", "--model", "legacy_seresnet18", "--size", "64", "--cpu-ops", "*.se*"])
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(plan.stdout.contains("layer1.0.se.fc1"), plan.stdout)
        XCTAssertTrue(plan.stdout.contains("forced onto the CPU"), plan.stdout)
        XCTAssertTrue(plan.stdout.contains("download layer1.0.conv2"), plan.stdout)
        XCTAssertTrue(plan.stdout.contains("upload layer1.0.se [1, 64] float32 nc"), plan.stdout)
        XCTAssertTrue(plan.stdout.contains("weights"), plan.stdout)
        let verbose = try runCLI(["infer", "--device", "0", "--model", "seresnet18", "--size", "40", "--verbose"])
        XCTAssertEqual(verbose.status, 0, verbose.stderr)
        XCTAssertTrue(verbose.stderr.contains("ops on the device"), verbose.stderr)
        let bad = try runCLI(["plan", "--model", "seresnet18", "--cpu-ops", "nonsense"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("--cpu-ops 'nonsense' matches no op"), bad.stderr)
    }

    func testPlanReportsTheBytesOfThePackedWeightsItUploads() throws {
        try skipWithoutOpenCL()
        // seresnext26t's stem has 24 and 32 output channels, padded to 64 when packed.
        let plan = try runCLI(["plan", "--device", "0", "--model", "seresnext26t_32x4d", "--size", "32"])
        XCTAssertEqual(plan.status, 0, plan.stderr)
        let printed = try XCTUnwrap(
            plan.stdout.firstMatch(of: #/\((\d+) bytes; uploaded once/#).flatMap { Int($0.1) }, plan.stdout)
        // What the device holds once every weight is uploaded: the sum of the buffers' sizes.
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnext26t_32x4d")!, seed: 1)
        let engine = InferenceEngine(model: model, runtime: try openTestDevice())
        _ = try engine.plan(for: [1, 3, 32, 32])
        XCTAssertEqual(printed, try XCTUnwrap(engine.deviceModel).weightBytes)
    }
}

/// `infer` on image files and folders.
final class ImageCLITests: XCTestCase {
    static var images: URL { ModelFixture.directory.appendingPathComponent("images") }
    static var preprocess: URL { ModelFixture.directory.appendingPathComponent("preprocess") }

    func testFolderWithABrokenFileReportsItAndCarriesOn() throws {
        try skipWithoutOpenCL()
        let folder = try temporaryDirectory(self)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("b"), withIntermediateDirectories: true)
        for (name, target) in [
            ("grey.png", "a.png"), ("rgba.png", "b/c.png"), ("truncated.jpg", "b/d.jpg"), ("baseline.jpg", "e.JPG"),
        ] {
            try FileManager.default.copyItem(
                at: Self.images.appendingPathComponent(name), to: folder.appendingPathComponent(target))
        }
        try Data("notes".utf8).write(to: folder.appendingPathComponent("readme.txt"))
        let result = try runCLI([
            "infer", "--device", "0", "--model", "seresnet18", "--input", folder.path, "--resize", "40", "--crop", "32",
            "--batch", "2",
            "--top", "3",
        ])
        XCTAssertEqual(result.status, 1, "a failed image makes the exit status 1")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 5, result.stdout)
        XCTAssertTrue(lines[0].hasPrefix(folder.appendingPathComponent("a.png").path + ": "), lines[0])
        XCTAssertTrue(lines[1].hasPrefix(folder.appendingPathComponent("b/c.png").path + ": "), lines[1])
        XCTAssertTrue(lines[2].hasPrefix(folder.appendingPathComponent("b/d.jpg").path + ": error: "), lines[2])
        XCTAssertTrue(lines[3].hasPrefix(folder.appendingPathComponent("e.JPG").path + ": "), lines[3])
        XCTAssertEqual(lines[0].split(separator: ",").count, 3, "top 3 with ImageNet names: \(lines[0])")
        XCTAssertTrue(lines[4].hasPrefix("4 images (1 failed) in "), lines[4])
        XCTAssertFalse(result.stderr.contains("["), "no progress bar when stderr is not a terminal")
    }

    func testJSONLinesLabelsAndLogitsOfA224PNG() throws {
        try skipWithoutOpenCL()
        let directory = try temporaryDirectory(self)
        let labels = directory.appendingPathComponent("labels.txt")
        try (0..<1000).map { "thing \($0)" }.joined(separator: "\n").write(to: labels, atomically: true, encoding: .utf8)
        let logits = directory.appendingPathComponent("logits.npy").path
        let result = try runCLI([
            "infer", "--device", "0", "--model", "seresnet18", "--input",
            Self.preprocess.appendingPathComponent("square224.png").path,
            "--resize", "224", "--crop", "224", "--labels", labels.path, "--json", "--save-logits", logits,
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let first = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        let top = try XCTUnwrap(first["top"] as? [[String: Any]])
        XCTAssertTrue((top[0]["label"] as? String ?? "").hasPrefix("thing "))
        let expected = try NumpyFile.read(path: Self.preprocess.appendingPathComponent("square224.seresnet18.logits.npy").path)
        assertClose(try NumpyFile.read(path: logits), expected, tolerance: 1e-4, "infer --device 0 vs PyTorch")

        try "a\nb\n".write(to: labels, atomically: true, encoding: .utf8)
        let wrong = try runCLI([
            "infer", "--model", "seresnet18", "--input", Self.images.appendingPathComponent("rgb.png").path, "--labels",
            labels.path,
        ])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("has 2 names but the model has 1000 classes"), wrong.stderr)
    }
}
