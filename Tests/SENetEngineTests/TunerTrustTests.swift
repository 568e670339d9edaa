import Foundation
import TestSupport
import XCTest

@testable import OpenCLKit
@testable import SENetCore
@testable import SENetEngine

/// What `tune` keeps can be trusted: wrong candidates are rejected, a tuned plan is checked
/// whole before it is saved, and a stored table that is stale or damaged never changes results.
final class TunerTrustTests: XCTestCase {
    /// The kernel sources with `conv_ocvec` leaving the last pixel of every block unwritten.
    func sourcesWithPartialChannelVectorKernel() throws -> KernelSources {
        let directory = try temporaryDirectory(self)
        for name in KernelSources.embeddedNames {
            var text = try KernelSources().source(named: name)
            if name == "conv_ocvec.cl" {
                let store = "if (q >= total) break;"
                XCTAssertTrue(text.contains(store), "the store loop changed; update this test")
                text = text.replacingOccurrences(of: store, with: "if (q >= total || j == NP - 1) break;")
            }
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return KernelSources(overrideDirectory: directory.path)
    }

    let geometry = ConvGeometry(batch: 1, inChannels: 8, height: 9, width: 9, outChannels: 32, kernel: 3, padding: 1)

    func testTunerRejectsATilingThatLeavesPartOfItsOutputUnwritten() throws {
        let runtime = try openTestDevice(sources: try sourcesWithPartialChannelVectorKernel())
        let partial = ConvTiling(vectors: 2, vectorWidth: 8, pixels: 4, localSize: 2)
        let correct = ConvTiling(channels: 8, pixels: 8, localSize: 8)
        // The correct candidate runs first and fills the shared output with right values; the
        // partial one after it must still be caught (the output is NaN again before each check).
        let result = try ConvTuner.search(
            geometry, runtime: runtime, candidates: [correct, partial], fallback: correct, repeats: 1
        ) {
            try TiledConvolution.make(
                runtime: runtime, geometry: self.geometry, tiling: $0, input: $1.input, weightT: $1.weightT, bias: $1.bias,
                output: $1.output, relu: false)
        }
        XCTAssertEqual(result.rejected, [partial])
        XCTAssertEqual(result.best, correct)

        // The tuner proper rejects every channel-vector candidate and keeps a correct one.
        let tuned = try ConvTuner.tune(geometry, runtime: runtime, repeats: 1)
        let channelVector = ConvTuner.candidates(for: runtime.device).filter { $0.kernel == .channelVector }
        XCTAssertEqual(Set(tuned.rejected), Set(channelVector))
        XCTAssertEqual(tuned.best.kernel, .pixelVector)
    }

    func testATunedNetworkThatComputesWrongIsNotSaved() throws {
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 7)
        let shape = [1, 3, 32, 32]
        let broken = try openTestDevice(sources: try sourcesWithPartialChannelVectorKernel())
        var table = try TuningTable(for: broken)
        for (_, g) in try NetworkGraph(model: model, inputShape: shape).convolutions {
            table.entries[ConvShapeKey(g)] = TunedConvolution(
                cpu: ConvTiling(vectors: 2, vectorWidth: 8, pixels: 4, localSize: 2))
        }
        XCTAssertThrowsError(try ConvTuner.verifyNetwork(model, inputShape: shape, runtime: broken, family: .cpu, table: table)) {
            guard case EngineError.tunedNetworkDisagrees(let error) = $0 else { return XCTFail("\($0)") }
            XCTAssertGreaterThan(error, 1e-4)
        }
        // The same tiles with the real kernels pass.
        let runtime = try openTestDevice()
        table.kernelsHash = try runtime.programs.sources.hash()
        let error = try ConvTuner.verifyNetwork(model, inputShape: shape, runtime: runtime, family: .cpu, table: table)
        XCTAssertLessThanOrEqual(error, 1e-4)
    }

    func testCorruptStoredEntriesFallBackToDefaultsAndInferenceStillMatches() throws {
        let directory = try temporaryDirectory(self)
        let runtime = try openTestDevice(cacheDirectory: directory.appendingPathComponent("programs"))
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 5)
        let shape = [2, 3, 40, 36]
        let convolutions = try NetworkGraph(model: model, inputShape: shape).convolutions
        var table = try TuningTable(for: runtime)
        let bad = [
            ConvTiling(channels: 3, pixels: 7), ConvTiling(vectors: 3, vectorWidth: 5, pixels: 40, localSize: 0),
            ConvTiling(channels: 16, pixels: 16, localSize: 1_000_000),
            ConvTiling(vectors: 3, vectorWidth: 16, pixels: 4, localSize: 2),
        ]
        for (index, (_, g)) in convolutions.enumerated() {
            table.entries[ConvShapeKey(g)] = TunedConvolution(cpu: bad[index % bad.count])
            table.entries[ConvShapeKey(g, family: .gpu)] = TunedConvolution(
                gpu: GPUConvTiling(tileM: 48, tileN: 0, tileK: 8, workM: 5, workN: 2))
        }
        let path = try XCTUnwrap(TuningTable.path(for: runtime.device, cacheDirectory: runtime.programs.directory))
        try table.save(to: path)

        let input = SyntheticWeights.input(shape: shape, seed: 6)
        let expected = try Reference.forward(model, input: input)
        for family in KernelFamily.allCases {
            var options = PlanOptions()
            options.kernelFamily = family
            let engine = InferenceEngine(model: model, runtime: runtime, options: options)
            XCTAssertEqual(engine.tuning?.entries.count, 0, "every entry of both families is dropped")
            XCTAssertEqual(engine.tuningWarnings.count, 2 * Set(convolutions.map { ConvShapeKey($0.geometry) }).count)
            XCTAssertTrue(
                engine.tuningWarnings.allSatisfy { $0.contains("is not valid on this device") }, "\(engine.tuningWarnings)")
            assertClose(try engine.run(input).logits, expected, tolerance: 1e-4)
        }

        // A table made with other kernel sources is ignored whole, with a warning.
        table.kernelsHash = "0123456789abcdef"
        try table.save(to: path)
        let stale = InferenceEngine(model: model, runtime: runtime)
        XCTAssertNil(stale.tuning)
        XCTAssertTrue(stale.tuningWarnings.first?.contains("made with other kernel sources") == true, "\(stale.tuningWarnings)")
        assertClose(try stale.run(input).logits, expected, tolerance: 1e-4)
    }
}
