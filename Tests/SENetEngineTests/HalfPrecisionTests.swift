import Foundation
import TestSupport
import XCTest

@testable import OpenCLKit
@testable import SENetCore
@testable import SENetEngine
@testable import SENetImages

/// fp16: half storage on every device, half arithmetic where the device has cl_khr_fp16,
/// against the fp32 reference and PyTorch's fp32 logits. Pass mark of a network (issue #13):
/// max |fp16 − fp32| / max |fp32| ≤ 2e-2 on the logits, and the same top-1 class per image.
final class HalfPrecisionTests: XCTestCase {
    // MARK: - Conversions

    /// The host's conversions (uploads, downloads): the kernels' own rounding (`vstore_half_rte`)
    /// is checked bit for bit by the fp16 self-check of `preprocess_image`, whose fp32 result is
    /// exact, against `Tensor.rounded(to:)`.
    func testHostConversionToHalfRoundsToNearestEven() throws {
        let runtime = try openTestDevice()
        // 1 + 2^-11 is a tie between 1 and 1 + 2^-10: to even is 1. 65504 is half's largest;
        // 1e-8 is below its smallest subnormal (6e-8); 3e-5 is a subnormal (a multiple of 2^-24).
        let values: [Float] = [1 + 0x1p-11, 1 + 3 * 0x1p-11, 65504, -65504, 1e-8, 3e-5, -0.0, 0.1]
        let expected: [Float] = [1, 1 + 4 * 0x1p-11, 65504, -65504, 0, 503 * 0x1p-24, 0, 0.0999755859375]
        let tensor = Tensor(shape: [values.count], data: values)
        let buffer = try runtime.upload(tensor, as: .float16)
        XCTAssertEqual(buffer.byteCount, 2 * values.count)
        XCTAssertEqual(try runtime.download(buffer, shape: [values.count], as: .float16).data, expected)
        XCTAssertEqual(tensor.rounded(to: .float16).data, expected)
        let preprocess = try KernelSelfCheck.preprocess(
            on: runtime, width: 61, height: 47, settings: Preprocessing(resize: 40, crop: 32), seed: 9, precision: .fp16)
        XCTAssertEqual(preprocess.comparison.maxAbsoluteError, 0, "the kernel rounds like the host")
    }

    func testWeightFilesInF16AndBF16LoadAndRunInHalf() throws {
        let fixture = try ModelFixture.load("timm18_224")
        let parameters = SyntheticWeights.parameters(for: fixture.architecture, seed: fixture.weightSeed)
        let floats = fixture.stateDict.filter { $0.dtype != "I64" }.map { (name: $0.key, tensor: parameters[$0.key]!) }
        let runtime = try openTestDevice()
        let input = SyntheticWeights.input(shape: [1, 3, 64, 64], seed: 5)
        for dtype in [SafeTensorsFile.DType.f16, .bf16] {
            let path = try temporaryDirectory(self).appendingPathComponent("w.safetensors").path
            try SafeTensorsWriter.write(floats, metadata: ["family": fixture.family.rawValue], dtype: dtype, to: path)
            XCTAssertEqual(try SafeTensorsFile(path: path).entries.first?.dtype, dtype)
            let model = try ModelLoader.load(path: path)
            var options = PlanOptions()
            options.precision = .fp16
            let engine = InferenceEngine(model: model, runtime: runtime, options: options)
            let logits = try engine.run(input).logits
            let reference = try Reference.forward(model, input: input)
            let error = Comparison(actual: logits, expected: reference).relativeError
            XCTAssertLessThanOrEqual(error, Precision.fp16.tolerance, "\(dtype.rawValue) file in fp16")
            print("\(dtype.rawValue) weight file, fp16 plan vs fp32 reference of the same file: relative error \(error)")
        }
    }

    func testOutOfRangeWeightIsAnErrorNamingTheFileTensor() throws {
        let fixture = try ModelFixture.load("legacy18_67x83")
        var parameters = SyntheticWeights.parameters(for: fixture.architecture, seed: fixture.weightSeed)
        parameters["layer2.1.conv2.weight"]!.data[7] = 3e6  // Past half's 65504 even after BatchNorm folding.
        let floats = fixture.stateDict.filter { $0.dtype != "I64" }.map { (name: $0.key, tensor: parameters[$0.key]!) }
        let path = try temporaryDirectory(self).appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write(floats, metadata: ["family": fixture.family.rawValue], to: path)
        let model = try ModelLoader.load(path: path)
        var options = PlanOptions()
        options.precision = .fp16
        let engine = InferenceEngine(model: model, runtime: try openTestDevice(), options: options)
        XCTAssertThrowsError(try engine.plan(for: [1, 3, 64, 64])) { error in
            guard case EngineError.weightOutOfHalfRange(let tensor, let largest, let count) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(tensor, "layer2.1.conv2.weight (layer2.1.bn2 folded in)")
            XCTAssertEqual(count, 1)
            XCTAssertGreaterThan(largest, 65504)
        }
        // fp32 runs the same file.
        XCTAssertNoThrow(try InferenceEngine(model: model, runtime: try openTestDevice()).plan(for: [1, 3, 64, 64]))
    }

    // MARK: - Kernels

    func testEveryKernelInHalfOnEveryDevice() throws {
        for runtime in try openTestDevices() {
            let results = try KernelSelfCheck.run(on: runtime, precision: .fp16)
            for result in results where !result.passed {
                XCTFail(
                    "\(runtime.device): \(result.kernel) \(result.shape): \(result.comparison), tolerance \(result.tolerance)")
            }
            let halfMath = results.filter { $0.shape.hasSuffix(" half") }
            if runtime.device.supportsFP16 {
                XCTAssertGreaterThanOrEqual(halfMath.count, 16, "\(runtime.device): half-arithmetic convolutions checked")
            } else {
                XCTAssertTrue(halfMath.isEmpty, "\(runtime.device) has no fp16 arithmetic")
            }
        }
    }

    func testHalfArithmeticIsRefusedWithoutFP16() throws {
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 3)
        var options = PlanOptions()
        (options.precision, options.arithmetic) = (.fp16, .fp16)
        for runtime in try openTestDevices() where !runtime.device.supportsFP16 {
            XCTAssertThrowsError(try InferenceEngine(model: model, runtime: runtime, options: options).plan(for: [1, 3, 32, 32]))
            {
                guard case EngineError.halfArithmeticUnsupported = $0 else { return XCTFail("\($0)") }
            }
        }
    }

    // MARK: - Plans

    func testHalfPlanStoresFeatureMapsAndWeightMatricesInHalf() throws {
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet50")!, seed: 4)
        let runtime = try openTestDevice()
        var options = PlanOptions()
        options.precision = .fp16
        let half = try InferenceEngine(model: model, runtime: runtime, options: options).plan(for: [2, 3, 64, 64])
        // Against fp32 with the same kernels: fp32 plans run 3×3s as Winograd, whose transformed
        // weights and fp32 scratch fp16 plans do not have.
        options.precision = .fp32
        options.winograd = false
        let full = try InferenceEngine(model: model, runtime: runtime, options: options).plan(for: [2, 3, 64, 64])
        for value in half.graph.values {
            XCTAssertEqual(value.elementType, value.shape.count == 4 ? .float16 : .float32, value.name)
        }
        // Biases stay fp32, so a little over half.
        let weightRatio = Double(half.weightBytes) / Double(full.weightBytes)
        XCTAssertEqual(weightRatio, 0.5, accuracy: 0.01)
        XCTAssertEqual(Double(half.activationBytes) / Double(full.activationBytes), 0.5, accuracy: 0.05)
        XCTAssertTrue(half.textDescription.contains("fp16 storage"))
    }

    // MARK: - Networks against PyTorch

    func testFixturesInHalfMatchPyTorchWithinTwoPercent() throws {
        let directory = try temporaryDirectory(self)
        var worst: [String: (Float, String)] = [:]
        let runtimes = try openTestDevices()
        // Every plain SE-ResNet fixture, and the smallest of each variant kind (SE-ResNeXt,
        // deep stem, SENet-154 per family): the big variants add time, not new half arithmetic.
        let all = try ModelFixture.all()
        let smallest = Dictionary(grouping: all.filter { $0.model != nil }, by: \.group).values.compactMap { group in
            group.min { $0.architecture.depth < $1.architecture.depth }
        }
        for fixture in all.filter({ $0.model == nil }) + smallest.sorted(by: { $0.name < $1.name }) {
            let path = directory.appendingPathComponent("\(fixture.name).safetensors").path
            try fixture.writeWeights(to: path)
            let model = try ModelLoader.load(path: path)
            let expected = fixture.expectedLogits
            for runtime in runtimes {
                let modes: [Arithmetic] = runtime.device.supportsFP16 ? [.fp32, .fp16] : [.fp32]
                for arithmetic in modes {
                    var options = PlanOptions()
                    (options.precision, options.arithmetic) = (.fp16, arithmetic)
                    let logits = try InferenceEngine(model: model, runtime: runtime, options: options).run(fixture.input).logits
                    let error = Comparison(actual: logits, expected: expected).relativeError
                    let label = "\(fixture.name) on \(runtime.device.platformName), \(arithmetic) arithmetic"
                    XCTAssertLessThanOrEqual(error, 2e-2, label)
                    for row in 0..<expected.shape[0] {
                        XCTAssertEqual(logits.argmax(row: row), expected.argmax(row: row), "\(label): top-1 of image \(row)")
                    }
                    let key = "\(fixture.family.rawValue), \(arithmetic == .fp16 ? "half" : "fp32") arithmetic"
                    if error > (worst[key]?.0 ?? -1) { worst[key] = (error, fixture.name) }
                }
            }
        }
        for (key, value) in worst.sorted(by: { $0.key < $1.key }) {
            print("fp16 worst logits error vs PyTorch, \(key): \(value.0) (\(value.1))")
        }
        XCTAssertEqual(worst.count, runtimes.contains { $0.device.supportsFP16 } ? 6 : 3)
    }

    func testGPUFamilyInHalfOnOneFixturePerFamily() throws {
        let directory = try temporaryDirectory(self)
        for name in ["timm34_b2_64x96", "legacy18_67x83", "classic50_b2_80x64"] {
            let fixture = try ModelFixture.load(name)
            let path = directory.appendingPathComponent("\(name).safetensors").path
            try fixture.writeWeights(to: path)
            let model = try ModelLoader.load(path: path)
            for runtime in try openTestDevices() {
                for arithmetic in runtime.device.supportsFP16 ? [Arithmetic.fp32, .fp16] : [.fp32] {
                    var options = PlanOptions()
                    (options.precision, options.arithmetic, options.kernelFamily) = (.fp16, arithmetic, .gpu)
                    let logits = try InferenceEngine(model: model, runtime: runtime, options: options).run(fixture.input).logits
                    let label = "\(name) GPU family on \(runtime.device.platformName), \(arithmetic) arithmetic"
                    assertClose(logits, fixture.expectedLogits, tolerance: 2e-2, label)
                    for row in 0..<logits.shape[0] {
                        XCTAssertEqual(logits.argmax(row: row), fixture.expectedLogits.argmax(row: row), label)
                    }
                }
            }
        }
    }

    // MARK: - Tuning

    func testTunerInHalfHasItsOwnEntriesAndTriesHalfArithmetic() throws {
        let g = ConvGeometry(batch: 1, inChannels: 24, height: 7, width: 9, outChannels: 40, kernel: 3, padding: 1)
        XCTAssertEqual("\(ConvShapeKey(g, precision: .fp16))", "\(ConvShapeKey(g)) fp16")
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 6)
        let graph = try NetworkGraph(model: model, inputShape: [1, 3, 40, 40])
        for runtime in try openTestDevices() {
            let device = runtime.device
            let half = { (tilings: [ConvTiling]) in tilings.filter(\.halfArithmetic).count }
            let all = ConvTuner.candidates(for: device, precision: .fp16)
            XCTAssertEqual(half(all) > 0, device.supportsFP16 && device.type == .cpu, "\(device)")
            XCTAssertEqual(half(ConvTuner.candidates(for: device, precision: .fp32)), 0)
            XCTAssertEqual(half(ConvTuner.candidates(for: device, precision: .fp16, arithmetic: .fp32)), 0)
            XCTAssertEqual(
                ConvTuner.gpuCandidates(for: device, precision: .fp16, arithmetic: .fp16).allSatisfy(\.halfArithmetic),
                device.supportsFP16)
            // A table of fp16 entries serves fp16 plans only, and passes the whole-network check.
            var table = try TuningTable(for: runtime)
            for (_, g) in graph.convolutions {
                var tiling = ConvTiling(vectors: 2, vectorWidth: 8, pixels: 4, localSize: 2)
                tiling.halfArithmetic = device.supportsFP16
                table.entries[ConvShapeKey(g, precision: .fp16)] = TunedConvolution(cpu: tiling)
            }
            let error = try ConvTuner.verifyNetwork(
                model, inputShape: [1, 3, 40, 40], runtime: runtime, family: .cpu, table: table, precision: .fp16)
            XCTAssertLessThanOrEqual(error, 2e-2)
            var options = PlanOptions()
            options.precision = .fp16
            let plan = try ExecutionPlan(
                graph: graph, runtime: runtime, weights: DeviceModel(runtime: runtime, precision: .fp16), options: options,
                tuning: table)
            // Every convolution runs its fp16 entry, the half arithmetic included.
            XCTAssertEqual(plan.convolutionChoices.count, plan.convolutions)
            for choice in plan.convolutionChoices {
                let g = graph.convolutions.first { $0.name == choice.name }!.geometry
                XCTAssertEqual(choice.tiling, table.entries[ConvShapeKey(g, precision: .fp16)]?.tiling, choice.name)
                XCTAssertTrue(choice.tuned, choice.name)
            }
            XCTAssertEqual(plan.halfArithmeticConvolutions, device.supportsFP16 ? plan.convolutions : 0)
            let fp32 = try ExecutionPlan(graph: graph, runtime: runtime, weights: DeviceModel(runtime: runtime), tuning: table)
            XCTAssertEqual(fp32.tunedConvolutions, 0, "fp16 entries are not fp32's")
            XCTAssertEqual(
                fp32.convolutionChoices.map(\.tiling),
                graph.convolutions.map { conv -> ConvolutionTiling in
                    device.type == .cpu
                        ? .cpu(ConvTiling.defaultFor(device: device, geometry: conv.geometry))
                        : .gpu(GPUConvTiling.defaultFor(device: device, geometry: conv.geometry))
                })
            XCTAssertEqual(fp32.halfArithmeticConvolutions, 0)
            guard device.supportsFP16 else { continue }  // PoCL compiles each candidate for 0.4 s.
            let result = try ConvTuner.tune(g, runtime: runtime, precision: .fp16, repeats: 1)
            XCTAssertEqual(result.key, "\(ConvShapeKey(g, precision: .fp16))")
            XCTAssertEqual(result.rejected, [], "every candidate computes the convolution in half")
            XCTAssertTrue(result.best.isValid(on: device))
            let halfOnly = try ConvTuner.tune(g, runtime: runtime, precision: .fp16, arithmetic: .fp16, repeats: 1)
            XCTAssertTrue(halfOnly.best.halfArithmetic)
        }
    }
}
