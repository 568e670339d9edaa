import CoreTestSupport
import Foundation
import XCTest

@testable import SENetCore

/// The CPU reference against PyTorch: every depth, all three families, non-224 and non-square
/// inputs, batch 2. Weights are the shared synthetic ones, rebuilt here from the seed and
/// passed through a safetensors file with PyTorch's exact key list.
/// Pass mark: max|ours − PyTorch| / max|PyTorch| ≤ 1e-4 on the logits.
final class ModelFixtureTests: XCTestCase {
    static let tolerance = ModelFixture.tolerance

    // MARK: - Key layout

    func testEveryFamilyAndDepthHasPyTorchsExactKeys() throws {
        let fixtures = try ModelFixture.all()
        XCTAssertTrue(Set(fixtures.map(\.depth)).isSuperset(of: [18, 34, 50, 101, 152]))
        XCTAssertEqual(Set(fixtures.map(\.family)), Set(ModelFamily.allCases))
        // Every named variant (everything in the catalog past the plain depths) has a fixture.
        let variants = Architecture.catalog.filter { $0 != Architecture(family: $0.family, depth: $0.depth) }
        XCTAssertEqual(variants.count, 14)
        XCTAssertEqual(Set(fixtures.compactMap(\.model)), Set(variants.map(\.modelName)))
        for fixture in fixtures {
            let ours = WeightLayout(fixture.architecture).parameters
            let theirs = fixture.stateDict.filter { $0.dtype != "I64" }
            XCTAssertEqual(ours.map(\.key), theirs.map(\.key), "\(fixture.name): key order")
            XCTAssertEqual(ours.map(\.shape), theirs.map(\.shape), "\(fixture.name): shapes")
            XCTAssertTrue(fixture.stateDict.filter { $0.dtype == "I64" }.allSatisfy { $0.key.hasSuffix("num_batches_tracked") })
        }
    }

    // MARK: - Logits against PyTorch

    func testReferenceMatchesPyTorchOnEveryFixture() throws {
        let directory = try temporaryDirectory(self)
        var worst: (Float, String) = (0, "")
        var worstByGroup: [String: (Float, String)] = [:]
        for fixture in try ModelFixture.all() {
            let path = directory.appendingPathComponent("\(fixture.name).safetensors").path
            try fixture.writeWeights(to: path)
            let model = try ModelLoader.load(path: path)
            XCTAssertEqual(model.architecture, fixture.architecture, "\(fixture.name): detected architecture")
            let start = Date()
            let logits = try Reference.forward(model, input: fixture.input)
            let seconds = Date().timeIntervalSince(start)
            assertClose(logits, fixture.expectedLogits, tolerance: Self.tolerance, fixture.name)
            let error = Comparison(actual: logits, expected: fixture.expectedLogits).relativeError
            if error > worst.0 { worst = (error, fixture.name) }
            if error > (worstByGroup[fixture.group]?.0 ?? -1) { worstByGroup[fixture.group] = (error, fixture.name) }
            print("fixture \(fixture.name): relative error \(error), reference \(String(format: "%.1f", seconds)) s")
        }
        for (group, value) in worstByGroup.sorted(by: { $0.key < $1.key }) {
            print("\(group): worst relative error vs PyTorch on the reference: \(value.0) (\(value.1))")
        }
        print("worst relative error vs PyTorch: \(worst.0) (\(worst.1))")
    }

    func testModelNameIsCheckedAgainstTheFile() throws {
        let fixture = try ModelFixture.load("classic34_48x40")
        let path = try temporaryDirectory(self).appendingPathComponent("w.safetensors").path
        try fixture.writeWeights(to: path)
        XCTAssertNoThrow(try ModelLoader.load(path: path, modelName: "senet34"))
        XCTAssertThrowsError(try ModelLoader.load(path: path, modelName: "seresnet34")) { error in
            XCTAssertTrue("\(error)".contains("model seresnet34 was asked for but \(path) holds senet34"), "\(error)")
        }
        XCTAssertThrowsError(try ModelLoader.load(path: path, modelName: "resnet34")) { error in
            XCTAssertTrue("\(error)".contains("unknown model 'resnet34'"), "\(error)")
        }
    }

    // MARK: - Synthetic weights match tools/synthetic.py

    func testGeneratorMatchesPythonSelfTest() {
        XCTAssertEqual(SyntheticWeights.fnv1a("conv1.weight"), 0x69a2_9a2c_ee47_d254)
        let conv1 = SyntheticWeights.tensor(key: "conv1.weight", shape: [64, 3, 7, 7], seed: 0)
        XCTAssertEqual(Array(conv1.data.prefix(4)).map(\.bitPattern), [0x3c53_0090, 0x3d8f_7462, 0xbe0b_945a, 0x3d8a_359e])
        let input = SyntheticWeights.input(shape: [1, 3, 2, 2], seed: 7)
        XCTAssertEqual(Array(input.data.prefix(4)).map(\.bitPattern), [0xbe61_a0f8, 0xbf77_6788, 0x3f4d_3080, 0x3e29_d758])
    }

    func testSEWidthRulesPerFamily() {
        XCTAssertEqual(Architecture(family: .timm, depth: 18)!.seWidths, [8, 8, 16, 32])
        XCTAssertEqual(Architecture(family: .legacy, depth: 18)!.seWidths, [4, 8, 16, 32])
        XCTAssertEqual(Architecture(family: .classic, depth: 50)!.seWidths, [16, 32, 64, 128])
        XCTAssertEqual(Architecture(modelName: "legacy_seresnet152")?.blocksPerStage, [3, 8, 36, 3])
        XCTAssertNil(Architecture(modelName: "seresnet77"))
    }

    func testVariantNamesRoundTripAndAliasesResolve() {
        for architecture in Architecture.catalog {
            XCTAssertEqual(Architecture(modelName: architecture.modelName), architecture, architecture.modelName)
        }
        XCTAssertEqual(Set(Architecture.modelNames).count, Architecture.catalog.count, "names are unique")
        XCTAssertEqual(Architecture(modelName: "se_resnext50_32x4d")?.modelName, "legacy_seresnext50_32x4d")
        XCTAssertEqual(Architecture(modelName: "se_resnet101")?.modelName, "legacy_seresnet101")
        XCTAssertTrue(Architecture(modelName: "legacy_senet154")!.answers(to: "senet154"))
        XCTAssertFalse(Architecture(modelName: "legacy_seresnext50_32x4d")!.answers(to: "seresnext50_32x4d"))
        let senet = Architecture(modelName: "senet154")!
        XCTAssertEqual(
            [senet.cardinality, senet.baseWidth, senet.reduceFirst, senet.shortcutKernel, senet.depth], [64, 4, 2, 3, 154])
    }

    func testMultiplyAccumulatesOfTheVariantsMatchPyTorch() throws {
        // Conv and Linear MACs of timm's models at 224×224, counted with forward hooks.
        for (name, expected) in [
            ("seresnext50_32x4d", 4.2330), ("legacy_senet154", 20.6884), ("seresnext26d_32x4d", 2.7117),
            ("seresnet152d", 11.7598),
        ] {
            let model = try SyntheticWeights.model(Architecture(modelName: name)!, seed: 0)
            let graph = try NetworkGraph(model: model, inputShape: [1, 3, 224, 224])
            let convAndLinear = graph.nodes.filter { $0.kind == Conv2d.kind || $0.kind == Linear.kind }.reduce(0) {
                $0 + $1.op.macs
            }
            XCTAssertEqual(Double(convAndLinear) / 1e9, expected, accuracy: 0.0005, name)
        }
    }

    func testMultiplyAccumulatesMatchTheGuide() throws {
        // GUIDE §3: 1.81 G (18), 4.09 G (50 v1.5), 3.86 G (50 v1) per 224×224 image.
        for (name, expected) in [("seresnet18", 1.81), ("seresnet50", 4.09), ("legacy_seresnet50", 3.86)] {
            let model = try SyntheticWeights.model(Architecture(modelName: name)!, seed: 0)
            XCTAssertEqual(Double(try model.macs(height: 224, width: 224)) / 1e9, expected, accuracy: 0.01, name)
        }
    }
}
