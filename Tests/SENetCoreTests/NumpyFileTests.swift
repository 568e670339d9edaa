import CoreTestSupport
import Foundation
import XCTest

@testable import SENetCore

final class NumpyFileTests: XCTestCase {
    // MARK: Files written by numpy

    func testReadsNumpyWrittenFixture() throws {
        let tensor = try NumpyFile.read(path: ModelFixture.directory.appendingPathComponent("input_1x3x32x40.npy").path)
        XCTAssertEqual(tensor, SyntheticWeights.input(shape: [1, 3, 32, 40], seed: 41))
    }

    /// tools/make_npy_fixtures.py writes the same values C order little-endian (`c_`), big-endian
    /// (`be_`), Fortran order (`f_`) and both (`fbe_`); every layout must read as the C file, bit for bit.
    func testBigEndianAndFortranFixturesReadAsTheCOrderFile() throws {
        let layouts: [(String, [String])] = [
            ("scalar", ["be"]), ("5", ["be"]), ("2x3", ["be", "f", "fbe"]), ("2x3x4", ["be", "f", "fbe"]),
            ("2x3x4x5", ["be", "f", "fbe"]),
        ]
        for (shape, prefixes) in layouts {
            let reference = try NumpyFile.read(path: npyFixture("c_\(shape)"))
            XCTAssertEqual(reference.shape, shape == "scalar" ? [] : shape.split(separator: "x").map { Int($0)! })
            for prefix in prefixes {
                let path = npyFixture("\(prefix)_\(shape)")
                let header = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)).prefix(128), as: UTF8.self)
                XCTAssertEqual(header.contains("'>f4'"), prefix.hasSuffix("be"), "\(path) has the byte order its name says")
                XCTAssertEqual(header.contains("True"), prefix.hasPrefix("f"), "\(path) has the order its name says")
                let tensor = try NumpyFile.read(path: path)
                XCTAssertEqual(tensor.shape, reference.shape, path)
                XCTAssertEqual(tensor.data.map(\.bitPattern), reference.data.map(\.bitPattern), path)
            }
        }
    }

    // MARK: Hand-made headers

    func testFortranOrderIsTransposedForEveryRank() throws {
        let values = (0..<24).map(Float.init)
        func read(_ shape: String, _ count: Int, descr: String = "<f4") throws -> [Float] {
            let header = "{'descr': '\(descr)', 'fortran_order': True, 'shape': \(shape), }"
            let payload = values.prefix(count).flatMap { value in
                descr == ">f4"
                    ? withUnsafeBytes(of: value.bitPattern.bigEndian, Array.init)
                    : withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
            }
            return try NumpyFile.read(data: npy(header, payload: Data(payload)), path: "f.npy").data
        }
        XCTAssertEqual(try read("()", 1), [0])
        XCTAssertEqual(try read("(4,)", 4), [0, 1, 2, 3])
        XCTAssertEqual(try read("(0, 3)", 0), [])
        XCTAssertEqual(try read("(2, 3)", 6), [0, 2, 4, 1, 3, 5])
        XCTAssertEqual(try read("(2, 3)", 6, descr: ">f4"), [0, 2, 4, 1, 3, 5])
        XCTAssertEqual(try read("(3, 1)", 3), [0, 1, 2])
        // Element (i, j, k) of a Fortran (2, 3, 4) array is stored at i + 2 j + 6 k.
        var expected: [Float] = []
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { expected.append(Float(i + 2 * j + 6 * k)) } } }
        XCTAssertEqual(try read("(2, 3, 4)", 24), expected)
        XCTAssertEqual(try read("(1, 2, 3, 4)", 24), expected)
    }

    // MARK: Writing

    func testRoundTripIsExactAndAtomic() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("y.npy").path
        for shape in [[2, 1000], [7], [1, 3, 5, 4]] {
            let tensor = Tensor.random(shape: shape, seed: 5)
            try NumpyFile.write(tensor, path: path)
            XCTAssertEqual(try NumpyFile.read(path: path), tensor)
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertEqual((data.count - tensor.count * 4) % 64, 0, "data is 64-byte aligned as numpy writes it")
            let header = String(decoding: data.prefix(data.count - tensor.count * 4), as: UTF8.self)
            XCTAssertTrue(header.contains("'descr': '<f4', 'fortran_order': False"), "written little-endian C order: \(header)")
        }
    }

    // MARK: Refusals

    func testRejectsWrongDTypeOrderAndSize() throws {
        let cases: [(String, Int, String)] = [
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16, "dtype <f8 is not float32"),
            ("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", 16, "dtype >f8 is not float32"),
            ("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 2), }", 16, "dtype <i4 is not float32"),
            ("{'descr': '<f4', 'fortran_order': 1, 'shape': (2, 2), }", 16, "fortran_order is neither True nor False"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8, "needs 12 bytes"),
            ("{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }", 20, "needs 24 bytes"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 4), }", 8, "invalid"),
            ("{'descr': '>f4', 'fortran_order': True, 'shape': (2147483647, 2147483647, 2147483647), }", 8, "more than"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }", 8, "invalid"),
        ]
        for (header, bytes, fragment) in cases {
            XCTAssertThrowsError(try NumpyFile.read(data: npy(header, payload: Data(count: bytes)), path: "x.npy")) { error in
                XCTAssertTrue("\(error)".contains(fragment), "«\(error)» lacks «\(fragment)»")
            }
        }
        let notNumpy = try temporaryDirectory(self).appendingPathComponent("x.npy")
        try Data("hello world".utf8).write(to: notNumpy)
        XCTAssertThrowsError(try NumpyFile.read(path: notNumpy.path)) { XCTAssertTrue("\($0)".contains("bad magic")) }
    }

    func testTruncatedOrPaddedBigEndianAndFortranFilesAreErrors() throws {
        for name in ["be_2x3x4", "f_2x3x4", "fbe_2x3x4x5", "be_scalar"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: npyFixture(name)))
            for broken in [data.dropLast(1), data.dropLast(4), data + Data([0])] {
                XCTAssertThrowsError(try NumpyFile.read(data: Data(broken), path: name)) { error in
                    XCTAssertTrue("\(error)".contains("bytes of data but the file has"), "\(name): \(error)")
                }
            }
        }
    }

    // MARK: Helpers

    /// The path of Tests/Fixtures/npy/`name`.npy.
    private func npyFixture(_ name: String) -> String {
        ModelFixture.directory.appendingPathComponent("npy").appendingPathComponent("\(name).npy").path
    }

    /// A version 1.0 `.npy` file with `header` and then `payload`.
    private func npy(_ header: String, payload: Data) -> Data {
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0])
        data.append(Data(header.utf8))
        data.append(payload)
        return data
    }
}
