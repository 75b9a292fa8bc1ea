import Foundation
import XCTest
@testable import SeedModel

/// Random-weight files of every architecture, written by seedflow's own GGUF writer in several
/// tensor types, against the logits llama.cpp computes on the same files
/// (`Resources/arch-fixtures/*.json`; FIXTURES.md says how they were made). The models are
/// drawn from fixed seeds, so the files written here are the files llama.cpp read.
final class ArchitectureFixtureTests: XCTestCase {
    static let prompt = [1, 270, 5, 281, 260, 77, 290, 3, 297, 259, 120, 265]

    /// The fixture models: small, every row whole K-quant super-blocks, two KV heads shared by
    /// four heads; Gemma with a window of 4 so that the 12-token prompt crosses it.
    /// `phi3short` is phi3 with an original context of 256, which neither seedflow's context
    /// (64) nor llama.cpp's (256) exceeds: both take the short LongRoPE factors.
    static func spec(_ variant: String, _ type: GGMLType) -> RandomModel {
        let arch = variant == "phi3short" ? "phi3" : variant
        var m = RandomModel(architecture: arch, embeddingLength: 256, blockCount: 2, headCount: 4, headCountKV: 2,
                            feedForwardLength: 512, weightType: type)
        m.contextLength = 64
        m.seed = 11
        switch arch {
        case "gemma3":
            m.blockCount = 7
            m.tiedOutput = true
            m.ropeBase = 1_000_000
            m.slidingWindow = 4
        case "phi3":
            // LongRoPE: the file's context (64) and llama.cpp's (the fixture program's, padded
            // to 256) both exceed the original 32, so both take the long factors.
            m.ropeLongShortFactors = (long: (0..<32).map { 1 + Float($0 % 7) * 0.75 },
                                      short: (0..<32).map { 1 + Float($0 % 3) * 0.1 })
            m.ropeOriginalContext = variant == "phi3short" ? 256 : 32
            m.ropeAttentionFactor = 1.19
        case "gemma2":
            m.blockCount = 3
            m.tiedOutput = true
            m.slidingWindow = 5
        default:
            break
        }
        return m
    }

    static let cases: [(String, GGMLType)] = ["llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"].flatMap { arch in
        [GGMLType.f32, .f16, .q8_0, .q4_K].map { (arch, $0) }
    } + [("phi3short", .f32)]

    static func fixtureName(_ arch: String, _ type: GGMLType) -> String { "\(arch)-\(type.name)" }

    func testEveryArchitectureMatchesLlamaCpp() throws {
        // SEEDFLOW_KEEP_FIXTURE_MODELS=DIR keeps the written files there, for llama.cpp to read.
        let keep = ProcessInfo.processInfo.environment["SEEDFLOW_KEEP_FIXTURE_MODELS"]
        for (arch, type) in Self.cases {
            let name = Self.fixtureName(arch, type)
            let spec = Self.spec(arch, type)
            let path: String
            if let keep {
                path = (keep as NSString).appendingPathComponent(name + ".gguf")
                try spec.write(to: path)
            } else {
                path = try spec.writeTemporary()
            }
            defer { if keep == nil { try? FileManager.default.removeItem(atPath: path) } }
            guard let url = Bundle.module.url(forResource: "Resources/arch-fixtures/\(name)", withExtension: "json") else {
                XCTFail("no llama.cpp fixture for \(name) (see FIXTURES.md)")
                continue
            }
            let want = try JSONDecoder().decode([[Double]].self, from: Data(contentsOf: url))
            guard want.count == Self.prompt.count, want.allSatisfy({ $0.count == RandomModel.vocabulary.count }) else {
                XCTFail("\(name): the fixture holds \(want.count) rows, expected \(Self.prompt.count) of \(RandomModel.vocabulary.count) logits")
                continue
            }
            let model = try TransformerModel(path: path, threads: 2)
            let cache = ContiguousKVCache(config: model.config)
            var maxError = 0.0, scale = 0.0, top1 = 0
            try withExtendedLifetime(cache) {
                let logits = try model.forward([ForwardInput(tokens: Self.prompt, startPosition: 0,
                                                             cache: cache.blockTable, logits: .all)])
                for (i, row) in want.enumerated() {
                    let got = logits[i]
                    for (a, b) in zip(got, row) { maxError = max(maxError, abs(Double(a) - b)) }
                    scale = max(scale, row.map(abs).max() ?? 0)
                    let best = row.indices.max { row[$0] < row[$1] }!
                    if got.indices.max(by: { got[$0] < got[$1] })! == best { top1 += 1 }
                }
            }
            // F32 and F16 weights: within 0.1 % of the logits' range (llama.cpp's CPU graph
            // converts some operands to f16 on the way; measured up to 0.12 %). Quantized
            // weights: both round the activations to 8 bits, llama.cpp per 256 values for the
            // K types and seedflow per 32 (measured up to 2.7 %).
            let bound = type.isQuantized ? 0.03 : 2e-3
            print("llama.cpp fixture \(name): max |Δlogit| \(String(format: "%.5f", maxError)) of logits up to \(String(format: "%.2f", scale)), top-1 \(top1)/\(want.count)")
            XCTAssertLessThanOrEqual(maxError, bound * scale, "\(name): logits differ from llama.cpp's by \(maxError)")
            XCTAssertGreaterThanOrEqual(top1, want.count - (type.isQuantized ? 1 : 0), "\(name): top-1 differs from llama.cpp's")
        }
    }
}
