import CoreTestSupport
import Foundation
import XCTest

@testable import SENetCore
@testable import SENetImages

/// Preprocessing on the CPU against torchvision (Resize with PIL bilinear, CenterCrop,
/// ToTensor, Normalize). The device's copy is compared with this one in SENetEngineTests.
final class PreprocessingTests: XCTestCase {
    func testCPUPreprocessingMatchesTorchvision() throws {
        for item in try PreprocessingFixture.load().cases {
            let image = try ImageDecoder.decode(path: PreprocessingFixture.path(item.image))
            let settings = Preprocessing(resize: item.resize, crop: item.crop)
            let expected = try NumpyFile.read(path: PreprocessingFixture.path(item.expected))
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
}
