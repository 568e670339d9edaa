import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import TestSupport
import XCTest

/// Plans record what actually ran (issue 33, step 2): a tuned entry the device cannot run is
/// replaced by the default, and the plan says so, with the reason and the tiling that ran.
final class PlanSubstitutionTests: XCTestCase {
    func testAnInvalidTunedEntryIsReportedWithTheTilingThatRan() throws {
        let runtime = try openTestDevice()
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 4)
        let shape = [1, 3, 32, 32]
        let graph = try NetworkGraph(model: model, inputShape: shape)
        let (layer, g) = try XCTUnwrap(graph.convolutions.dropFirst(2).first)
        let key = ConvShapeKey(g)
        // Every layer of that shape reads the entry (layer1's four 3×3 convolutions).
        let sameShape = graph.convolutions.filter { ConvShapeKey($0.geometry) == key }.map(\.name)
        XCTAssertGreaterThan(sameShape.count, 1)
        // Neither can run anywhere: TM=3 does not divide the weight block; work-items of 3
        // channels do not divide a tile of 64.
        let badCPU = ConvTiling(channels: 3, pixels: 5)
        let badGPU = GPUConvTiling(tileM: 64, tileN: 64, tileK: 16, workM: 3, workN: 4)
        var gpuKey = key
        gpuKey.family = .gpu
        let table = TuningTable(
            device: "", driver: "", engineVersion: "",
            entries: [key: TunedConvolution(cpu: badCPU), gpuKey: TunedConvolution(gpu: badGPU)])
        for family in [KernelFamily.cpu, .gpu] {
            var options = PlanOptions()
            options.kernelFamily = family
            let plan = try ExecutionPlan(model: model, runtime: runtime, inputShape: shape, options: options, tuning: table)
            let choice = try XCTUnwrap(plan.convolutionChoices.first { $0.name == layer })
            let (bad, reason, ran): (String, String?, ConvolutionTiling)
            let algorithm = family == .cpu ? "tiled" : "gemm-gpu"
            switch family {
            case .cpu:
                (bad, reason) = ("\(badCPU)", badCPU.invalidReason(on: runtime.device))
                ran = .cpu(ConvTiling.defaultFor(device: runtime.device, geometry: g))
            case .gpu:
                (bad, reason) = ("\(badGPU)", badGPU.invalidReason(on: runtime.device))
                ran = .gpu(GPUConvTiling.defaultFor(device: runtime.device, geometry: g))
            }
            let because = try XCTUnwrap(reason, "\(bad) is invalid")
            XCTAssertEqual(
                choice.substitutions.first, "tuned \(algorithm) \(bad) set aside: \(because); the default runs", "\(family)")
            XCTAssertFalse(choice.tuned)
            XCTAssertEqual(choice.tiling, ran, "\(family): the default ran")
            XCTAssertTrue(choice.summary.hasSuffix("(substituted)"), choice.summary)
            // Only those layers were substituted, and `plan` prints each with its reason.
            XCTAssertEqual(plan.convolutionChoices.filter { !$0.substitutions.isEmpty }.map(\.name), sameShape)
            let text = plan.textDescription
            XCTAssertTrue(
                text.contains("\nsubstitutions (\(sameShape.count)):\n  \(sameShape[0]): tuned \(algorithm) \(bad) set aside"),
                text)
            XCTAssertTrue(text.contains("\n  \(layer): tuned \(algorithm) \(bad) set aside: \(because); the default runs"), text)
            XCTAssertTrue(text.contains(" \(layer) ") && text.contains(choice.summary), text)
            // The JSON report carries the same.
            let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(plan.report)) as? [String: Any]
            let ops = try XCTUnwrap(json?["ops"] as? [[String: Any]])
            let conv = try XCTUnwrap(ops.first { $0["name"] as? String == layer }?["convolution"] as? [String: Any])
            XCTAssertEqual(conv["substitutions"] as? [String], choice.substitutions)
            XCTAssertEqual(conv["tiling"] as? String, "\(ran)")
            XCTAssertEqual(conv["tuned"] as? Bool, false)
            // And the network still computes the reference.
            let input = SyntheticWeights.input(shape: shape, seed: 9)
            assertClose(try plan.run(input).logits, try Reference.forward(model, input: input), tolerance: 1e-4)
        }
    }

    func testMissingScratchDropsIm2colAndSplitKAndSaysSo() throws {
        let runtime = try openTestDevice()
        let g = ConvGeometry(batch: 1, inChannels: 16, height: 9, width: 9, outChannels: 24, kernel: 3, padding: 1)
        let input = try runtime.upload(Tensor.random(shape: g.inputShape, seed: 1))
        let weight = try runtime.upload(ConvTiling.packWeights(Tensor.random(shape: g.weightShape, seed: 2)))
        let bias = try runtime.upload(Tensor.random(shape: [g.outChannels], seed: 3))
        let output = try runtime.buffer(bytes: g.outputShape.reduce(1, *) * 4)

        let unfolding = ConvTiling(channels: 8, pixels: 8, im2col: true)
        let bytes = TiledConvolution.scratchCount(g, tiling: unfolding) * 4
        let direct = try TiledConvolution.make(
            runtime: runtime, geometry: g, tiling: unfolding, input: input, weightT: weight, bias: bias, output: output,
            relu: false, scratch: nil)
        XCTAssertEqual(direct.launches.map(\.kernel.name), ["conv_tiled"])
        XCTAssertEqual(direct.substitutions, ["im2col dropped: \(bytes) bytes of scratch were not given; the direct kernel ran"])
        let unfolded = try TiledConvolution.make(
            runtime: runtime, geometry: g, tiling: unfolding, input: input, weightT: weight, bias: bias, output: output,
            relu: false, scratch: try runtime.buffer(bytes: bytes))
        XCTAssertEqual(unfolded.launches.map(\.kernel.name), ["im2col", "conv1x1_gemm"])
        XCTAssertEqual(unfolded.substitutions, [])

        let split = GPUConvTiling(tileM: 16, tileN: 16, tileK: 8, workM: 2, workN: 2, slices: 3)
        let needed = GPUConvolution.scratchBytes(g, tiling: split, computeUnits: runtime.device.computeUnits)
        let whole = try GPUConvolution.make(
            runtime: runtime, geometry: g, tiling: split, input: input, weightT: weight, bias: bias, output: output,
            relu: false, scratch: nil)
        XCTAssertEqual(whole.splitK, 1)
        XCTAssertEqual(whole.substitutions.first, "split-K in 3 dropped: \(needed) bytes of scratch were not given")
        let sliced = try GPUConvolution.make(
            runtime: runtime, geometry: g, tiling: split, input: input, weightT: weight, bias: bias, output: output,
            relu: false, scratch: try runtime.buffer(bytes: needed))
        XCTAssertEqual(sliced.splitK, 3)
        XCTAssertEqual(sliced.launches.map(\.kernel.name), ["conv_gemm", "conv_gemm_reduce"])
    }
}
