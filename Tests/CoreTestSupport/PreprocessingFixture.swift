import Foundation

/// Tests/Fixtures/preprocess/cases.json (made by tools/make_preprocess_fixtures.py): images with torchvision's
/// preprocessed tensors, and one square image with PyTorch's logits for a seeded model.
public struct PreprocessingFixture: Decodable {
    public struct Case: Decodable {
        public let image: String
        public let resize, crop: Int
        public let expected: String
    }
    public struct Square: Decodable {
        public let image, model, logits: String
        public let weightSeed: UInt64
    }
    public let cases: [Case]
    public let square: Square

    public static var directory: URL { ModelFixture.directory.appendingPathComponent("preprocess") }

    /// The path of a file named in cases.json.
    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    public static func load() throws -> PreprocessingFixture {
        try JSONDecoder().decode(Self.self, from: Data(contentsOf: directory.appendingPathComponent("cases.json")))
    }
}
