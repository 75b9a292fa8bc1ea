import Foundation
import XCTest
@testable import SeedModel

/// Random-weight models in the quantized types added for issue 17 (Q4_1, Q2_K, Q3_K, IQ4_NL,
/// IQ4_XS), written by the project's own GGUF writer, against the logits llama.cpp computes on
/// the very same files (`Resources/quant-fixtures.json`, made as FIXTURES.md says). Same bytes,
/// so this checks the layouts and products against ggml's own; the difference left is how each
/// side rounds its inputs to 8 bits (llama.cpp: q8_1 blocks of 32 for Q4_1, q8_0 for IQ4_NL,
/// q8_K blocks of 256 for the K-quants and IQ4_XS; seedflow: blocks of 32 for all) and
/// llama.cpp's f16 KV cache.
final class QuantizedFixtureTests: XCTestCase {
    struct Fixture: Decodable {
        /// FNV-1a (64-bit, hex) of the model file the logits were computed on.
        let file_fnv1a: String
        let tokens: [Int]
        let logits: [[Float]]
    }

    static let types: [GGMLType] = [.q4_1, .q2_K, .q3_K, .iq4_nl, .iq4_xs]
    static let tokens = [1, 270, 5, 281, 260, 77, 290, 3, 297, 259, 120, 265, 30, 288, 7, 262]

    /// The model of each fixture: small, every row whole K-quant super-blocks, 2 KV heads for 4.
    static func spec(_ type: GGMLType) -> RandomModel {
        var m = RandomModel(embeddingLength: 256, blockCount: 2, headCount: 4, headCountKV: 2,
                            feedForwardLength: 512, weightType: type)
        m.contextLength = 64
        m.seed = 17
        return m
    }

    static func fnv1a(_ data: Data) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return String(format: "%016llx", h)
    }

    static let fixtures: [String: Fixture] = {
        let url = TestPaths.resource("quant-fixtures.json")
        do {
            return try JSONDecoder().decode([String: Fixture].self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot read \(url.path): \(error)")
        }
    }()

    func testLogitsMatchLlamaCppOnTheSameFiles() throws {
        // SEEDFLOW_FIXTURE_MODEL_DIR: also keep the files there, to make the fixtures from.
        let keep = ProcessInfo.processInfo.environment["SEEDFLOW_FIXTURE_MODEL_DIR"]
        for type in Self.types {
            let path = try Self.spec(type).writeTemporary()
            defer { try? FileManager.default.removeItem(atPath: path) }
            if let keep {
                let target = URL(fileURLWithPath: keep).appendingPathComponent("quant-fixture-\(type.name).gguf")
                try? FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(at: URL(fileURLWithPath: path), to: target)
            }
            guard let fixture = Self.fixtures[type.name] else {
                XCTFail("no fixture for \(type.name) in quant-fixtures.json")
                continue
            }
            let hash = Self.fnv1a(try Data(contentsOf: URL(fileURLWithPath: path)))
            guard hash == fixture.file_fnv1a else {
                XCTFail("\(type.name): the random model's file changed (FNV-1a \(hash), fixture made on \(fixture.file_fnv1a)); "
                        + "make the fixtures again as Resources/FIXTURES.md says")
                continue
            }
            XCTAssertEqual(fixture.tokens, Self.tokens)
            let model = try TransformerModel(path: path, threads: 2)
            let cache = ContiguousKVCache(config: model.config)
            let logits = try withExtendedLifetime(cache) {
                try model.forward([ForwardInput(tokens: Self.tokens, startPosition: 0, cache: cache.blockTable, logits: .all)])
            }
            var maxError: Float = 0, sumError: Float = 0, scale: Float = 0, top1 = 0, count = 0
            for (row, want) in fixture.logits.enumerated() {
                let got = Array(logits[row])
                XCTAssertEqual(got.count, want.count)
                for (a, b) in zip(got, want) {
                    maxError = max(maxError, abs(a - b))
                    sumError += abs(a - b)
                    count += 1
                }
                scale = max(scale, want.map(abs).max() ?? 0)
                if got.indices.max(by: { got[$0] < got[$1] }) == want.indices.max(by: { want[$0] < want[$1] }) { top1 += 1 }
            }
            let mean = sumError / Float(max(1, count))
            print("llama.cpp fixture \(type.name): max |Δlogit| \(maxError), mean \(mean), logits up to \(scale), top-1 \(top1)/\(Self.tokens.count)")
            // Measured when the fixtures were made: max 2–5 %, mean 0.4–0.7 % of the logits' range
            // (most for the K-quants, whose inputs llama.cpp rounds per 256, not per 32). A block
            // decoded wrongly moves logits by about the range itself (cf. the quantization error
            // against F32 in RandomModelForwardTests), 10 to 100 times these bounds.
            XCTAssertLessThan(maxError, 0.08 * scale, "\(type.name): max |Δlogit| \(maxError) of logits up to \(scale)")
            XCTAssertLessThan(mean, 0.01 * scale, "\(type.name): mean |Δlogit| \(mean) of logits up to \(scale)")
            XCTAssertGreaterThanOrEqual(top1, Self.tokens.count - 3, "\(type.name): top-1 differs from llama.cpp's")
        }
    }
}
