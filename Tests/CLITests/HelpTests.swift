import XCTest

final class HelpTests: XCTestCase {
    /// Every command seedflow has: the model commands and the workflow ones.
    static let commands = ["inspect", "tokenize", "generate", "score", "bench", "run", "validate", "graph", "compare", "show", "report"]

    func testRootHelpListsEveryCommand() throws {
        let result = try Seedflow.run(["--help"])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stderr, "")
        XCTAssertTrue(result.output.contains("USAGE: seedflow <command>"))
        for command in Self.commands {
            XCTAssertTrue(result.output.contains("\n  \(command) "), "\(command) listed")
        }
        // The listing itself, in order: a command missing from it, or one listed that the test
        // does not know, shows here (continuation lines of a wrapped abstract are indented further).
        let section = result.output.components(separatedBy: "COMMANDS:\n").dropFirst().first?
            .components(separatedBy: "\n\n").first ?? ""
        let listed = section.split(separator: "\n").filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
        XCTAssertEqual(listed, Self.commands + ["help"])
    }

    func testVersion() throws {
        let result = try Seedflow.run(["--version"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.output.hasPrefix("seedflow "))
    }

    func testHelpCommandAndHelpOptionAgree() throws {
        for path in Self.commands.map({ [$0] }) + [["bench", "model"], ["bench", "batch"], ["bench", "speculative"]] {
            let viaCommand = try Seedflow.run(["help"] + path)
            let viaOption = try Seedflow.run(path + ["--help"])
            XCTAssertEqual(viaCommand.status, 0, path.joined(separator: " "))
            XCTAssertEqual(viaOption.status, 0, path.joined(separator: " "))
            XCTAssertEqual(viaCommand.output, viaOption.output, path.joined(separator: " "))
            XCTAssertTrue(viaOption.output.contains("USAGE: seedflow \(path.joined(separator: " "))"), path.joined(separator: " "))
            XCTAssertTrue(viaOption.output.contains("EXAMPLES:"), "\(path) has an example")
        }
    }

    func testGenerateHelpShowsOptionsWithDefaults() throws {
        // Words only: where the option table wraps depends on its widest option.
        let help = try Seedflow.run(["generate", "-h"]).output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for expected in ["-m, --model <path>", "-n, --max-tokens <n>", "(default: 128)", "--temp <t>",
                         "(default: 0.8)", "--top-k", "--top-p", "--seed", "--stop", "--threads", "--json",
                         "-f, --file <path>", "-p, --prompt <text>", "--draft <model[:n]|lookup>", "--draft-tokens <k>",
                         "(default: 4)", "--strategy <name>", "(default: seed with --draft, else autoregressive)",
                         "--kv-memory <size>", "models/seedflow-demo-draft-s.gguf"] {
            XCTAssertTrue(help.contains(expected), "'\(expected)' in generate help")
        }
    }

    func testBenchHelpListsItsSubcommands() throws {
        let help = try Seedflow.run(["bench", "--help"]).output
        for name in ["model", "batch", "speculative"] {
            XCTAssertTrue(help.contains(name), "'\(name)' in bench help")
        }
    }

    func testHelpWinsOverOtherMistakes() throws {
        let result = try Seedflow.run(["generate", "-n", "many", "--help"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("USAGE: seedflow generate"))
    }

    func testHelpOfUnknownCommandIsAUsageError() throws {
        assertFails(try Seedflow.run(["help", "generat"]), status: 2, mentioning: ["did you mean 'generate'?"])
    }
}
