import XCTest
@testable import SeedFlow

final class ShippedWorkflowTests: XCTestCase {
    func testShippedWorkflowsValidate() {
        for name in ["game24", "game24-dfs"] {
            let report = validateWorkflow(path: FlowTestPaths.repo("workflows/\(name).yaml"))
            XCTAssertTrue(report.isValid, "\(name):\n\(report.text)")
        }
    }

    func testMinimalWorkflowValidates() throws {
        let scratch = try Scratch(self)
        try scratch.writePrompts()
        let path = try scratch.write("w.yaml", minimalWorkflow())
        let report = validateWorkflow(path: path)
        XCTAssertTrue(report.isValid, report.text)
    }
}
