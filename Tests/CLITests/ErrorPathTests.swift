import Foundation
import SeedModel
import XCTest

/// Every way a command line can be wrong: the status (2 for usage, 3 for a missing input, 1 for
/// an unusable file), a `seedflow: ` message on stderr, and nothing at all on stdout.
final class ErrorPathTests: XCTestCase {
    let model = Seedflow.targetModel

    func testNoCommand() throws {
        assertFails(try Seedflow.run([]), status: 2, mentioning: ["missing command", "Usage: seedflow"])
    }

    func testUnknownCommandSuggestsTheClosest() throws {
        assertFails(try Seedflow.run(["genrate"]), status: 2, mentioning: ["unknown command 'genrate'", "did you mean 'generate'?"])
        assertFails(try Seedflow.run(["bench", "modle"]), status: 2, mentioning: ["did you mean 'model'?"])
        assertFails(try Seedflow.run(["bench"]), status: 2, mentioning: ["missing subcommand"])
    }

    func testUnknownOptionSuggestsTheClosestAndShowsUsage() throws {
        let result = try Seedflow.run(["generate", "-m", model, "-p", "x", "--temperature", "0"])
        assertFails(result, status: 2, mentioning: ["unknown option '--temperature'", "did you mean '--temp'?",
                                                    "Usage: seedflow generate -m MODEL.gguf"])
        assertFails(try Seedflow.run(["generate", "-m", model, "-p", "x", "-temp", "0"]), status: 2,
                    mentioning: ["did you mean '--temp'?"])
        assertFails(try Seedflow.run(["inspect", model, "--jsno"]), status: 2, mentioning: ["did you mean '--json'?"])
        assertFails(try Seedflow.run(["tokenize", "-m", model, "x", "-z"]), status: 2, mentioning: ["unknown option '-z'"])
    }

    func testBadNumbers() throws {
        let base = ["generate", "-m", model, "-p", "x"]
        assertFails(try Seedflow.run(base + ["-n", "ten"]), status: 2, mentioning: ["-n/--max-tokens", "'ten'"])
        assertFails(try Seedflow.run(base + ["-n", "0"]), status: 2, mentioning: ["positive integer"])
        assertFails(try Seedflow.run(base + ["--temp", "-1"]), status: 2, mentioning: ["--temp", "'-1'"])
        assertFails(try Seedflow.run(base + ["--temp", "nan"]), status: 2, mentioning: ["--temp"])
        assertFails(try Seedflow.run(base + ["--top-k", "-5"]), status: 2, mentioning: ["--top-k"])
        assertFails(try Seedflow.run(base + ["--top-p", "0"]), status: 2, mentioning: ["--top-p"])
        assertFails(try Seedflow.run(base + ["--top-p", "1.5"]), status: 2, mentioning: ["--top-p"])
        assertFails(try Seedflow.run(base + ["--seed", "-1"]), status: 2, mentioning: ["--seed"])
        assertFails(try Seedflow.run(base + ["--threads", "0"]), status: 2, mentioning: ["-t/--threads"])
        assertFails(try Seedflow.run(base + ["--stop", ""]), status: 2, mentioning: ["--stop"])
        assertFails(try Seedflow.run(["bench", "model", "-m", model, "-r", "0"]), status: 2, mentioning: ["--repetitions"])
    }

    func testMissingValuesAndArguments() throws {
        assertFails(try Seedflow.run(["generate", "-m", model, "-p"]), status: 2, mentioning: ["needs a value"])
        assertFails(try Seedflow.run(["generate", "-p", "x"]), status: 2, mentioning: ["missing --model"])
        assertFails(try Seedflow.run(["generate", "-m", model]), status: 2, mentioning: ["-p TEXT or -f FILE"])
        assertFails(try Seedflow.run(["generate", "-m", model, "-p", "x", "-f", Seedflow.proposePrompt]), status: 2,
                    mentioning: ["not both"])
        assertFails(try Seedflow.run(["score", "-m", model]), status: 2, mentioning: ["--text TEXT or -f FILE"])
        assertFails(try Seedflow.run(["inspect"]), status: 2, mentioning: ["missing MODEL.gguf"])
        assertFails(try Seedflow.run(["inspect", model, "extra"]), status: 2, mentioning: ["unexpected extra argument 'extra'"])
        assertFails(try Seedflow.run(["inspect", model, "--json=yes"]), status: 2, mentioning: ["takes no value"])
    }

    func testMissingModelFile() throws {
        let missing = "models/no-such-model.gguf"
        for arguments in [["inspect", missing], ["tokenize", "-m", missing, "x"],
                          ["generate", "-m", missing, "-p", "x", "--json"], ["score", "-m", missing, "--text", "x"],
                          ["bench", "model", "-m", missing, "--json"]] {
            assertFails(try Seedflow.run(arguments), status: 3, mentioning: ["'\(missing)' not found"])
        }
        assertFails(try Seedflow.run(["inspect", "models"]), status: 3, mentioning: ["directory"])
    }

    func testMissingPromptFile() throws {
        assertFails(try Seedflow.run(["generate", "-m", model, "-f", "prompts/none.txt"]), status: 3,
                    mentioning: ["'prompts/none.txt' not found"])
    }

    func testPromptFileThatIsNotUTF8() throws {
        let path = try Seedflow.temporaryFile(named: "latin1.txt", contents: Data([0x63, 0x61, 0x66, 0xE9, 0x0A]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        assertFails(try Seedflow.run(["generate", "-m", model, "-f", path]), status: 3, mentioning: ["not UTF-8"])
    }

    func testNotAGGUFFile() throws {
        for arguments in [["inspect", "Package.swift"], ["inspect", "Package.swift", "--json"],
                          ["generate", "-m", "Package.swift", "-p", "x", "--json"],
                          ["tokenize", "-m", "Package.swift", "x", "--json"]] {
            let result = try Seedflow.run(arguments)
            assertFails(result, status: 1, mentioning: ["not a GGUF file"])
        }
    }

    func testTruncatedGGUFFile() throws {
        let data = try Data(contentsOf: Seedflow.repoRoot.appendingPathComponent(model))
        for length in [6, 100, 4000] {
            let path = try Seedflow.temporaryFile(named: "truncated.gguf", contents: data.prefix(length))
            defer { try? FileManager.default.removeItem(atPath: path) }
            assertFails(try Seedflow.run(["inspect", path, "--json"]), status: 1, mentioning: ["truncated"])
        }
    }

    // MARK: speculative decoding options

    func testBadDraftOptions() throws {
        let base = ["generate", "-m", model, "-p", "x"]
        let draft = Seedflow.smallDraft
        for bad in ["\(draft):0", "\(draft):x", "\(draft):", ":2", "\(draft):100000"] {
            assertFails(try Seedflow.run(base + ["--draft", bad]), status: 2, mentioning: ["--draft", "MODEL:N", "'\(bad)'"])
        }
        assertFails(try Seedflow.run(base + ["--draft", "models/no-draft.gguf:2"]), status: 3,
                    mentioning: ["'models/no-draft.gguf' not found"])
        assertFails(try Seedflow.run(base + ["--draft-tokens", "33"]), status: 2, mentioning: ["--draft-tokens", "1 to 32"])
        for bad in ["1.5", "-0.1", "nan", "sure"] {
            assertFails(try Seedflow.run(base + ["--draft-confidence", bad]), status: 2,
                        mentioning: ["--draft-confidence", "a probability from 0 to 1", "'\(bad)'"])
        }
        assertFails(try Seedflow.run(base + ["--strategy", "greedy"]), status: 2,
                    mentioning: ["--strategy", "'greedy'", "autoregressive, sequential, speculative, seed, auto"])
        for size in ["1.5", "2XB", "-1MiB", "MiB", "0.5B"] {
            assertFails(try Seedflow.run(base + ["--kv-memory", size]), status: 2, mentioning: ["--kv-memory", "'\(size)'"])
        }
    }

    func testStrategyThatDraftsNeedsADraft() throws {
        for strategy in ["speculative", "seed", "auto"] {
            assertFails(try Seedflow.run(["generate", "-m", model, "-p", "x", "--strategy", strategy]), status: 2,
                        mentioning: ["strategy '\(strategy)' needs a draft model", "--draft MODEL"])
        }
    }

    func testKVBudgetTooSmallForTheRequest() throws {
        assertFails(try Seedflow.run(["generate", "-m", model, "-p", "x", "--kv-memory", "1KiB"]), status: 4,
                    mentioning: ["KV cache", "--kv-memory"])
    }

    /// A draft whose vocabulary gives one id another string cannot draft for the target.
    func testDraftWithAnotherVocabularyIsRefused() throws {
        let source = try GGUFFile(path: Seedflow.repoRoot.appendingPathComponent(Seedflow.smallDraft).path)
        var writer = GGUFWriter()
        writer.alignment = source.alignment
        for key in source.metadataKeys {
            writer.set(key, try XCTUnwrap(source.value(key)))
        }
        var tokens = try XCTUnwrap(try source.stringArray("tokenizer.ggml.tokens"))
        tokens[tokens.count - 1] = "<not-the-target's>"
        writer.set("tokenizer.ggml.tokens", strings: tokens)
        for tensor in source.tensors {
            writer.addTensor(tensor.name, dimensions: tensor.dimensions, type: tensor.type, bytes: Array(source.data(of: tensor)))
        }
        let path = try Seedflow.temporaryFile(named: "other-vocabulary.gguf", contents: Data(writer.encoded()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        assertFails(try Seedflow.run(["generate", "-m", model, "-p", "x", "--draft", path]), status: 1,
                    mentioning: ["cannot draft for this target", "<not-the-target's>", "share one tokenizer"])
    }

    /// Output that cannot be written is an error (status 1, with a message), not a silent success;
    /// a reader that went away (a closed pipe) is not worth one.
    func testOutputThatCannotBeWrittenFailsTheCommand() throws {
        func shell(_ command: String) throws -> Seedflow.Result {
            try Seedflow.execute(URL(fileURLWithPath: "/bin/sh"), ["-c", command, try Seedflow.binary.path, Seedflow.targetModel])
        }
        let full = try shell("exec \"$0\" tokenize -m \"$1\" hello > /dev/full")
        XCTAssertEqual(full.status, 1, full.stderr)
        XCTAssertEqual(full.stderr, "seedflow: cannot write to standard output: No space left on device\n")
        // With SIGPIPE ignored (as some parents leave it), the closed pipe is EPIPE: quiet, status 0.
        let statusFile = FileManager.default.temporaryDirectory.appendingPathComponent("seedflow-epipe-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: statusFile) }
        let closed = try shell("trap '' PIPE; { \"$0\" generate -m \"$1\" -p hi -n 200 --temp 0; echo $? > \(statusFile); } | head -c 1 > /dev/null")
        XCTAssertEqual(closed.status, 0, closed.stderr)
        XCTAssertEqual(try String(contentsOfFile: statusFile, encoding: .utf8), "0\n", "seedflow's own status")
        XCTAssertFalse(closed.stderr.contains("cannot write"), closed.stderr)
    }
}
