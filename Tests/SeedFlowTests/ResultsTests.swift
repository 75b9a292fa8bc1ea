import XCTest
@testable import SeedFlow

final class ResultsTests: XCTestCase {
    private func temporaryPath(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seedflow-results-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    private func record(_ index: Int, solved: Bool, input: String? = nil) -> RunRecord {
        var stats = RunStatistics()
        stats.generatedTokens = 100 + index
        stats.draftedTokens = 10
        stats.acceptedTokens = 8
        stats.targetPasses = 20
        stats.wallSeconds = 1.5
        return RunRecord(index: index, input: input ?? "1 2 3 \(index)", answer: solved ? "(1 + 2) * 8" : nil, solved: solved,
                         bestPath: ["1 + 2 = 3 (left: 3 8)"], tree: [TreeNodeRecord(id: 0, parent: nil, depth: 0, thought: "", state: "1 2 3 8")],
                         statistics: stats, strategy: "seed", seed: 42, provenance: nil)
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: 0x61, count: 1_000)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func testExistingFileIsRefusedWithoutResume() throws {
        let path = try temporaryPath("run.jsonl")
        let file = try ResultsFile(path: path, resume: false)
        try file.append(record(0, solved: true))
        XCTAssertThrowsError(try ResultsFile(path: path, resume: false)) { error in
            XCTAssertEqual(error as? ResultsError, .exists(path: path))
            XCTAssertTrue("\(error)".contains("--resume"))
        }
        XCTAssertEqual(try ResultsFile.read(path: path).count, 1, "the refused open must not clobber the file")
    }

    func testResumeSkipsFinishedAndDropsATornLastLine() throws {
        let path = try temporaryPath("run.jsonl")
        do {
            let file = try ResultsFile(path: path, resume: false)
            try file.append(record(0, solved: true))
            try file.append(record(1, solved: false))
        }
        // A run killed in the middle of writing its third line.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"index\":2,\"inp".utf8))
        try handle.close()

        let resumed = try ResultsFile(path: path, resume: true)
        XCTAssertEqual(resumed.finishedIndices, [0, 1])
        try resumed.append(record(2, solved: true))
        let all = try ResultsFile.read(path: path)
        XCTAssertEqual(all.map(\.index), [0, 1, 2])
        XCTAssertEqual(all[2], record(2, solved: true))
    }

    func testDamagedMiddleLineIsReportedWithItsLineNumber() throws {
        let path = try temporaryPath("bad.jsonl")
        try Data("{\"not\": \"a record\"}\n\n".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ResultsFile.read(path: path)) { error in
            guard case let .unreadable(p, line, _)? = error as? ResultsError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
            XCTAssertEqual(line, 1)
        }
    }

    func testCompareFindsInputsSolvedByOneRunOnly() throws {
        let a = try temporaryPath("a.jsonl"), b = try temporaryPath("b.jsonl")
        let fa = try ResultsFile(path: a, resume: false), fb = try ResultsFile(path: b, resume: false)
        for i in 0..<4 {
            try fa.append(record(i, solved: i != 3))
            try fb.append(record(i, solved: i != 1))
        }
        try fb.append(record(9, solved: true))
        let c = try RunComparison(pathA: a, pathB: b)
        XCTAssertEqual(c.a.solved, 3)
        XCTAssertEqual(c.b.solved, 4)
        XCTAssertEqual(c.onlyA, ["1 2 3 1"])
        XCTAssertEqual(c.onlyB, ["1 2 3 3"])
        XCTAssertEqual(c.unmatched, 1)
        XCTAssertEqual(c.a.acceptance ?? 0, 0.8, accuracy: 1e-9)
        XCTAssertTrue(c.render().contains("solved by A only (1): 1 2 3 1"))
    }

    func testProvenanceHashesFilesAndFindsGit() throws {
        let dir = URL(fileURLWithPath: try temporaryPath("x")).deletingLastPathComponent()
        let workflow = dir.appendingPathComponent("w.yaml").path
        let prompt = dir.appendingPathComponent("p.txt").path
        try Data("name: x\n".utf8).write(to: URL(fileURLWithPath: workflow))
        try Data("abc".utf8).write(to: URL(fileURLWithPath: prompt))
        let p = try Provenance(workflowFile: workflow, promptFiles: ["p.txt": prompt], modelFiles: [prompt])
        XCTAssertEqual(p.prompts["p.txt"], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(p.models.first?.bytes, 3)
        XCTAssertNil(p.git, "a temporary folder is not in a repository")
        // This test file is in the project's repository.
        XCTAssertNotNil(Provenance.gitState(of: URL(fileURLWithPath: #filePath).deletingLastPathComponent().path))
    }
}

final class ArithmeticTests: XCTestCase {
    func testExactRationalEvaluation() throws {
        let e = try XCTUnwrap(ArithmeticExpression("8 / (3 - 8 / 3)"))
        XCTAssertEqual(e.value, Rational(24))
        XCTAssertTrue(e.usesExactly([3, 3, 8, 8]))
        XCTAssertFalse(e.usesExactly([3, 8, 8]))
        XCTAssertEqual(ArithmeticExpression("12 * ((1 + 1) / 1)")?.value, Rational(24))
        XCTAssertEqual(ArithmeticExpression("(1 + 2) × 8")?.value, Rational(24))
        XCTAssertEqual(ArithmeticExpression("1 / 3 + 1 / 3")?.value, Rational(2, 3))
    }

    func testMalformedExpressionsAreRejected() {
        for bad in ["", "1 +", "(1 + 2", "1 + 2)", "2 / 0", "a + 1", "1 ++ 2", String(repeating: "(", count: 100) + "1" + String(repeating: ")", count: 100), "99999999999999999999 * 2"] {
            XCTAssertNil(ArithmeticExpression(bad), bad)
        }
    }
}
