import Foundation
import TestSupport
import XCTest

@testable import OpenCLKit
@testable import SENetCore
@testable import SENetEngine
@testable import SENetImages

final class NumpyFileTests: XCTestCase {
    func testReadsNumpyWrittenFixture() throws {
        let tensor = try NumpyFile.read(path: ModelFixture.directory.appendingPathComponent("input_1x3x32x40.npy").path)
        XCTAssertEqual(tensor, SyntheticWeights.input(shape: [1, 3, 32, 40], seed: 41))
    }

    func testRoundTripIsExactAndAtomic() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("y.npy").path
        for shape in [[2, 1000], [7], [1, 3, 5, 4]] {
            let tensor = Tensor.random(shape: shape, seed: 5)
            try NumpyFile.write(tensor, path: path)
            XCTAssertEqual(try NumpyFile.read(path: path), tensor)
            let header = try Data(contentsOf: URL(fileURLWithPath: path)).count - tensor.count * 4
            XCTAssertEqual(header % 64, 0, "data is 64-byte aligned as numpy writes it")
        }
    }

    func testRejectsWrongDTypeOrderAndSize() throws {
        let directory = try temporaryDirectory(self)
        func npy(_ header: String, dataBytes: Int) throws -> String {
            let path = directory.appendingPathComponent("\(UUID()).npy").path
            var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0])
            data.append(Data(header.utf8))
            data.append(Data(count: dataBytes))
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }
        let cases: [(String, Int, String)] = [
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16, "dtype <f8 is not float32"),
            ("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "dtype >f4"),
            ("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "Fortran-order"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8, "needs 12 bytes"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 4), }", 8, "invalid"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }", 8, "invalid"),
        ]
        for (header, bytes, fragment) in cases {
            XCTAssertThrowsError(try NumpyFile.read(path: try npy(header, dataBytes: bytes))) { error in
                XCTAssertTrue("\(error)".contains(fragment), "«\(error)» lacks «\(fragment)»")
            }
        }
        let notNumpy = directory.appendingPathComponent("x.npy")
        try Data("hello world".utf8).write(to: notNumpy)
        XCTAssertThrowsError(try NumpyFile.read(path: notNumpy.path)) { XCTAssertTrue("\($0)".contains("bad magic")) }
    }
}
