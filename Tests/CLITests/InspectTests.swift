import Foundation
import SeedModel
import XCTest

final class InspectTests: XCTestCase {
    func testDemoTargetAsText() throws {
        let result = try Seedflow.run(["inspect", Seedflow.targetModel])
        XCTAssertEqual(result.status, 0, result.stderr)
        for expected in ["llama", "6.56 M", "heads", "4 query, 2 key/value, head dim 64", "256 tokens",
                         "gpt2 (pre-tokenizer gpt-2), 512 tokens", "BOS 0 '<s>'", "EOS 1 '</s>'", "F16", "F32",
                         "mapped weights"] {
            XCTAssertTrue(result.output.contains(expected), "'\(expected)' in:\n\(result.output)")
        }
    }

    func testDemoTargetAsJSON() throws {
        let result = try Seedflow.run(["inspect", Seedflow.targetModel, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try result.jsonObject()
        XCTAssertEqual(object["architecture"] as? String, "llama")
        let parameters = try XCTUnwrap(object["parameters"] as? Int)
        XCTAssertEqual(Double(parameters) / 1e6, 6.56, accuracy: 0.005)
        let dimensions = try XCTUnwrap(object["dimensions"] as? [String: Any])
        XCTAssertEqual(dimensions["embedding_length"] as? Int, 256)
        XCTAssertEqual(dimensions["block_count"] as? Int, 8)
        XCTAssertEqual(dimensions["head_count"] as? Int, 4)
        XCTAssertEqual(dimensions["head_count_kv"] as? Int, 2)
        XCTAssertEqual(dimensions["head_dim"] as? Int, 64)
        XCTAssertEqual(dimensions["feed_forward_length"] as? Int, 768)
        XCTAssertEqual(dimensions["context_length"] as? Int, 256)
        let tokenizer = try XCTUnwrap(object["tokenizer"] as? [String: Any])
        XCTAssertEqual(tokenizer["model"] as? String, "gpt2")
        XCTAssertEqual(tokenizer["pre"] as? String, "gpt-2")
        XCTAssertEqual(tokenizer["vocabulary_size"] as? Int, 512)
        XCTAssertEqual(tokenizer["bos_token_id"] as? Int, 0)
        XCTAssertEqual(tokenizer["eos_token_id"] as? Int, 1)
        XCTAssertEqual(tokenizer["add_bos_token"] as? Bool, true)
        let types = try XCTUnwrap(object["tensor_types"] as? [[String: Any]])
        XCTAssertEqual(types.compactMap { $0["type"] as? String }, ["F16", "F32"])
        XCTAssertEqual(types.compactMap { $0["count"] as? Int }.reduce(0, +), object["tensor_count"] as? Int)
        let memory = try XCTUnwrap(object["memory"] as? [String: Any])
        let fileSize = try FileManager.default.attributesOfItem(
            atPath: Seedflow.repoRoot.appendingPathComponent(Seedflow.targetModel).path)[.size] as? Int
        XCTAssertEqual(memory["file_bytes"] as? Int, fileSize)
        let weights = try XCTUnwrap(memory["mapped_weight_bytes"] as? Int)
        XCTAssertEqual(weights, types.compactMap { $0["bytes"] as? Int }.reduce(0, +))
        XCTAssertLessThanOrEqual(weights, try XCTUnwrap(fileSize))
        // Every f16 matrix but the 512 × 256 embedding is repacked where the processor runs panels.
        let f16 = try XCTUnwrap(types.first { $0["type"] as? String == "F16" }?["bytes"] as? Int)
        let file = try GGUFFile(path: Seedflow.repoRoot.appendingPathComponent(Seedflow.targetModel).path)
        XCTAssertEqual(memory["f16_panel_bytes"] as? Int, file.f16PanelBytes)
        XCTAssertTrue([0, f16 - 512 * 256 * 2].contains(file.f16PanelBytes), "\(file.f16PanelBytes) of \(f16)")
    }

    /// A file with a vocabulary and no tensors, of an architecture seedflow cannot run.
    func testVocabularyOnlyFile() throws {
        let text = try Seedflow.run(["inspect", Seedflow.gpt2Vocabulary])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.output.contains("none (vocabulary only)"))

        let result = try Seedflow.run(["inspect", Seedflow.gpt2Vocabulary, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try result.jsonObject()
        XCTAssertEqual(object["architecture"] as? String, "gpt2")
        XCTAssertEqual(object["parameters"] as? Int, 0)
        XCTAssertEqual(object["tensor_count"] as? Int, 0)
        let tokenizer = try XCTUnwrap(object["tokenizer"] as? [String: Any])
        XCTAssertEqual(tokenizer["model"] as? String, "gpt2")
        XCTAssertEqual(tokenizer["vocabulary_size"] as? Int, 50257)
        XCTAssertEqual(tokenizer["eos_token_id"] as? Int, 50256)
        // Not a model seedflow loads: nothing would be copied into panels, and the text says nothing of them.
        let memory = try XCTUnwrap(object["memory"] as? [String: Any])
        XCTAssertEqual(memory["f16_panel_bytes"] as? Int, 0)
        XCTAssertFalse(text.output.contains("panels"))
    }

    /// Sizes the metadata cannot give (a count that is negative, or so large that the cache
    /// size overflows) are unknown, not a crash or a negative number.
    func testDamagedSizesAreUnknown() throws {
        for context in [GGUFValue.uint64(1 << 62), .int32(-5)] {
            var writer = GGUFWriter()
            writer.set("general.architecture", "llama")
            writer.set("llama.block_count", uint32: 2)
            writer.set("llama.embedding_length", uint32: 64)
            writer.set("llama.attention.head_count", uint32: 2)
            writer.set("llama.context_length", context)
            let path = try Seedflow.temporaryFile(named: "damaged.gguf", contents: Data(writer.encoded()))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let result = try Seedflow.run(["inspect", path, "--json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let memory = try XCTUnwrap(try result.jsonObject()["memory"] as? [String: Any])
            XCTAssertTrue(memory["kv_cache_bytes_at_context"] is NSNull, "\(context): \(memory)")
            XCTAssertEqual(try Seedflow.run(["inspect", path]).status, 0)
        }
    }
}
