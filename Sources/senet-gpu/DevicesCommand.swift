import ArgumentParser
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "List every OpenCL device on this host, numbered for --device.")

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Entry: Encodable {
        let index: Int
        let platform, name: String
        let type: CLDeviceType
        let vendor, driverVersion, deviceVersion, openCLCVersion: String
        let computeUnits, clockMHz, maxWorkGroupSize: Int
        let globalMemoryBytes, localMemoryBytes, maxAllocationBytes: UInt64
        let fp16, fp64: Bool
    }

    func run() throws {
        let devices: [CLDevice]
        do {
            devices = try CLDevice.all()
            if devices.isEmpty { throw EngineError.noOpenCLPlatform }
        } catch { throw SENetGPUCommand.fail(error) }

        let entries = devices.map {
            Entry(
                index: $0.index, platform: $0.platformName, name: $0.name, type: $0.type, vendor: $0.vendor,
                driverVersion: $0.driverVersion, deviceVersion: $0.deviceVersion, openCLCVersion: $0.openCLCVersion,
                computeUnits: $0.computeUnits, clockMHz: $0.clockMHz, maxWorkGroupSize: $0.maxWorkGroupSize,
                globalMemoryBytes: $0.globalMemoryBytes, localMemoryBytes: $0.localMemoryBytes,
                maxAllocationBytes: $0.maxAllocationBytes, fp16: $0.supportsFP16, fp64: $0.supportsFP64)
        }
        if json { return try printJSON(entries) }
        for entry in entries {
            print("[\(entry.index)] \(entry.name)")
            print("    platform:        \(entry.platform)")
            print("    type:            \(entry.type), vendor \(entry.vendor)")
            print("    driver:          \(entry.driverVersion) (\(entry.deviceVersion), \(entry.openCLCVersion))")
            print("    compute units:   \(entry.computeUnits) at \(entry.clockMHz) MHz")
            print(
                "    memory:          \(mib(entry.globalMemoryBytes)) global, \(kib(entry.localMemoryBytes)) local, "
                    + "\(mib(entry.maxAllocationBytes)) max allocation")
            print("    work-group size: \(entry.maxWorkGroupSize) max")
            print("    fp16 / fp64:     \(entry.fp16 ? "yes" : "no") / \(entry.fp64 ? "yes" : "no")")
        }
    }

    private func mib(_ bytes: UInt64) -> String { "\(bytes / (1 << 20)) MiB" }
    private func kib(_ bytes: UInt64) -> String { "\(bytes / (1 << 10)) KiB" }
}
