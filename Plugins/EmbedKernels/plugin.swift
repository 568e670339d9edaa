import Foundation
import PackagePlugin

/// Embeds the package's Kernels/*.cl into the target as `EmbeddedKernels.sources`.
@main
struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let kernelsDirectory = context.package.directoryURL.appending(path: "Kernels")
        let names = try FileManager.default.contentsOfDirectory(atPath: kernelsDirectory.path)
        let sources = names.filter { $0.hasSuffix(".cl") }.sorted().map {
            kernelsDirectory.appending(path: $0)
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedKernels.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(sources.count) OpenCL kernel sources",
                executable: try context.tool(named: "embed-kernels").url,
                arguments: [output.path] + sources.map(\.path),
                inputFiles: sources,
                outputFiles: [output]
            )
        ]
    }
}
