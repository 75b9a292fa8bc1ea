import Foundation
import SeedEngine
import SeedModel

/// `--draft MODEL[:N]`: a draft model of the pool and how many requests it may serve at once.
/// `--draft lookup[:MIN-MAX]` adds the lookup source instead (see `lookup(_:)`).
struct DraftSpec: Equatable {
    static let maxInstances = 256

    let path: String
    let instances: Int

    /// The option as `generate` and `bench speculative` both declare it.
    static let option = OptionSpec("draft", .repeated(placeholder: "model[:n]|lookup"), help: """
      A draft model for speculative decoding; ':N' gives it N instances (N requests drafted at \
      once; a bare path is 1); several make a pool. Drafts must share the \
      target's vocabulary (e.g. models/seedflow-demo-draft-s.gguf, models/seedflow-demo-draft-m.gguf). \
      'lookup' adds drafts copied from text already seen instead of a model: where the last \
      2 to 5 tokens occurred before in the prompt, the output so far or the output of a request \
      of the same group (a workflow's tree level), the tokens that followed are proposed; \
      'lookup:MIN-MAX' sets the n-gram lengths (1 to 16). It needs no second model and mixes \
      with model drafts (each request takes, each round, the source expected to advance it most).
      """)

    /// The `--draft lookup[:MIN-MAX]` value of a command line, nil when none is given.
    static func lookup(_ arguments: ParsedArguments) throws -> LookupConfiguration? {
        let given = arguments.strings(option.name).filter(isLookup)
        guard let text = given.first else { return nil }
        if given.count > 1 { throw arguments.error("option '--draft lookup' is given \(given.count) times — give it once") }
        guard text != "lookup" else { return LookupConfiguration() }
        let range = LookupConfiguration.ngramRange
        let bounds = text.dropFirst("lookup:".count).split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard bounds.count == 2, let lo = bounds[0], let hi = bounds[1], range.contains(lo), range.contains(hi), lo <= hi else {
            throw arguments.error("option '--draft' expects lookup or lookup:MIN-MAX with \(range.lowerBound) ≤ MIN ≤ MAX ≤ \(range.upperBound) n-gram lengths (e.g. lookup:2-5), got '\(text)'")
        }
        return LookupConfiguration(minNgram: lo, maxNgram: hi)
    }

    /// 'lookup' or 'lookup:…' (a model file of that name is given as './lookup').
    private static func isLookup(_ text: String) -> Bool { text == "lookup" || text.hasPrefix("lookup:") }

    /// The `--draft` values of a command line. A path may contain ':' itself: only a last ':'
    /// followed by digits is read as the instance count.
    static func all(_ arguments: ParsedArguments) throws -> [DraftSpec] {
        try arguments.strings(option.name).filter { !isLookup($0) }.map { text in
            func refuse(_ why: String) -> UsageError {
                arguments.error("option '--draft' expects MODEL or MODEL:N, \(why), got '\(text)'")
            }
            guard let colon = text.lastIndex(of: ":") else { return DraftSpec(path: text, instances: 1) }
            let path = String(text[..<colon]), suffix = text[text.index(after: colon)...]
            if !suffix.isEmpty && suffix.allSatisfy({ $0.isASCII && $0.isNumber }) {
                guard !path.isEmpty else { throw refuse("with a model path before ':'") }
                guard let n = Int(suffix), (1...maxInstances).contains(n) else {
                    throw refuse("with N instances from 1 to \(maxInstances)")
                }
                return DraftSpec(path: path, instances: n)
            }
            // 'model.gguf:x' or 'model.gguf:': a typo for ':N' unless a file has that very name.
            if !suffix.contains("/") && !FileManager.default.fileExists(atPath: text) {
                throw refuse("where N is a positive number of instances")
            }
            return DraftSpec(path: text, instances: 1)
        }
    }
}

/// `--draft-confidence P`, as `generate` and `bench speculative` both declare it.
enum DraftConfidence {
    static let option = OptionSpec("draft-confidence", .value(placeholder: "p"), help: """
      A draft stops proposing for a request, until the next round, after a token it gave less \
      than this probability (such tokens are the ones the target tends to reject); 0 to 1, and \
      0 always drafts all k tokens, as the SeeD paper does. The output's distribution is the \
      target's either way.
      """, default: "\(EngineConfiguration.defaultDraftConfidence)")

    static func value(_ arguments: ParsedArguments) throws -> Float {
        try arguments.float(option.name, default: EngineConfiguration.defaultDraftConfidence,
                            valid: { (0...1).contains($0) }, expected: "a probability from 0 to 1")
    }
}

/// The target and the drafts of a speculative run, loaded on one thread pool so that they take
/// turns on the same cores instead of competing for them.
struct LoadedModels {
    let target: any LanguageModel
    let drafts: [DraftModel]

    init(targetPath: String, drafts specs: [DraftSpec], threads: Int) throws {
        for path in [targetPath] + specs.map(\.path) { try InputFiles.checkModelExists(path) }
        let pool = ThreadPool(threads: threads)
        target = try loadLanguageModel(file: GGUFFile(path: targetPath), pool: pool)
        drafts = try specs.map { spec in
            DraftModel(model: try loadLanguageModel(file: GGUFFile(path: spec.path), pool: pool),
                       instances: spec.instances)
        }
    }
}
