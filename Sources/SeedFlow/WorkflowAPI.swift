import Foundation

/// Loads, overrides, decodes and validates a workflow file. Throws every problem found, each as
/// `file:line:col: what is wrong — how to fix`.
///
/// - Parameters:
///   - path: the workflow file; relative paths inside it resolve against its folder.
///   - overrides: `key.path=value` strings as given to `--set`, applied in order.
public func loadWorkflow(path: String, overrides: [String] = [],
                         limits: YAMLLimits = YAMLLimits()) throws(WorkflowDiagnostics) -> Workflow {
    let root: YAMLNode
    // Keys written twice are reported with everything else the file and overrides get wrong.
    let duplicates: [Diagnostic]
    do {
        let (document, repeated) = try YAMLLoader.loadKeepingFirstKeys(path: path, limits: limits)
        guard let document else {
            throw WorkflowDiagnostics([Diagnostic(.yaml, at: SourceMark(file: path, line: 1, column: 1),
                                                  "the file holds no YAML document", fix: "write the workflow in it")])
        }
        root = document
        duplicates = repeated.map(Diagnostic.init)
    } catch let error as YAMLError {
        throw WorkflowDiagnostics([Diagnostic(error)])
    } catch let error as WorkflowDiagnostics {
        throw error
    } catch {
        throw WorkflowDiagnostics([Diagnostic(.yaml, at: nil, "\(error)")])
    }
    let (overridden, overrideProblems) = Overrides.apply(overrides, to: root)
    let problems = duplicates + overrideProblems
    let decoded = WorkflowDecoder(file: path).decode(overridden)
    switch decoded {
    case let .success(workflow) where problems.isEmpty:
        return workflow
    case .success:
        throw WorkflowDiagnostics(problems)
    case let .failure(diagnostics):
        throw WorkflowDiagnostics(problems + diagnostics.diagnostics)
    }
}

/// What `seedflow validate FILE` reports.
public struct ValidationReport: Sendable {
    /// The workflow, when it is valid.
    public var workflow: Workflow?
    /// Every problem; empty when valid.
    public var diagnostics: [Diagnostic]

    public var isValid: Bool { diagnostics.isEmpty }

    /// The text to print: the problems one a line, or a one-line summary of a valid workflow.
    public var text: String {
        if let workflow, diagnostics.isEmpty {
            let s = workflow.search
            return "\(workflow.file): ok — '\(workflow.name)': \(s.algorithm.rawValue) depth \(s.depth) breadth \(s.breadth), "
                + "generate \(s.generate.mode.rawValue), evaluate \(s.evaluate.mode.rawValue) ×\(s.evaluate.samples), "
                + "strategy \(workflow.decoding.strategy.rawValue), \(workflow.models.drafts.count) draft(s)"
        }
        let count = diagnostics.count == 1 ? "1 problem" : "\(diagnostics.count) problems"
        return diagnostics.map(\.description).joined(separator: "\n") + "\n\(count) found"
    }
}

/// `seedflow validate FILE [--set k=v]…`: never throws; the report says what is wrong.
public func validateWorkflow(path: String, overrides: [String] = []) -> ValidationReport {
    do {
        return ValidationReport(workflow: try loadWorkflow(path: path, overrides: overrides), diagnostics: [])
    } catch {
        return ValidationReport(workflow: nil, diagnostics: error.diagnostics)
    }
}
