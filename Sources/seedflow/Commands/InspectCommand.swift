import SeedEngine
import SeedModel

/// `seedflow inspect MODEL.gguf`: what a model file holds, read from its metadata and tensor table
/// alone — no weights are loaded, so it works on any architecture and on vocabulary-only files.
struct InspectCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "inspect",
            abstract: "Show a GGUF model's architecture, sizes, tokenizer, tensor types and memory.",
            discussion: """
              Reads only the header: nothing is computed, so any GGUF file works, including files \
              that hold only a vocabulary. Sizes missing from the metadata are shown as '-' (null in JSON).
              """,
            options: [
                OptionSpec("json", help: "Print one JSON object instead of the table."),
            ],
            positionals: [PositionalSpec("MODEL.gguf", help: "The model file.")],
            examples: [
                "seedflow inspect models/seedflow-demo-target.gguf",
                "seedflow inspect models/seedflow-demo-draft-s.gguf --json | jq .tokenizer",
            ])
    }

    let path: String
    let json: Bool

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        path = arguments.positionals[0]
        json = arguments.flag("json")
    }

    func run() throws {
        try InputFiles.checkModelExists(path)
        let summary = try ModelSummary(file: GGUFFile(path: path))
        StandardStreams.output(json ? summary.json.serialized() + "\n" : summary.text)
    }
}

/// The facts `inspect` reports, gathered once and rendered as text or JSON.
struct ModelSummary {
    struct TensorGroup {
        let type: String
        let count: Int
        let bytes: Int
    }

    let path: String
    let version: UInt32
    let fileSize: Int
    let architecture: String?
    let name: String?
    let parameterCount: Int
    let embeddingLength: Int?
    let blockCount: Int?
    let headCount: Int?
    let headCountKV: Int?
    let headDim: Int?
    let feedForwardLength: Int?
    let contextLength: Int?
    let ropeDimensions: Int?
    let ropeBase: Float?
    let rmsEpsilon: Float?
    let tokenizerModel: String?
    let tokenizerPre: String?
    let vocabularySize: Int?
    let bosTokenID: Int?
    let eosTokenID: Int?
    let bosPiece: String?
    let eosPiece: String?
    let addsBOS: Bool?
    let tensorCount: Int
    let tensorGroups: [TensorGroup]
    let weightBytes: Int
    let panelBytes: Int

    init(file: GGUFFile) throws {
        path = file.path
        version = file.version
        fileSize = file.fileSize
        let arch = try file.string("general.architecture")
        architecture = arch
        name = try file.string("general.name")
        // Architecture keys are namespaced by the architecture's name (`llama.block_count`).
        func archInt(_ key: String) throws -> Int? {
            guard let arch else { return nil }
            return try file.int("\(arch).\(key)")
        }
        embeddingLength = try archInt("embedding_length")
        blockCount = try archInt("block_count")
        headCount = try archInt("attention.head_count")
        headCountKV = try archInt("attention.head_count_kv") ?? headCount
        if let keyLength = try archInt("attention.key_length") {
            headDim = keyLength
        } else if let embeddingLength, let headCount, headCount > 0 {
            headDim = embeddingLength / headCount
        } else {
            headDim = nil
        }
        feedForwardLength = try archInt("feed_forward_length")
        contextLength = try archInt("context_length")
        ropeDimensions = try archInt("rope.dimension_count")
        // Stored as f32: shown as Float so 1e-5 reads as 1e-05, not 9.999999747378752e-06.
        ropeBase = try arch.flatMap { try file.double("\($0).rope.freq_base") }.map(Float.init)
        rmsEpsilon = try arch.flatMap { try file.double("\($0).attention.layer_norm_rms_epsilon") }.map(Float.init)

        tokenizerModel = try file.string("tokenizer.ggml.model")
        tokenizerPre = try file.string("tokenizer.ggml.pre")
        let tokens = try file.stringArray("tokenizer.ggml.tokens")
        vocabularySize = try tokens?.count ?? archInt("vocab_size")
        bosTokenID = try file.int("tokenizer.ggml.bos_token_id")
        eosTokenID = try file.int("tokenizer.ggml.eos_token_id")
        func piece(_ id: Int?) -> String? {
            guard let id, let tokens, tokens.indices.contains(id) else { return nil }
            return tokens[id]
        }
        bosPiece = piece(bosTokenID)
        eosPiece = piece(eosTokenID)
        addsBOS = try file.bool("tokenizer.ggml.add_bos_token")

        tensorCount = file.tensors.count
        parameterCount = file.tensors.reduce(0) { $0 + $1.elementCount }
        weightBytes = file.tensors.reduce(0) { $0 + $1.byteCount }
        panelBytes = file.f16PanelBytes
        var groups: [String: (count: Int, bytes: Int)] = [:]
        for tensor in file.tensors {
            groups[tensor.type.name, default: (0, 0)].count += 1
            groups[tensor.type.name, default: (0, 0)].bytes += tensor.byteCount
        }
        // Largest share of the weights first: that is the type that decides speed and memory.
        tensorGroups = groups.map { TensorGroup(type: $0.key, count: $0.value.count, bytes: $0.value.bytes) }
            .sorted { ($0.bytes, $1.type) > ($1.bytes, $0.type) }
    }

    /// The f32 key/value cache one sequence needs at the full context length.
    /// nil where the metadata cannot give a size: a count missing, not positive, or so large
    /// (a damaged file) that the product overflows.
    var kvCacheBytesAtContext: Int? {
        guard let blockCount, let headCountKV, let headDim, let contextLength else { return nil }
        let factors = [2, blockCount, contextLength, headCountKV, headDim, MemoryLayout<Float>.size]
        guard factors.allSatisfy({ $0 > 0 }) else { return nil }
        var bytes = 1
        for factor in factors {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            bytes = product
        }
        return bytes
    }

    var json: JSONValue {
        .object([
            ("path", .string(path)),
            ("gguf_version", .int(Int(version))),
            ("architecture", .optional(architecture)),
            ("name", .optional(name)),
            ("parameters", .int(parameterCount)),
            ("dimensions", .object([
                ("embedding_length", .optional(embeddingLength)),
                ("block_count", .optional(blockCount)),
                ("head_count", .optional(headCount)),
                ("head_count_kv", .optional(headCountKV)),
                ("head_dim", .optional(headDim)),
                ("feed_forward_length", .optional(feedForwardLength)),
                ("context_length", .optional(contextLength)),
                ("rope_dimensions", .optional(ropeDimensions)),
                ("rope_base", ropeBase.map(JSONValue.float) ?? .null),
                ("rms_epsilon", rmsEpsilon.map(JSONValue.float) ?? .null),
            ])),
            ("tokenizer", .object([
                ("model", .optional(tokenizerModel)),
                ("pre", .optional(tokenizerPre)),
                ("vocabulary_size", .optional(vocabularySize)),
                ("bos_token_id", .optional(bosTokenID)),
                ("bos_piece", .optional(bosPiece)),
                ("eos_token_id", .optional(eosTokenID)),
                ("eos_piece", .optional(eosPiece)),
                ("add_bos_token", addsBOS.map(JSONValue.bool) ?? .null),
            ])),
            ("tensor_count", .int(tensorCount)),
            ("tensor_types", .array(tensorGroups.map {
                .object([("type", .string($0.type)), ("count", .int($0.count)), ("bytes", .int($0.bytes))])
            })),
            ("memory", .object([
                ("file_bytes", .int(fileSize)),
                ("mapped_weight_bytes", .int(weightBytes)),
                ("f16_panel_bytes", .int(panelBytes)),
                ("kv_cache_bytes_at_context", .optional(kvCacheBytesAtContext)),
            ])),
        ])
    }

    var text: String {
        func show(_ value: Int?) -> String { value.map(String.init) ?? "-" }
        func show(_ value: Float?) -> String { value.map { "\($0)" } ?? "-" }
        var rows: [(String, String)] = [
            ("file", "\(path) (GGUF v\(version))"),
            ("architecture", architecture ?? "-"),
        ]
        if let name { rows.append(("name", name)) }
        rows.append(("parameters", tensorCount == 0 ? "none (vocabulary only)"
                                                    : "\(Formatting.count(parameterCount)) (\(parameterCount))"))
        rows.append(("embedding", show(embeddingLength)))
        rows.append(("layers", show(blockCount)))
        rows.append(("heads", "\(show(headCount)) query, \(show(headCountKV)) key/value, head dim \(show(headDim))"))
        rows.append(("feed-forward", show(feedForwardLength)))
        rows.append(("context", "\(show(contextLength)) tokens"))
        rows.append(("rope", "base \(show(ropeBase)), \(show(ropeDimensions)) dimensions"))
        rows.append(("rms epsilon", show(rmsEpsilon)))
        var tokenizer = "\(tokenizerModel ?? "-") (pre-tokenizer \(tokenizerPre ?? "-")), \(show(vocabularySize)) tokens"
        if let bosTokenID { tokenizer += ", BOS \(bosTokenID) \(bosPiece.map(Formatting.quoted) ?? "")" }
        if let eosTokenID { tokenizer += ", EOS \(eosTokenID) \(eosPiece.map(Formatting.quoted) ?? "")" }
        if let addsBOS { tokenizer += addsBOS ? ", adds BOS" : ", no BOS" }
        rows.append(("tokenizer", tokenizer))
        rows.append(("tensors", "\(tensorCount)"))
        for group in tensorGroups {
            rows.append(("  \(group.type)", "\(group.count) tensors, \(formatBytes(group.bytes))"))
        }
        var memory = "file \(formatBytes(fileSize)), mapped weights \(formatBytes(weightBytes))"
        if panelBytes > 0 { memory += " (f16 matrices copied into AVX-512 panels at load: \(formatBytes(panelBytes)))" }
        if let kv = kvCacheBytesAtContext {
            memory += ", KV cache at full context \(formatBytes(kv)) (f32, one sequence)"
        }
        rows.append(("memory", memory))
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.1 }
            .joined(separator: "\n") + "\n"
    }
}
