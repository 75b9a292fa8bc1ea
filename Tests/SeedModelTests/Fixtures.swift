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

    /// Model files by fixture key; the bench target only when it is present.
    static var modelPaths: [(key: String, path: String)] {
        var out = [("target", TestPaths.target), ("draft-m", TestPaths.draftM), ("draft-s", TestPaths.draftS)]
        if let bench = TestPaths.benchTarget { out.append(("target-l", bench)) }
        return out
    }
}
