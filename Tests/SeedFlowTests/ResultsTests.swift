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

    /// A results file holding `records`, closed again (so its lock is released).
    private func writeResults(_ records: [RunRecord], to path: String) throws {
        let file = try ResultsFile(path: path, mode: .create)
        for r in records { try file.append(r) }
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
        let file = try ResultsFile(path: path, mode: .create)
        try file.append(record(0, solved: true))
        XCTAssertThrowsError(try ResultsFile(path: path, mode: .create)) { error in
            XCTAssertEqual(error as? ResultsError, .exists(path: path))
            XCTAssertTrue("\(error)".contains("--resume"))
        }
        XCTAssertEqual(try ResultsFile.read(path: path).count, 1, "the refused open must not clobber the file")
    }

    func testResumeSkipsFinishedAndDropsATornLastLine() throws {
        let path = try temporaryPath("run.jsonl")
        try writeResults([record(0, solved: true), record(1, solved: false)], to: path)
        // A run killed in the middle of writing its third line.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"index\":2,\"inp".utf8))
        try handle.close()

        let resumed = try ResultsFile(path: path, mode: .resume)
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

    /// --overwrite replaces a results file, never anything else at its path, and only once a new
    /// result is written: a run that fails first leaves the old results.
    func testOverwriteReplacesOnlyARegularFileAndOnlyOnItsFirstResult() throws {
        let path = try temporaryPath("run.jsonl")
        try writeResults([record(0, solved: true), record(1, solved: true)], to: path)
        do {
            let file = try ResultsFile(path: path, mode: .overwrite)
            XCTAssertEqual(try ResultsFile.read(path: path).count, 2, "nothing written yet: the old results stay")
            file.abandon()
        }
        XCTAssertEqual(try ResultsFile.read(path: path).count, 2, "abandon keeps a file this run did not create")
        do {
            let file = try ResultsFile(path: path, mode: .overwrite)
            try file.append(record(5, solved: false))
        }
        XCTAssertEqual(try ResultsFile.read(path: path).map(\.index), [5])

        let directory = URL(fileURLWithPath: try temporaryPath("dir")).path
        try FileManager.default.createDirectory(atPath: directory + "/inner", withIntermediateDirectories: true)
        for mode in [ResultsOpenMode.create, .resume, .overwrite] {
            XCTAssertThrowsError(try ResultsFile(path: directory, mode: mode)) { error in
                XCTAssertEqual(error as? ResultsError, .notAFile(path: directory, kind: "a directory"))
                XCTAssertTrue("\(error)".contains("give --results the path of a file"), "\(error)")
            }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/inner"), "the directory must survive")
        XCTAssertThrowsError(try ResultsFile(path: "/dev/null", mode: .overwrite)) { error in
            XCTAssertEqual(error as? ResultsError, .notAFile(path: "/dev/null", kind: "a device or other special file"))
        }
    }

    /// Results go through a symbolic link to the file it names; the link stays a link.
    func testResultsAreWrittenThroughASymbolicLink() throws {
        let real = try temporaryPath("real.jsonl")
        let link = URL(fileURLWithPath: real).deletingLastPathComponent().appendingPathComponent("link.jsonl").path
        do { try ResultsFile(path: real, mode: .create).append(record(0, solved: true)) }
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        do { try ResultsFile(path: link, mode: .overwrite).append(record(1, solved: true)) }
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), real)
        XCTAssertEqual(try ResultsFile.read(path: real).map(\.index), [1])
    }

    /// Two runs on one results file: the second is refused while the first holds it.
    func testASecondRunOnTheSameFileIsRefused() throws {
        let path = try temporaryPath("run.jsonl")
        let first = try ResultsFile(path: path, mode: .create)
        try first.append(record(0, solved: true))
        XCTAssertThrowsError(try ResultsFile(path: path, mode: .resume)) { error in
            XCTAssertEqual(error as? ResultsError, .busy(path: path))
        }
        XCTAssertEqual(try ResultsFile.read(path: path).count, 1)
        _ = first
    }

    /// A run that fails before its first result removes the file it created, so running again
    /// needs no --resume.
    func testAbandonRemovesAnEmptyFileTheRunCreated() throws {
        let path = try temporaryPath("run.jsonl")
        try ResultsFile(path: path, mode: .create).abandon()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        let file = try ResultsFile(path: path, mode: .create)
        try file.append(record(0, solved: true))
        file.abandon()
        XCTAssertEqual(try ResultsFile.read(path: path).count, 1, "a file with results is never removed")
    }

    /// --resume on a file that is not a results file is refused, not truncated; a torn last line
    /// of a real one is dropped and counted.
    func testResumeRefusesTextAndCountsADroppedLine() throws {
        let notes = try temporaryPath("notes.txt")
        try Data("my important notes, no newline at end".utf8).write(to: URL(fileURLWithPath: notes))
        XCTAssertThrowsError(try ResultsFile(path: notes, mode: .resume)) { error in
            guard case .unreadable(notes, 1, _)? = error as? ResultsError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try String(contentsOfFile: notes, encoding: .utf8), "my important notes, no newline at end")

        let path = try temporaryPath("run.jsonl")
        do { try ResultsFile(path: path, mode: .create).append(record(0, solved: true)) }
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"index\":1,".utf8))
        try handle.close()
        let resumed = try ResultsFile(path: path, mode: .resume)
        XCTAssertEqual(resumed.droppedBytes, 0, "nothing is cut before a result is written")
        XCTAssertEqual(resumed.existingLines, [1])
        try resumed.append(record(1, solved: true))
        XCTAssertEqual(resumed.droppedBytes, 11)
    }

    /// A damaged line is explained in words, not with the decoder's internals; blank lines,
    /// white space included, are skipped.
    func testDamagedLinesAreExplainedAndBlankLinesSkipped() throws {
        let path = try temporaryPath("bad.jsonl")
        var good = String(decoding: try JSONEncoder().encode(record(0, solved: true)), as: UTF8.self)
        good += "\n   \n\t\n"
        try Data((good + "{\"index\": 3}\n").utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ResultsFile.read(path: path)) { error in
            XCTAssertEqual(error as? ResultsError, .unreadable(path: path, line: 4, reason: "it has no \"input\" field"))
            XCTAssertFalse("\(error)".contains("DecodingError"))
        }
        try Data((good + "not json\n").utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ResultsFile.read(path: path)) { error in
            XCTAssertEqual(error as? ResultsError, .unreadable(path: path, line: 4, reason: "it is not JSON"))
        }
        XCTAssertThrowsError(try ResultsFile.read(path: URL(fileURLWithPath: path).deletingLastPathComponent().path)) { error in
            guard case .notAFile? = error as? ResultsError else { return XCTFail("\(error)") }
        }
    }

    /// A last line that is a whole record without its newline counts, and the next record starts
    /// on a line of its own; a torn line is dropped only when a result is written, so a resume
    /// that goes no further leaves the file as it was; a file with no complete line is refused.
    func testResumeKeepsAWholeLastRecordAndCutsATornOneOnlyOnWriting() throws {
        let path = try temporaryPath("run.jsonl")
        let whole = String(decoding: try JSONEncoder().encode(record(0, solved: true)), as: UTF8.self)
        try Data(whole.utf8).write(to: URL(fileURLWithPath: path))
        do {
            let file = try ResultsFile(path: path, mode: .resume)
            XCTAssertEqual(file.finishedIndices, [0])
            try file.append(record(1, solved: true))
        }
        XCTAssertEqual(try ResultsFile.read(path: path).map(\.index), [0, 1])

        let torn = try String(contentsOfFile: path, encoding: .utf8) + "{\"index\":2,"
        try Data(torn.utf8).write(to: URL(fileURLWithPath: path))
        do { _ = try ResultsFile(path: path, mode: .resume) }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), torn, "nothing written, nothing cut")

        let onlyTorn = try temporaryPath("torn.jsonl")
        try Data("{\"index\":0,".utf8).write(to: URL(fileURLWithPath: onlyTorn))
        XCTAssertThrowsError(try ResultsFile(path: onlyTorn, mode: .resume)) { error in
            XCTAssertEqual(error as? ResultsError, .unreadable(path: onlyTorn, line: 1, reason: "it holds no complete result line"))
        }
        XCTAssertEqual(try String(contentsOfFile: onlyTorn, encoding: .utf8), "{\"index\":0,")
    }

    /// A failed input's line does not count as finished; when it runs again, its last line is its
    /// result. A missing file is reported as one.
    func testFailedInputsRunAgainAndTheLastLineOfAnInputCounts() throws {
        let path = try temporaryPath("run.jsonl")
        var failed = record(1, solved: false)
        failed.error = "too long"
        try writeResults([record(0, solved: true), failed], to: path)
        let resumed = try ResultsFile(path: path, mode: .resume)
        XCTAssertEqual(resumed.finishedIndices, [0])
        try resumed.append(record(1, solved: true))
        let latest = ResultsFile.latest(try ResultsFile.read(path: path))
        XCTAssertEqual(latest.map(\.index), [0, 1])
        XCTAssertNil(latest[1].error)
        let missing = path + ".missing"
        XCTAssertThrowsError(try ResultsFile.read(path: missing)) { error in
            XCTAssertEqual("\(error)", "cannot read \(missing): no such file")
        }
    }

    /// A relative link inside a linked folder is followed as the kernel follows it: its `..`
    /// leaves the folder the link really is in.
    func testARelativeLinkInALinkedFolderReachesTheRealFile() throws {
        let base = URL(fileURLWithPath: try temporaryPath("x")).deletingLastPathComponent().path
        let manager = FileManager.default
        try manager.createDirectory(atPath: base + "/data/proj", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: base + "/data/shared", withIntermediateDirectories: true)
        do { try ResultsFile(path: base + "/data/shared/out.jsonl", mode: .create).append(record(0, solved: true)) }
        try manager.createSymbolicLink(atPath: base + "/proj", withDestinationPath: base + "/data/proj")
        try manager.createSymbolicLink(atPath: base + "/data/proj/out.jsonl", withDestinationPath: "../shared/out.jsonl")
        let resumed = try ResultsFile(path: base + "/proj/out.jsonl", mode: .resume)
        XCTAssertEqual(resumed.finishedIndices, [0])
        XCTAssertFalse(manager.fileExists(atPath: base + "/shared"), "no stray folder next to the linked one")
    }

    /// A symbolic link to a file that does not exist yet creates that file.
    func testADanglingLinkCreatesItsTarget() throws {
        let real = try temporaryPath("later.jsonl")
        let link = URL(fileURLWithPath: real).deletingLastPathComponent().appendingPathComponent("link.jsonl").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "later.jsonl")
        try ResultsFile(path: link, mode: .create).append(record(0, solved: true))
        XCTAssertEqual(try ResultsFile.read(path: real).count, 1)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "later.jsonl")
    }

    /// A number never stops a result from being written: infinities become the largest finite
    /// number of their sign, NaN null, and the line reads back; ordinary lines are unchanged.
    func testNonFiniteNumbersAreWrittenAndReadBack() throws {
        let path = try temporaryPath("inf.jsonl")
        var r = record(0, solved: true)
        r.tree += [TreeNodeRecord(id: 1, parent: 0, depth: 1, thought: "a", state: "x", value: .infinity),
                   TreeNodeRecord(id: 2, parent: 0, depth: 1, thought: "b", state: "y", value: -.infinity),
                   TreeNodeRecord(id: 3, parent: 0, depth: 1, thought: "c", state: "z", value: .nan)]
        r.statistics.wallSeconds = .infinity
        XCTAssertThrowsError(try JSONEncoder().encode(r), "a plain encoder fails on these")
        try writeResults([r], to: path)
        let line = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(line.contains(#""value":1.7976931348623157e+308"#), line)
        XCTAssertTrue(line.contains(#""value":-1.7976931348623157e+308"#), line)
        XCTAssertTrue(line.contains(#""value":null"#), line)
        XCTAssertTrue(line.contains(#""wall_s":1.7976931348623157e+308"#), line)
        XCTAssertFalse(line.contains("seedflow:"), "no placeholder left: \(line)")
        let back = try XCTUnwrap(try ResultsFile.read(path: path).first)
        XCTAssertEqual(back.tree.map(\.value).dropFirst(), [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, nil])
        XCTAssertEqual(back.statistics.wallSeconds, .greatestFiniteMagnitude)
        // A line without such numbers is exactly what JSONEncoder writes.
        let plain = record(1, solved: false)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        XCTAssertEqual(try ResultsJSON.encode(plain), try encoder.encode(plain))
        // Text that looks like the placeholder stays text.
        var odd = plain
        odd.input = "\u{0}seedflow:+inf"
        odd.tree[0].value = .infinity
        let oddBack = try JSONDecoder().decode(RunRecord.self, from: try ResultsJSON.encode(odd))
        XCTAssertEqual(oddBack.tree[0].value, .greatestFiniteMagnitude)
    }

    /// Numbers beyond a double's range, as a hand edit leaves them, read as the nearest ones; a
    /// number in a string is text and stays as it is.
    func testNumbersBeyondADoublesRangeAreReadAsTheNearest() throws {
        let path = try temporaryPath("edited.jsonl")
        var r = record(0, solved: true, input: "1e999 \\\" -1e999")
        r.tree.append(TreeNodeRecord(id: 1, parent: 0, depth: 1, thought: "a", state: "x", value: 2))
        try writeResults([r], to: path)
        let line = try String(contentsOfFile: path, encoding: .utf8)
        let edited = line.replacingOccurrences(of: #""wall_s":1.5"#, with: #""wall_s":1E+999"#)
            .replacingOccurrences(of: #""value":2"#, with: #""value":-1e999"#)
            .replacingOccurrences(of: #""seed":42"#, with: #""seed":42,"x":1.5e-999"#)
        XCTAssertEqual(edited.components(separatedBy: "999").count, 6, edited)
        try edited.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try JSONDecoder().decode(RunRecord.self, from: Data(edited.utf8)), "JSONDecoder refuses them")
        let back = try XCTUnwrap(try ResultsFile.read(path: path).first)
        XCTAssertEqual(back.statistics.wallSeconds, .greatestFiniteMagnitude)
        XCTAssertEqual(back.tree.last?.value, -.greatestFiniteMagnitude)
        XCTAssertEqual(back.input, r.input)
        XCTAssertNil(ResultsJSON.numbersInRange(Data(line.utf8)), "a line without such numbers is left alone")
        // Other damage is still reported as such.
        try String(edited.dropLast(2) + "x\n" + edited).write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ResultsFile.read(path: path)) { error in
            XCTAssertTrue("\(error)".contains(":1: "), "\(error)")
        }
    }

    /// A resume with nothing left and a workflow that checks nothing have summaries of their own.
    func testSummariesOfNothingLeftAndOfUncheckedAnswers() {
        var summary = RunSummary(resultsPath: "runs/x.jsonl", inputs: 0, skipped: 3, solved: 0, generatedTokens: 0, modelCalls: 0,
                                 wallSeconds: 0, acceptance: nil, tokensPerTargetPass: 0, strategy: .seed, interrupted: false,
                                 draftSeconds: 0, verifySeconds: 0)
        XCTAssertEqual(summary.render(), """
            inputs   0 (+3 already in the results file)
            results  runs/x.jsonl
            note     nothing was left to run: every input already has its result in the results file
            """)
        summary.skipped = 0
        XCTAssertTrue(summary.render().contains("nothing was left to run: the inputs file holds no input"), summary.render())
        summary.inputs = 4
        summary.solved = 4
        XCTAssertTrue(summary.render().contains("\nsolved                                      4 (100.0%)\n"), summary.render())
        XCTAssertTrue(summary.render().contains("tokens per target pass (all calls batched)  0.00"), summary.render())
        summary.answersChecked = false
        XCTAssertTrue(summary.render().contains("\nfinished                                    4 (100.0%) — nothing checks the answers\n"),
                      summary.render())
    }

    func testCompareFindsInputsSolvedByOneRunOnly() throws {
        let a = try temporaryPath("a.jsonl"), b = try temporaryPath("b.jsonl")
        let fa = try ResultsFile(path: a, mode: .create), fb = try ResultsFile(path: b, mode: .create)
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
        // Inputs overlap in time and share passes: a mean time per input, tokens per pass per call.
        XCTAssertEqual(c.a.meanInputSeconds ?? 0, 1.5, accuracy: 1e-9)
        XCTAssertEqual(c.a.tokensPerCallPass ?? 0, Double(100 + 101 + 102 + 103) / 80, accuracy: 1e-9)
        XCTAssertFalse(c.render().contains("wall time (s)"))
        XCTAssertTrue(c.render().contains("solved by A only (1): 1 2 3 1"))
    }

    /// An input that could not run in one file (an `error` line) is not "solved by the other
    /// only": that would pass a broken setup off as a worse search.
    func testCompareLeavesOutInputsThatCouldNotRun() throws {
        let a = try temporaryPath("a.jsonl"), b = try temporaryPath("b.jsonl")
        var failed = record(1, solved: false)
        failed.error = "the generate step's prompt is too long"
        try writeResults([record(0, solved: true), record(1, solved: true)], to: a)
        try writeResults([record(0, solved: false), failed], to: b)
        let c = try RunComparison(pathA: a, pathB: b)
        XCTAssertEqual(c.onlyA, ["1 2 3 0"])
        XCTAssertEqual(c.b.failed, 1)
        XCTAssertEqual(c.unmatched, 0)
        // Every key is written, a missing value as null (as run --json writes it).
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(c)) as? [String: Any])
        let side = try XCTUnwrap(json["b"] as? [String: Any])
        XCTAssertEqual(side.keys.sorted(), ["acceptance", "failed", "generated_tokens", "inputs", "lookup_acceptance", "mean_input_s",
                                            "model_acceptance", "path", "solved", "tokens_per_call_pass", "workflow_hashes",
                                            "workflow_sha256"])
        XCTAssertTrue(side["workflow_sha256"] is NSNull)
    }

    /// Text with no whole record is not a results file, with or without a final newline (as
    /// --resume refuses it); a cut-short line after whole records is dropped.
    func testAFileWithoutAResultIsNotAResultsFile() throws {
        let cut = try temporaryPath("cut.jsonl")
        try writeResults([record(0, solved: true)], to: cut)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: cut))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"index": 1, "input": "1 2 3 4", "answ"#.utf8))
        try handle.close()
        XCTAssertEqual(try ResultsFile.read(path: cut).map(\.index), [0])
        for text in ["hello world", "hello world\n", "{\"inputs\": 3}", "{", #"{"index": 0, "inp"#] {
            let path = try temporaryPath("x.jsonl")
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try ResultsFile.read(path: path), text.debugDescription) { error in
                XCTAssertTrue("\(error)".contains(":1: "), "\(error)")
            }
        }
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

    /// Overrides compare by what they leave each key at: the last one given for a key wins.
    func testOverridesCompareByTheirEffect() throws {
        let workflow = try temporaryPath("w.yaml")
        try Data("name: x\n".utf8).write(to: URL(fileURLWithPath: workflow))
        func provenance(_ overrides: [String]) throws -> Provenance {
            var p = try Provenance(workflowFile: workflow, promptFiles: [:], modelFiles: [])
            p.overrides = overrides
            return p
        }
        let a = try provenance(["search.breadth=1", "search.breadth=3"])
        XCTAssertNotNil(a.difference(from: try provenance(["search.breadth=3", "search.breadth=1"])), "breadth 3 against breadth 1")
        XCTAssertNil(a.difference(from: try provenance(["search.breadth=3"])), "the same breadth")
        XCTAssertNil(try provenance(["a=1", "b=2"]).difference(from: try provenance(["b=2", "a=1"])), "other keys, any order")
        XCTAssertNil(try provenance(["a=1", "models.kv_cache.memory=1GiB"]).difference(from: try provenance(["a=1"])))
        // A key inside another: the order decides what the inner key ends at.
        let outerFirst = try provenance(["search.generate={temperature: 0.7}", "search.generate.temperature=0"])
        XCTAssertNotNil(outerFirst.difference(from: try provenance(["search.generate.temperature=0", "search.generate={temperature: 0.7}"])))
        XCTAssertNil(outerFirst.difference(from: try provenance(["search.generate={temperature: 0.7}", "search.generate.temperature=0"])))
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

    /// Int.min has no positive counterpart in Int: reaching it is overflow, not a trap.
    func testResultsAtIntMinAreOverflow() {
        for expression in ["(0 - 2147483648) * 4294967296", "0 - 4294967296 * 2147483648",
                           "(0 - 2147483648) * 4294967296 / 1", "1 / ((0 - 2147483648) * 4294967296)",
                           "(0 - 4294967296 * 2147483647) - 4294967296"] {
            XCTAssertNil(ArithmeticExpression(expression), expression)
        }
        XCTAssertEqual(ArithmeticExpression("(0 - 2147483648) * 4294967295")?.value, Rational(-9_223_372_034_707_292_160),
                       "one step short of Int.min is a number")
    }
}

extension ResultsTests {
    /// Result lines written before the lookup source have no lookup counts: they read as 0.
    func testStatisticsWithoutLookupCountsStillRead() throws {
        let old = #"{"generated_tokens":5,"prompt_tokens":3,"model_calls":1,"target_passes":4,"drafted_tokens":2,"accepted_tokens":1,"wall_s":0.5}"#
        let statistics = try JSONDecoder().decode(RunStatistics.self, from: Data(old.utf8))
        XCTAssertEqual(statistics.draftedTokens, 2)
        XCTAssertEqual(statistics.lookupDraftedTokens, 0)
        var withLookup = statistics
        withLookup.lookupDraftedTokens = 2
        withLookup.lookupSiblingProposals = 1
        let again = try JSONDecoder().decode(RunStatistics.self, from: JSONEncoder().encode(withLookup))
        XCTAssertEqual(again, withLookup)
    }
}
