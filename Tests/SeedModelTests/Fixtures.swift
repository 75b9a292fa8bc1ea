import Foundation

/// The reference data of `Resources/fixtures-public.json` (see `Resources/FIXTURES.md`).
struct Fixtures: Decodable {
    struct TokenizerCase: Decodable {
        let text: String
        let ids: [Int]
    }
    struct Sequence: Decodable {
        let text: String
        let ids: [Int]
        let logits: [[Float]]
    }
    struct Greedy: Decodable {
        let prompt: String
        let prompt_ids: [Int]
        let greedy_ids: [Int]
        let top2_margins: [Float]
    }
    struct Model: Decodable {
        let sequences: [Sequence]
        let greedy: [Greedy]
    }
    let tokenizer: [TokenizerCase]
    let models: [String: Model]

    static let shared: Fixtures = {
        let url = TestPaths.resource("fixtures-public.json")
        do {
            return try JSONDecoder().decode(Fixtures.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot read \(url.path): \(error)")
        }
    }()

    /// The committed model files by fixture key. The bench target ("target-l") is not committed;
    /// tests of its fixtures find it with `TestPaths.benchTarget` and skip, saying so, without it.
    static var modelPaths: [(key: String, path: String)] {
        [("target", TestPaths.target), ("draft-m", TestPaths.draftM), ("draft-s", TestPaths.draftS)]
    }
}
