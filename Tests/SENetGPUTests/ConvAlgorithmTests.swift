import OpenCLKit
import SENetCore
import SENetEngine
import TestSupport
import XCTest

/// `ConvAlgorithms.select`: which algorithm runs a geometry in each kernel family, with the
/// reasons for the ones passed over, and that plans record it.
final class ConvAlgorithmTests: XCTestCase {
    private let plain = ConvGeometry(batch: 1, inChannels: 64, height: 14, width: 14, outChannels: 64, kernel: 3, padding: 1)
    private let pointwise = ConvGeometry(batch: 1, inChannels: 64, height: 28, width: 28, outChannels: 128, kernel: 1)
    private let grouped = ConvGeometry(
        batch: 1, inChannels: 64, height: 14, width: 14, outChannels: 64, kernel: 3, padding: 1, groups: 32)

    func testEachFamilyPicksItsAlgorithmAndSaysWhyItPassedTheOthers() throws {
        let runtime = try openTestDevice()
        let gpu = LoweringContext(runtime: runtime, family: .gpu)
        XCTAssertEqual(ConvAlgorithms.select(plain, context: gpu).algorithm.name, "gemm-gpu")
        let groupedOnGPU = ConvAlgorithms.select(grouped, context: gpu)
        XCTAssertEqual(groupedOnGPU.algorithm.name, "tiled")
        XCTAssertEqual(groupedOnGPU.passedOver, ["gemm-gpu: it has no grouped form", "ocvec: it has no grouped form"])

        let cpu = LoweringContext(runtime: runtime, family: .cpu)
        for g in [plain, pointwise, grouped] {
            let choice = ConvAlgorithms.select(g, context: cpu)
            XCTAssertEqual(choice.passedOver.first, "gemm-gpu: the plan uses the CPU kernel family")
            // The tiling's kernel decides between the two CPU-family algorithms.
            guard case .cpu(let tiling) = choice.tiling else { return XCTFail("\(g): a GPU tiling in the CPU family") }
            XCTAssertEqual(choice.algorithm.name, tiling.kernel == .channelVector ? "ocvec" : "tiled", "\(g)")
        }
        if runtime.device.type == .cpu {
            // CPUs' defaults: the channel-vector kernel for 3×3, the pixel-vector GEMM for a 28×28 1×1.
            XCTAssertEqual(ConvAlgorithms.select(plain, context: cpu).algorithm.name, "ocvec")
            XCTAssertEqual(ConvAlgorithms.select(pointwise, context: cpu).algorithm.name, "tiled")
        }
    }

    func testPlansRecordTheAlgorithmOfEveryConvolution() throws {
        let runtime = try openTestDevice()
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 1)
        for family in [KernelFamily.cpu, .gpu] {
            var options = PlanOptions()
            options.kernelFamily = family
            let plan = try InferenceEngine(model: model, runtime: runtime, options: options).plan(for: [1, 3, 32, 32])
            XCTAssertEqual(plan.convolutionChoices.count, plan.convolutions)
            for choice in plan.convolutionChoices {
                switch choice.tiling {
                case .gpu: XCTAssertEqual(choice.algorithm, "gemm-gpu", choice.name)
                case .cpu(let tiling):
                    XCTAssertEqual(choice.algorithm, tiling.kernel == .channelVector ? "ocvec" : "tiled", choice.name)
                }
            }
            // `plan` prints each one on its convolution's row.
            let rows = plan.textDescription.split(separator: "\n")
            for choice in plan.convolutionChoices {
                let row = rows.first { $0.contains(" \(choice.name) ") } ?? ""
                XCTAssertTrue(
                    row.hasSuffix("  \(choice.algorithm) \(choice.tiling) (\(choice.tuned ? "tuned" : "default"))"),
                    "\(choice.name): \(row)")
            }
            XCTAssertTrue(
                plan.textDescription.contains("convolution tiles: \(plan.tunedConvolutions) of \(plan.convolutions) layers"),
                plan.textDescription)
            let algorithms = Set(plan.convolutionChoices.map(\.algorithm))
            XCTAssertEqual(algorithms.contains("gemm-gpu"), family == .gpu, "\(family): \(algorithms)")
        }
    }
}
