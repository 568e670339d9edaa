import Foundation
import TestSupport
import XCTest

@testable import OpenCLKit
@testable import SENetCore
@testable import SENetEngine
@testable import SENetImages

/// Preprocessing against torchvision (Resize with PIL bilinear, CenterCrop, ToTensor,
/// Normalize), on the CPU and on the device.
final class PreprocessingTests: XCTestCase {
    struct Cases: Decodable {
        struct Case: Decodable {
            let image: String
            let resize, crop: Int
            let expected: String
        }
        struct Square: Decodable {
            let image, model, logits: String
            let weightSeed: UInt64
        }
        let cases: [Case]
        let square: Square
    }

    static var directory: URL { ModelFixture.directory.appendingPathComponent("preprocess") }

    func loadCases() throws -> Cases {
        try JSONDecoder().decode(Cases.self, from: Data(contentsOf: Self.directory.appendingPathComponent("cases.json")))
    }

    // MARK: - CPU

    func testCPUPreprocessingMatchesTorchvision() throws {
        for item in try loadCases().cases {
            let image = try ImageDecoder.decode(path: Self.directory.appendingPathComponent(item.image).path)
            let settings = Preprocessing(resize: item.resize, crop: item.crop)
            let expected = try NumpyFile.read(path: Self.directory.appendingPathComponent(item.expected).path)
            let actual = try Reference.preprocess(image, settings)
            XCTAssertEqual(actual.shape, expected.shape)
            // Same integer resampling as PIL, then the same float ops: at most one rounding apart.
            assertClose(actual, expected, tolerance: 1e-6, "\(item.image) r\(item.resize) c\(item.crop)")
        }
    }

    func testResizeSizesAndCropFollowTorchvision() {
        let p = Preprocessing()
        XCTAssertTrue(p.resizedSize(width: 300, height: 200) == (384, 256))
        XCTAssertTrue(p.resizedSize(width: 97, height: 131) == (256, 345))
        XCTAssertTrue(p.cropOrigin(width: 384, height: 256) == (80, 16))
        XCTAssertThrowsError(try Preprocessing(resize: 100, crop: 224).validate(width: 300, height: 200))
        XCTAssertThrowsError(try Preprocessing(std: [1, 0, 1]).validate(width: 300, height: 300))
    }

    // MARK: - Device

    func testDevicePreprocessingIsBitIdenticalToTheCPU() throws {
        let runtime = try openTestDevice()
        for item in try loadCases().cases {
            let image = try ImageDecoder.decode(path: Self.directory.appendingPathComponent(item.image).path)
            let settings = Preprocessing(resize: item.resize, crop: item.crop)
            let count = 3 * item.crop * item.crop
            let output = try runtime.buffer(floats: 2 * count)
            try DevicePreprocessing.enqueue(image, settings, runtime: runtime, output: output, offset: count)
            let device = try runtime.download(output, shape: [2 * count])
            XCTAssertEqual(Array(device.data[count...]), try Reference.preprocess(image, settings).data, item.image)
        }
    }

    func testLogitsOfA224PNGMatchPyTorch() throws {
        let cases = try loadCases()
        let image = try ImageDecoder.decode(path: Self.directory.appendingPathComponent(cases.square.image).path)
        let expected = try NumpyFile.read(path: Self.directory.appendingPathComponent(cases.square.logits).path)
        let model = try SyntheticWeights.model(Architecture(modelName: cases.square.model)!, seed: cases.square.weightSeed)
        let settings = Preprocessing(resize: 224, crop: 224)  // ToTensor + Normalize only.
        for runtime in [nil, try openTestDevice()] {
            let output = try InferenceEngine(model: model, runtime: runtime).classify([image, image], preprocessing: settings)
            let first = Tensor(shape: [1, expected.shape[1]], data: Array(output.logits.data.prefix(expected.count)))
            assertClose(first, expected, tolerance: 1e-4, runtime == nil ? "cpu" : "device")
        }
    }
}
