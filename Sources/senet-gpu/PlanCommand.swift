import ArgumentParser
import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show where each layer runs, the transfers, buffers and memory, without running.")

    @OptionGroup var engineOptions: EngineOptions

    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        do {
            let (model, _) = try modelOptions.loadModel()
            let input = try modelOptions.loadInput()
            print(try engineOptions.engine(for: model).plan(for: input.shape).textDescription)
        } catch { throw SENetGPUCommand.fail(error) }
    }
}
