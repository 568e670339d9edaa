import Foundation
import TestSupport
import XCTest

@testable import OpenCLKit
@testable import SENetCore
@testable import SENetEngine
@testable import SENetImages

/// Preprocessing on the device: the same bits as the CPU's (which SENetImagesTests compares
/// with torchvision), and a decoded PNG's logits against PyTorch through both paths.
final class DevicePreprocessingTests: XCTestCase {
    func testDevicePreprocessingIsBitIdenticalToTheCPU() throws {
        let runtime = try openTestDevice()
        for item in try PreprocessingFixture.load().cases {
            let image = try ImageDecoder.decode(path: PreprocessingFixture.path(item.image))
            let settings = Preprocessing(resize: item.resize, crop: item.crop)
            let count = 3 * item.crop * item.crop
            let output = try runtime.buffer(floats: 2 * count)
            try DevicePreprocessing.enqueue(image, settings, runtime: runtime, output: output, offset: count)
            let device = try runtime.download(output, shape: [2 * count])
            XCTAssertEqual(Array(device.data[count...]), try Reference.preprocess(image, settings).data, item.image)
        }
    }

    func testLogitsOfA224PNGMatchPyTorch() throws {
        let square = try PreprocessingFixture.load().square
        let image = try ImageDecoder.decode(path: PreprocessingFixture.path(square.image))
        let expected = try NumpyFile.read(path: PreprocessingFixture.path(square.logits))
        let model = try SyntheticWeights.model(Architecture(modelName: square.model)!, seed: square.weightSeed)
        let settings = Preprocessing(resize: 224, crop: 224)  // ToTensor + Normalize only.
        for runtime in [nil, try openTestDevice()] {
            let output = try InferenceEngine(model: model, runtime: runtime).classify([image, image], preprocessing: settings)
            let first = Tensor(shape: [1, expected.shape[1]], data: Array(output.logits.data.prefix(expected.count)))
            assertClose(first, expected, tolerance: 1e-4, runtime == nil ? "cpu" : "device")
        }
    }
}
