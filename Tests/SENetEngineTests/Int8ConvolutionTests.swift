import OpenCLKit
import SENetCore
import TestSupport
import XCTest

@testable import SENetEngine

/// The int8 kernels against the int8 graph's reference on every device, each algorithm the
/// device can run (`KernelSelfCheck.int8`, which `selfcheck` runs too): awkward shapes, exact
/// integer sums, and quantization's rounding.
final class Int8ConvolutionTests: XCTestCase {
    func testEveryAlgorithmSumsExactlyWhatTheReferenceSums() throws {
        var ran: [String: Int] = [:]
        for runtime in try openTestDevices() {
            for result in try KernelSelfCheck.int8(on: runtime) {
                XCTAssertTrue(result.passed, "\(result.kernel) \(result.shape) on \(runtime.device): \(result.comparison)")
                ran[String(result.shape.split(separator: " ").last!), default: 0] += 1
            }
        }
        let geometries = KernelSelfCheck.int8Geometries.count
        XCTAssertEqual(ran["int8"], geometries * (try testDevices().count), "the plain kernel runs everywhere")
        let dotDevices = try testDevices().filter { $0.extensions.contains("cl_khr_integer_dot_product") }.count
        XCTAssertEqual(ran["int8-dot"] ?? 0, geometries * dotDevices, "the dot kernel runs where the extension is")
        print("int8 algorithms run: \(ran)")
    }

    /// Codes round half away from zero, as the reference does, and clamp at ±127.
    func testQuantizeRoundsHalvesAwayFromZeroAndClamps() throws {
        let expected = Quantize(name: "q", scale: 0.25, shape: [1, 1, 1, 4]).reference([
            Tensor(shape: [1, 1, 1, 4], data: [-6.375, 6.375, 1000, -1000])
        ])
        XCTAssertEqual(expected.data, [-26, 26, 127, -127], "±25.5 steps round away from zero")
        for runtime in try openTestDevices() {
            let result = try KernelSelfCheck.quantize(on: runtime, shape: [2, 6, 5, 3], seed: 40)
            XCTAssertTrue(result.passed, "\(runtime.device): \(result.comparison)")
        }
    }

    /// The dot-product algorithm is passed over, with why, on a device without the extension,
    /// and grouped layers whose groups are not whole words run on neither.
    func testSelectionSaysWhyAnAlgorithmWasPassedOver() throws {
        let g = KernelSelfCheck.int8Geometries[1]
        for runtime in try openTestDevices() {
            let (choice, passedOver) = Int8ConvAlgorithms.select(g, device: runtime.device)
            if runtime.device.extensions.contains("cl_khr_integer_dot_product") {
                XCTAssertEqual(choice?.algorithm.name, "int8-dot")
            } else {
                XCTAssertEqual(choice?.algorithm.name, "int8")
                XCTAssertEqual(passedOver, ["int8-dot: the device lacks cl_khr_integer_dot_product"])
            }
            let odd = ConvGeometry(batch: 1, inChannels: 12, height: 4, width: 4, outChannels: 6, kernel: 3, groups: 2)
            XCTAssertNil(Int8ConvAlgorithms.select(odd, device: runtime.device).choice)
        }
    }
}
