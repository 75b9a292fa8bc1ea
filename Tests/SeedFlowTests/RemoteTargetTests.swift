import Foundation
import XCTest
@testable import SeedFlow
import SeedEngine

/// The remote target's keys in a workflow, and the pieces of the remote backend that need no
/// server (the servers themselves are exercised in CLITests/RemoteServerTests).
final class RemoteTargetTests: XCTestCase {
    private var scratch: Scratch!

    override func setUpWithError() throws {
        scratch = try Scratch(self)
        try scratch.writePrompts()
    }

    private var w: String { scratch.directory + "/w.yaml" }

    /// The minimal workflow with its target (and drafts) replaced by `models`.
    private func write(models: String) throws -> String {
        let base = minimalWorkflow()
        let start = try XCTUnwrap(base.range(of: "models:\n"))
        let end = try XCTUnwrap(base.range(of: "decoding:\n"))
        return try scratch.write("w.yaml", base.replacingCharacters(in: start.lowerBound..<end.lowerBound, with: "models:\n" + models))
    }

    func testOneSetOfTheURLTurnsALocalWorkflowRemote() throws {
        let report = validateWorkflow(path: try scratch.write("w.yaml", minimalWorkflow()), overrides: ["models.target.url=http://127.0.0.1:8080/v1"])
        XCTAssertTrue(report.isValid, report.diagnostics.map(\.description).joined(separator: "\n"))
        let workflow = try loadWorkflow(path: w, overrides: ["models.target.url=http://127.0.0.1:8080/v1"])
        let remote = try XCTUnwrap(workflow.models.target.remote)
        XCTAssertEqual(remote.urls.map(\.absoluteString), ["http://127.0.0.1:8080/v1"])
        XCTAssertTrue(remote.overridesLocal, "the path it overrides is noted")
        XCTAssertTrue(workflow.models.drafts.isEmpty, "local drafts are not used with a remote target")
        XCTAssertEqual(remote.timeoutSeconds, 600)
        XCTAssertNil(remote.maxConcurrency)
    }

    func testURLAndURLsTogetherAreRefused() throws {
        let found = diagnostics(of: try write(models: "  target: { url: 'http://a:1/v1', urls: ['http://b:1/v1'] }\n"))
        XCTAssertEqual(found.map(\.description), ["\(w):4:41: models.target has both 'url' and 'urls' — give one server as 'url', or all of them as 'urls'"])
    }

    func testABadURLNamesItsPlace() throws {
        let found = diagnostics(of: try write(models: "  target:\n    url: ftp://host/v1\n"))
        XCTAssertEqual(found.map(\.description), ["\(w):5:10: 'url' must be an http:// or https:// URL with a host, got 'ftp://host/v1' — write the server's base URL, such as http://127.0.0.1:8080/v1"])
    }

    func testRemoteKeysWithoutAURLAreRefused() throws {
        let found = diagnostics(of: try write(models: "  target: { path: \(FlowTestPaths.target), max_concurrency: 8 }\n  drafts: [{ path: \(FlowTestPaths.draftS) }]\n"))
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertEqual(found.first?.kind, .conflict)
        XCTAssertTrue(found.first?.description.contains("'max_concurrency' applies to a remote target") == true, "\(found)")
    }

    func testDraftsBesideAWorkflowsOwnURLAreRefusedWithTheReason() throws {
        let found = diagnostics(of: try write(models: "  target: { url: 'http://127.0.0.1:8080/v1' }\n  drafts:\n    - { path: \(FlowTestPaths.draftS) }\n"))
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertEqual(found.first?.mark?.line, 6)
        XCTAssertTrue(found.first?.description.contains("exact verification needs the target's whole next-token distribution") == true)
        XCTAssertTrue(found.first?.description.contains("-md") == true)
    }

    func testAnAPIKeyInPlaceOfAVariableNameIsRefused() throws {
        let found = diagnostics(of: try write(models: "  target: { url: 'https://h/v1', api_key_env: 'sk-abc.def' }\n"))
        XCTAssertEqual(found.map(\.kind), [.invalidValue])
        XCTAssertTrue(found.first?.description.contains("never the key itself") == true)
    }

    func testAChatSectionNeedsALocalTarget() throws {
        let text = minimalWorkflow().replacingOccurrences(of: "name: test", with: "name: test\nchat: { template: chatml }")
        let found = diagnostics(of: try scratch.write("w.yaml", text), overrides: ["models.target.url=http://127.0.0.1:8080/v1"])
        XCTAssertEqual(found.map(\.kind), [.conflict])
    }

    // MARK: backend pieces

    func testAKeyIsNotSentOverPlainHTTPToAnotherHost() throws {
        let target = RemoteTarget(urls: [try XCTUnwrap(URL(string: "http://192.0.2.1:8080/v1"))], model: nil, apiKeyEnv: "K",
                                  maxConcurrency: nil, timeoutSeconds: 5, retries: 0, overridesLocal: false)
        XCTAssertThrowsError(try RemoteBackend(target: target, allowInsecureHTTP: false, environment: ["K": "secret"])) { error in
            XCTAssertEqual(error as? RemoteError, .insecureKey(url: "http://192.0.2.1:8080/v1"))
            XCTAssertFalse("\(error)".contains("secret"))
        }
        XCTAssertThrowsError(try RemoteBackend(target: target, allowInsecureHTTP: false, environment: [:])) { error in
            XCTAssertEqual(error as? RemoteError, .missingKey(variable: "K"))
        }
    }

    func testURLsLoopbackAndScrubbing() throws {
        XCTAssertEqual(RemoteBackend.apiBase(try XCTUnwrap(URL(string: "http://h:1"))).absoluteString, "http://h:1/v1")
        XCTAssertEqual(RemoteBackend.apiBase(try XCTUnwrap(URL(string: "http://h:1/v1"))).absoluteString, "http://h:1/v1")
        XCTAssertEqual(RemoteBackend.display(try XCTUnwrap(URL(string: "http://u:pw@h:1/v1"))), "http://h:1/v1")
        XCTAssertTrue(RemoteBackend.isLoopback("127.0.0.1"))
        XCTAssertTrue(RemoteBackend.isLoopback("[::1]"))
        XCTAssertTrue(RemoteBackend.isLoopback("localhost"))
        XCTAssertFalse(RemoteBackend.isLoopback("10.0.0.1"))
        XCTAssertEqual(RemoteBackend.scrub("bad key abc123 refused", "abc123"), "bad key [API key] refused")
        XCTAssertNotEqual(RemoteBackend.seed(42, tag: "0/d0/gen/0/0"), RemoteBackend.seed(42, tag: "0/d0/gen/0/1"))
        XCTAssertEqual(RemoteBackend.seed(42, tag: "x"), RemoteBackend.seed(42, tag: "x"))
    }

    /// A resumed run on another server model is refused; the URL alone may change.
    func testProvenanceComparesTheServersModelNotItsURL() throws {
        let workflow = try scratch.write("w.yaml", minimalWorkflow())
        let a = try Provenance(workflowFile: workflow, promptFiles: [:],
                               models: .server(.init(urls: ["http://a:1/v1"], model: "m", identity: "m n_params=1")))
        var b = try Provenance(workflowFile: workflow, promptFiles: [:],
                               models: .server(.init(urls: ["http://b:2/v1"], model: "m", identity: "m n_params=1")))
        b.overrides = ["models.target.url=http://b:2/v1"]
        var a2 = a
        a2.overrides = ["models.target.url=http://a:1/v1"]
        XCTAssertNil(a2.difference(from: b))
        let c = try Provenance(workflowFile: workflow, promptFiles: [:],
                               models: .server(.init(urls: ["http://a:1/v1"], model: "m", identity: "m n_params=2")))
        XCTAssertEqual(a.difference(from: c), "it ran on the server model 'm' (m n_params=1), this run on the server model 'm' (m n_params=2)")
        let local = try Provenance(workflowFile: workflow, promptFiles: [:], models: .files([workflow]))
        XCTAssertNotNil(local.difference(from: a))
    }
}
