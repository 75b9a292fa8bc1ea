import Foundation
import XCTest

/// Ctrl-C during `seedflow run`: what finished is written, whole lines only, and the run can resume.
final class InterruptTests: XCTestCase {
    func testInterruptWritesFinishedInputsAndResumes() throws {
        let results = try Seedflow.temporaryFile(named: "interrupted.jsonl", contents: Data())
        try? FileManager.default.removeItem(atPath: results)
        let process = Process()
        process.executableURL = try Seedflow.binary
        process.arguments = ["run", Seedflow.repoRoot.appendingPathComponent("workflows/game24.yaml").path,
                             "--limit", "6", "--jobs", "1", "--results", results]
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // Interrupt once the first input is written (or after 60 s at the most).
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning,
              (try? String(contentsOfFile: results, encoding: .utf8))?.contains("\n") != true {
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertTrue(process.isRunning, "the run ended before it could be interrupted")
        process.interrupt()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))

        let text = try String(contentsOfFile: results, encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\n"), "only whole lines are written")
        let written = text.split(separator: "\n")
        XCTAssertGreaterThanOrEqual(written.count, 1)
        XCTAssertLessThan(written.count, 6, "the run stopped early")
        for line in written {
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)))
        }

        let resumed = try Seedflow.run(["run", Seedflow.repoRoot.appendingPathComponent("workflows/game24.yaml").path,
                                        "--limit", "6", "--results", results, "--resume", "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let lines = try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 6, "exactly one line per input after resuming")
        let indices = try lines.map { try XCTUnwrap((try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["index"] as? Int) }
        XCTAssertEqual(Set(indices), Set(0..<6))
    }
}
