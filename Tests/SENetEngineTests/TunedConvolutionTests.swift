import Foundation
import TestSupport
import XCTest

@testable import OpenCLKit
@testable import SENetCore
@testable import SENetEngine
@testable import SENetImages

/// The fast convolution kernels on every path and tiling, and the tuner that picks among them.
final class TunedConvolutionTests: XCTestCase {
    // MARK: - Kernels

    func testEveryTilingOnEveryPathMatchesTheReference() throws {
        // GEMM with tails, strided 1×1, 3×3 with rows shorter than TN, 3×3 stride 2, a stem.
        let shapes: [(ConvGeometry, Bool)] = [
            (ConvGeometry(batch: 2, inChannels: 35, height: 9, width: 13, outChannels: 21, kernel: 1), true),
            (ConvGeometry(batch: 1, inChannels: 17, height: 15, width: 11, outChannels: 18, kernel: 1, stride: 2), false),
            (ConvGeometry(batch: 2, inChannels: 6, height: 7, width: 7, outChannels: 20, kernel: 3, padding: 1), true),
            (
                ConvGeometry(batch: 1, inChannels: 5, height: 21, width: 19, outChannels: 9, kernel: 3, stride: 2, padding: 1),
                false
            ),
            (
                ConvGeometry(batch: 1, inChannels: 3, height: 33, width: 37, outChannels: 17, kernel: 7, stride: 2, padding: 3),
                true
            ),  // stem
        ]
        // Every pixel-vector tile, and every channel-vector tile the tuner tries on each device.
        for runtime in try openTestDevices() {
            let channelVector = ConvTuner.candidates(for: runtime.device).filter {
                $0.kernel == .channelVector && $0.vectorWidth == ConvTiling.defaultFor(device: runtime.device).vectorWidth
            }
            let pixelVector = ConvTuner.candidates.filter { $0.pixels != 4 || $0.channels == 4 }
            for (index, (g, relu)) in shapes.enumerated() {
                for tiling in pixelVector + channelVector {
                    let result = try KernelSelfCheck.convolution(
                        on: runtime, g, tiling: tiling, relu: relu, seed: UInt64(500 + index))
                    XCTAssertTrue(result.passed, "\(runtime.device) \(tiling) \(result.shape): \(result.comparison)")
                }
            }
        }
    }

    // MARK: - Tuner

    /// Every device convolution of `plan` runs `expected(name, geometry)` and says it is tuned.
    func assertPlanRuns(
        _ plan: ExecutionPlan, tuned: Bool = true, file: StaticString = #filePath, line: UInt = #line,
        _ expected: (String, ConvGeometry) -> ConvolutionTiling?
    ) {
        let geometries = Dictionary(uniqueKeysWithValues: plan.graph.convolutions.map { ($0.name, $0.geometry) })
        XCTAssertEqual(
            plan.convolutionChoices.count, plan.convolutions, "every convolution on the device", file: file, line: line)
        for choice in plan.convolutionChoices {
            let entry = expected(choice.name, geometries[choice.name]!)
            XCTAssertEqual(choice.tuned, tuned, choice.name, file: file, line: line)
            if tuned {
                XCTAssertEqual(choice.tiling, entry, choice.name, file: file, line: line)
            } else {
                XCTAssertNotEqual(choice.tiling, entry, "\(choice.name) ran the table's entry", file: file, line: line)
            }
        }
    }

    /// The tuner's rule: the fastest finalist by median, unless it beats the default by 3 % or
    /// less, when the default stays.
    func assertTunerKeptItsRule<T: Hashable & Sendable & CustomStringConvertible>(
        _ result: ConvTuner.Result<T>, file: StaticString = #filePath, line: UInt = #line
    ) {
        let fastest = result.finalists.min { $0.value < $1.value }!
        let expected = fastest.value <= 0.97 * result.defaultSeconds ? fastest.key : result.fallback
        XCTAssertEqual(result.best, expected, "\(result.finalists) default \(result.fallback)", file: file, line: line)
        XCTAssertEqual(result.bestSeconds, result.finalists[result.best], file: file, line: line)
        XCTAssertFalse(result.rejected.contains(result.best), file: file, line: line)
    }

    func testTunerPicksAPassingCandidateAndThePlanUsesIt() throws {
        let directory = try temporaryDirectory(self)
        let runtime = try openTestDevice(cacheDirectory: directory.appendingPathComponent("programs"))
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 1)
        let shape = [1, 3, 40, 40]
        let geometries = try NetworkGraph(model: model, inputShape: shape).convolutions
        let result = try ConvTuner.tune(geometries[0].geometry, runtime: runtime, repeats: 1)
        XCTAssertEqual(result.fallback, ConvTiling.defaultFor(device: runtime.device, geometry: geometries[0].geometry))
        assertTunerKeptItsRule(result)
        XCTAssertTrue(result.rejected.isEmpty, "no candidate computes wrong on this device")

        let path = try XCTUnwrap(TuningTable.path(for: runtime.device, cacheDirectory: runtime.programs.directory))
        XCTAssertTrue(path.path.hasPrefix(directory.appendingPathComponent("tuning").path))
        var table = try TuningTable(for: runtime)
        for (_, g) in geometries {
            table.entries[ConvShapeKey(g)] = TunedConvolution(cpu: ConvTiling(channels: 8, pixels: 4, im2col: g.kernelHeight > 1))
        }
        try table.save(to: path)
        XCTAssertEqual(TuningTable.load(from: path), table)

        let engine = InferenceEngine(model: model, runtime: runtime)
        XCTAssertEqual(engine.tuning, table)
        let plan = try engine.plan(for: shape)
        assertPlanRuns(plan) { _, g in table.entries[ConvShapeKey(g)]?.tiling }
        XCTAssertEqual(plan.tunedConvolutions, plan.convolutions)
        let input = SyntheticWeights.input(shape: shape, seed: 2)
        assertClose(try plan.run(input).logits, try Reference.forward(model, input: input), tolerance: 1e-4)
    }

    func testGPUFamilyTunerAndTunedPlan() throws {
        let directory = try temporaryDirectory(self)
        let runtime = try openTestDevice(cacheDirectory: directory.appendingPathComponent("programs"))
        let model = try SyntheticWeights.model(Architecture(modelName: "legacy_seresnet18")!, seed: 3)
        let shape = [2, 3, 36, 44]
        let geometries = try NetworkGraph(model: model, inputShape: shape).convolutions
        let result = try ConvTuner.tuneGPU(geometries[1].geometry, runtime: runtime, repeats: 1)
        XCTAssertTrue(result.best.fits(runtime.device), "\(result.best)")
        assertTunerKeptItsRule(result)
        XCTAssertTrue(result.rejected.isEmpty, "no candidate computes wrong on this device: \(result.rejected)")

        // Every convolution gets a tuned GPU tiling (split-K forced on half of them); the plan
        // of the GPU family uses all of them and still computes the network.
        var table = try TuningTable(for: runtime)
        for (index, (_, g)) in geometries.enumerated() {
            table.entries[ConvShapeKey(g, family: .gpu)] = TunedConvolution(
                gpu: GPUConvTiling(tileM: 32, tileN: 32, tileK: 8, workM: 2, workN: 2, slices: index.isMultiple(of: 2) ? 2 : 1))
        }
        try table.save(to: try XCTUnwrap(TuningTable.path(for: runtime.device, cacheDirectory: runtime.programs.directory)))
        var options = PlanOptions()
        options.kernelFamily = .gpu
        let engine = InferenceEngine(model: model, runtime: runtime, options: options)
        let plan = try engine.plan(for: shape)
        assertPlanRuns(plan) { _, g in table.entries[ConvShapeKey(g, family: .gpu)]?.tiling }
        XCTAssertEqual(plan.tunedConvolutions, plan.convolutions)
        // The CPU family has no entries in this table: nothing is tuned there.
        options.kernelFamily = .cpu
        let cpu = try InferenceEngine(model: model, runtime: runtime, options: options).plan(for: shape)
        assertPlanRuns(cpu, tuned: false) { _, g in table.entries[ConvShapeKey(g, family: .gpu)]?.tiling }
        let input = SyntheticWeights.input(shape: shape, seed: 4)
        assertClose(try plan.run(input).logits, try Reference.forward(model, input: input), tolerance: 1e-4)
    }

    func testUntunedDefaultsComeFromTheDeviceAndTheLayer() throws {
        for runtime in try openTestDevices() {
            let device = runtime.device
            let wide = ConvGeometry(batch: 1, inChannels: 256, height: 56, width: 56, outChannels: 64, kernel: 1)
            let small = ConvGeometry(batch: 1, inChannels: 2048, height: 7, width: 7, outChannels: 512, kernel: 1)
            let threeByThree = ConvGeometry(
                batch: 1, inChannels: 64, height: 56, width: 56, outChannels: 64, kernel: 3, padding: 1)
            let strided = ConvGeometry(batch: 1, inChannels: 256, height: 56, width: 56, outChannels: 512, kernel: 1, stride: 2)
            guard device.type == .cpu else {
                XCTAssertEqual(ConvTiling.defaultFor(device: device, geometry: wide).kernel, .pixelVector)
                continue
            }
            // Vectors as wide as the device's native float vector (16 with AVX-512, 8 with AVX2).
            let native = [16, 8, 4].first { $0 <= device.nativeFloatVectorWidth } ?? 4
            XCTAssertEqual(ConvTiling.defaultFor(device: device, geometry: wide).kernel, .pixelVector)
            XCTAssertEqual(ConvTiling.defaultFor(device: device, geometry: wide).pixels, native)
            XCTAssertEqual(ConvTiling.defaultFor(device: device, geometry: wide).channels, 8)
            // 1×1s of 28×28 and less: 16 channels × 4 pixels, what `tune` picked there.
            let pointwise = ConvTiling.defaultFor(device: device, geometry: small)
            XCTAssertEqual([pointwise.channels, pointwise.pixels, pointwise.localSize], [max(16, native), 4, 4])
            for g in [small, threeByThree, strided] {
                let tiling = ConvTiling.defaultFor(device: device, geometry: g)
                XCTAssertEqual(tiling.kernel, .channelVector, "\(ConvShapeKey(g))")
                XCTAssertEqual(tiling.vectorWidth, native, "\(ConvShapeKey(g))")
                XCTAssertTrue(tiling.isValid(on: device), "\(tiling)")
                // No im2col by default: the untuned plan needs no scratch.
                XCTAssertEqual(TiledConvolution.scratchCount(g, tiling: tiling), 0)
            }
        }
    }

    func testDevicePeakIsMeasuredAndMatchesTheClockFormula() throws {
        for runtime in try openTestDevices() {
            let peak = try DevicePeak.measure(runtime: runtime, iterations: 256, repeats: 1)
            XCTAssertGreaterThan(peak.measuredGflops, 0)
            // The best of 4, 8, 16 and the native width (at least 2), whichever the driver reports.
            let native = [16, 8, 4, 2].first { $0 <= runtime.device.nativeFloatVectorWidth } ?? 2
            XCTAssertEqual(Set(peak.gflopsByWidth.keys), Set([4, 8, 16, native]))
            XCTAssertEqual(peak.measuredGflops, peak.gflopsByWidth.values.max())
            XCTAssertEqual(peak.gflopsByWidth[peak.vectorWidth], peak.measuredGflops)
            let d = runtime.device
            XCTAssertEqual(
                peak.nominalGflops,
                DevicePeak.nominalGflops(
                    clockMHz: d.clockMHz, computeUnits: d.computeUnits, vectorWidth: d.nativeFloatVectorWidth))
            XCTAssertEqual(peak.nominalGflops == nil, d.clockMHz == 0, "no clock, no formula")
            XCTAssertTrue(try KernelSelfCheck.fmaPeak(on: runtime, width: peak.vectorWidth, iterations: 19).passed)
        }
    }

    func testNominalPeakOfKnownChips() {
        // Worked by hand from GUIDE §7 (clock × cores × lanes × 2): a 2-core AVX2 VM at
        // 2.45 GHz (2450e6 × 2 × 8 × 2 = 78.4e9), a 16-core AVX-512 host at 3 GHz (1536e9).
        XCTAssertEqual(DevicePeak.nominalGflops(clockMHz: 2450, computeUnits: 2, vectorWidth: 8)!, 78.4, accuracy: 1e-9)
        XCTAssertEqual(DevicePeak.nominalGflops(clockMHz: 3000, computeUnits: 16, vectorWidth: 16)!, 1536, accuracy: 1e-9)
        XCTAssertNil(DevicePeak.nominalGflops(clockMHz: 0, computeUnits: 8, vectorWidth: 8), "Intel's CPU runtime says 0 MHz")
    }

    func testDamagedTuningFileFallsBackToDefaults() throws {
        let directory = try temporaryDirectory(self)
        let file = directory.appendingPathComponent("t.json")
        try Data("{not json".utf8).write(to: file)
        XCTAssertNil(TuningTable.load(from: file))
        XCTAssertNil(TuningTable.load(from: nil))
        let (table, warnings) = TuningTable.load(from: file, for: try openTestDevice())
        XCTAssertNil(table)
        XCTAssertEqual(warnings, ["tuning table \(file.path) is damaged and was ignored; run `tune` again"])
        // A table from before the algorithm-named format (string keys, one map per family).
        try Data(#"{"device": "d", "driver": "1", "engineVersion": "0", "kernelsHash": "", "entries": {}}"#.utf8).write(to: file)
        XCTAssertEqual(
            TuningTable.load(from: file, for: try openTestDevice()).warnings,
            ["tuning table \(file.path) has an older format and was ignored; run `tune` again"])
    }
}
