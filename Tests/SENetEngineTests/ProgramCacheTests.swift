import Foundation
import TestSupport
import XCTest

@testable import OpenCLKit
@testable import SENetCore
@testable import SENetEngine
@testable import SENetImages

final class ProgramCacheTests: XCTestCase {
    // MARK: - Disk cache

    func testSecondRuntimeLoadsProgramsFromDisk() throws {
        let directory = try temporaryDirectory(self)
        let first = try openTestDevice(cacheDirectory: directory, storeProgramBinaries: true)
        _ = try first.kernel("channel_scale_add_relu", file: "scale.cl")
        XCTAssertEqual(first.programs.statistics.compiledFromSource, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).count, 1)

        let second = try openTestDevice(cacheDirectory: directory, storeProgramBinaries: true)
        XCTAssertTrue(try KernelSelfCheck.scaleAddReLU(on: second, shape: [2, 5, 3, 3], inPlace: false, seed: 1).passed)
        XCTAssertEqual(second.programs.statistics.loadedFromDisk, 1)
        XCTAssertEqual(second.programs.statistics.compiledFromSource, 0)
    }

    func testDifferentDefinesAreDifferentEntries() throws {
        let directory = try temporaryDirectory(self)
        let runtime = try openTestDevice(cacheDirectory: directory, storeProgramBinaries: true)
        _ = try runtime.programs.program(file: "conv_tiled.cl", defines: ["TM": "4", "TN": "4"])
        _ = try runtime.programs.program(file: "conv_tiled.cl", defines: ["TM": "4", "TN": "8"])
        _ = try runtime.programs.program(file: "conv_tiled.cl", defines: ["TM": "4", "TN": "8"])
        XCTAssertEqual(runtime.programs.statistics.compiledFromSource, 2, "the repeat is a memory hit")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).count, 2)
    }

    func testCorruptOrTruncatedBinaryIsAMissAndIsRebuilt() throws {
        let directory = try temporaryDirectory(self)
        _ = try openTestDevice(cacheDirectory: directory, storeProgramBinaries: true).kernel(
            "channel_scale_add_relu", file: "scale.cl")
        let file = directory.appendingPathComponent(try FileManager.default.contentsOfDirectory(atPath: directory.path)[0])
        let original = try Data(contentsOf: file)
        XCTAssertNotNil(ProgramCache.readVerified(file))

        for damaged in [original.prefix(original.count / 2), Data("garbage".utf8), Data()] {
            try damaged.write(to: file)
            let runtime = try openTestDevice(cacheDirectory: directory, storeProgramBinaries: true)
            XCTAssertTrue(try KernelSelfCheck.scaleAddReLU(on: runtime, shape: [1, 3, 4, 4], inPlace: true, seed: 2).passed)
            XCTAssertEqual(runtime.programs.statistics.compiledFromSource, 1)
            XCTAssertEqual(runtime.programs.statistics.loadedFromDisk, 0)
            XCTAssertNotNil(ProgramCache.readVerified(file), "the rebuilt binary replaced the damaged file")
        }
    }

    func testPoCLKeepsItsOwnCacheAndOthersGetOurs() throws {
        let directory = try temporaryDirectory(self)
        for device in try testDevices() {
            let runtime = try DeviceRuntime(device: device, sources: KernelSources(), cacheDirectory: directory)
            let pocl = device.platformName.contains("Portable Computing Language")
            XCTAssertEqual(runtime.programs.storesBinaries, !pocl, "\(device)")
            let before = try FileManager.default.contentsOfDirectory(atPath: directory.path).count
            _ = try runtime.kernel("channel_scale_add_relu", file: "scale.cl")
            let after = try FileManager.default.contentsOfDirectory(atPath: directory.path).count
            XCTAssertEqual(after - before, pocl ? 0 : 1, "\(device): a binary is written unless the driver caches")
        }
    }

    func testVectorABINotesAreDroppedFromBuildLogsAndNothingElse() {
        // PoCL's log on an AVX2 host for a kernel on float16 vectors (paths shortened).
        let note =
            "warning: /tmp/k.cl:43:21 <Spelling=_builtin_renames.h:90:24>: AVX vector argument of type '__private float16' "
            + "(vector of 16 'float' values) without 'avx512f' enabled changes the ABI"
        let other = "warning: /tmp/k.cl:7:5: unused variable 'x'"
        XCTAssertEqual(ProgramCache.withoutVectorABINotes([note, note].joined(separator: "\n")), "")
        XCTAssertEqual(ProgramCache.withoutVectorABINotes([note, "2 warnings generated."].joined(separator: "\n")), "")
        XCTAssertEqual(ProgramCache.withoutVectorABINotes([note, other, note].joined(separator: "\n")), other)
        XCTAssertEqual(ProgramCache.withoutVectorABINotes(other), other)
    }

    func testCacheDirectoryFollowsEnvironment() {
        XCTAssertNil(ProgramCache.defaultDirectory(environment: ["SENET_GPU_CACHE": "off", "HOME": "/h"]))
        XCTAssertEqual(
            ProgramCache.defaultDirectory(environment: ["XDG_CACHE_HOME": "/x/cache"])?.path, "/x/cache/senet-gpu/programs")
    }

    // MARK: - Kernel sources

    func testBrokenKernelSourceReportsBuildLog() throws {
        let directory = try temporaryDirectory(self)
        try "__kernel void channel_scale_add_relu(__global float* x) { this is not C; }"
            .write(to: directory.appendingPathComponent("scale.cl"), atomically: true, encoding: .utf8)
        let runtime = try openTestDevice(sources: KernelSources(overrideDirectory: directory.path))
        XCTAssertThrowsError(try runtime.programs.program(file: "scale.cl")) { error in
            guard case EngineError.kernelBuildFailed(let source, _, let log) = error else {
                return XCTFail("expected kernelBuildFailed, got \(error)")
            }
            XCTAssertEqual(source, "scale.cl")
            XCTAssertTrue(log.contains("error"), "build log: \(log)")
            XCTAssertTrue("\(error)".contains("Build log"))
        }
    }

    func testMissingKernelSourceListsEveryPlaceSearched() throws {
        let directory = try temporaryDirectory(self)
        let sources = KernelSources(overrideDirectory: directory.path)
        XCTAssertThrowsError(try sources.source(named: "winograd.cl")) { error in
            guard case EngineError.kernelSourceNotFound(let name, let searched) = error else {
                return XCTFail("expected kernelSourceNotFound, got \(error)")
            }
            XCTAssertEqual(name, "winograd.cl")
            XCTAssertEqual(searched.count, 2)
            XCTAssertEqual(searched[0], directory.appendingPathComponent("winograd.cl").path)
            XCTAssertTrue(searched[1].contains("embedded"))
        }
    }

    func testOverrideDirectoryWinsOverEmbeddedSource() throws {
        let directory = try temporaryDirectory(self)
        try "// override".write(to: directory.appendingPathComponent("scale.cl"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try KernelSources(overrideDirectory: directory.path).source(named: "scale.cl"), "// override")
        XCTAssertTrue(try KernelSources().source(named: "scale.cl").contains("channel_scale_add_relu"))
    }

    func testEveryKernelFileIsEmbedded() throws {
        let kernels = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Kernels")
        let files = try FileManager.default.contentsOfDirectory(atPath: kernels.path).filter { $0.hasSuffix(".cl") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 5)
        XCTAssertEqual(KernelSources.embeddedNames, files)
        for file in files {
            XCTAssertEqual(
                try KernelSources().source(named: file),
                try String(contentsOf: kernels.appendingPathComponent(file), encoding: .utf8))
        }
    }
}
