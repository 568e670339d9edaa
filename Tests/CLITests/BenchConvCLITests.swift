import Foundation
import TestSupport
import XCTest

/// `bench --conv`: single convolutions in interleaved rounds (the grouped-vs-ungrouped numbers
/// in BENCHMARKS.md), and its spec errors.
final class BenchConvCLITests: XCTestCase {
    func testTimesEachSpecWithItsWorkAndRatio() throws {
        try skipWithoutOpenCL()
        let result = try runCLI([
            "bench", "--device", "0", "--kernel-family", "cpu", "--rounds", "2", "--iterations", "2", "--conv",
            "64,64,3,1,14x14,16", "--conv", "16,16,3,2,15x13", "--conv", "16,16,3,1,12x12",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = result.stdout.split(separator: "\n").filter { $0.contains("MMAC") }
        XCTAssertEqual(rows.count, 3, result.stdout)
        // 64·(64/16)·9·14·14 = 451,584 MACs; 16·16·9·8·7 = 129,024 (stride 2, padding 1).
        XCTAssertTrue(rows[0].contains("0.45 MMAC") && rows[0].contains("1.00x"), result.stdout)
        XCTAssertTrue(rows[1].contains("0.13 MMAC"), result.stdout)
        // Each row runs what an untuned plan would, and names it; Winograd's three kernels get
        // their shares of the time (one profiled run per round).
        XCTAssertTrue(rows[0].contains(" tiled TM=") && rows[1].contains(" ocvec "), result.stdout)
        XCTAssertTrue(rows[2].contains(" winograd-f4 "), result.stdout)
        let split = try XCTUnwrap(rows[2].split(separator: "(").last, result.stdout)
        let shares = split.split(separator: ",").compactMap { Double($0.split(separator: " ").last!.filter { $0.isNumber }) }
        XCTAssertEqual(
            split.split(separator: ",").map { $0.split(separator: " ")[0] },
            ["winograd_input", "winograd_gemm", "winograd_output"])
        XCTAssertEqual(shares.count, 3, String(split))
        XCTAssertTrue(shares.allSatisfy { $0 > 0 } && shares.reduce(0, +) <= 110, String(split))
        let off = try runCLI([
            "bench", "--device", "0", "--kernel-family", "cpu", "--rounds", "1", "--iterations", "1", "--no-winograd", "--conv",
            "16,16,3,1,12x12",
        ])
        XCTAssertTrue(off.stdout.contains(" ocvec ") && !off.stdout.contains("winograd"), off.stdout)
    }

    func testBadSpecIsOneErrorLine() throws {
        for (spec, fragment) in [
            ("64,64,3", "is not IN,OUT,KERNEL,STRIDE,HxW[,GROUPS]"), ("64,60,3,1,8x8,16", "must divide into the groups"),
        ] {
            let result = try runCLI(["bench", "--device", "cpu", "--conv", spec])
            XCTAssertEqual(result.status, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(fragment), result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
    }
}
