import Foundation
import SENetCore

/// A network built to overflow half in one layer: the legacy SE-ResNet-18 fixture with
/// layer1.0's first BatchNorm scaled up by `scale` (so layer1.0.conv1's output passes 65504) and
/// layer1.0.conv2's weights scaled down by as much (so the fp32 network computes the same
/// function, up to rounding). Plain fp16 stores that output as infinity; mixed precision keeps
/// the layer and its reader in fp32.
public enum OverflowFixture {
    public static let scale: Float = 1e5
    public static let fixture = "legacy18_67x83"
    /// The layers that must stay fp32: the one that overflows and the one that reads it.
    public static let overflowing = "layer1.0.conv1"
    public static let reader = "layer1.0.conv2"

    /// Writes the weights as safetensors to `path`.
    public static func write(to path: String) throws {
        let fixture = try ModelFixture.load(Self.fixture)
        var parameters = SyntheticWeights.parameters(for: fixture.architecture, seed: fixture.weightSeed)
        for key in ["layer1.0.bn1.weight", "layer1.0.bn1.bias"] {
            parameters[key] = Tensor(shape: parameters[key]!.shape, data: parameters[key]!.data.map { $0 * scale })
        }
        let down = parameters["layer1.0.conv2.weight"]!
        parameters["layer1.0.conv2.weight"] = Tensor(shape: down.shape, data: down.data.map { $0 / scale })
        let floats = fixture.stateDict.filter { $0.dtype != "I64" }.map { (name: $0.key, tensor: parameters[$0.key]!) }
        try SafeTensorsWriter.write(floats, metadata: ["family": fixture.family.rawValue], to: path)
    }
}
