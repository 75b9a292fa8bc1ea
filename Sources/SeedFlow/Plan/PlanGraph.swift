/// Graph output formats for `seedflow graph`.
public enum GraphFormat: String, Sendable, CaseIterable {
    case dot, mermaid
}

extension Plan {
    /// Graphviz: `seedflow graph FILE | dot -Tsvg > plan.svg`.
    public func dot() -> String {
        var lines = ["digraph \"\(Self.dotEscape(workflow.name))\" {",
                     "  rankdir=TB;",
                     "  node [shape=box, style=rounded, fontname=\"Helvetica\"];",
                     "  edge [fontname=\"Helvetica\", fontsize=10];"]
        for step in steps {
            let shape = step.id == .goal ? ", shape=diamond, style=\"\"" : ""
            lines.append("  \(step.id.rawValue) [label=\"\(step.id.rawValue)\\n\(Self.dotEscape(step.summary))\"\(shape)];")
        }
        for edge in edges {
            let style = edge.condition == .backtrack || edge.condition == .nextLevel ? ", style=dashed" : ""
            lines.append("  \(edge.from.rawValue) -> \(edge.to.rawValue) [label=\"\(Self.dotEscape(edge.label))\"\(style)];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Mermaid flowchart, for Markdown that renders it (GitHub does).
    public func mermaid() -> String {
        var lines = ["flowchart TD"]
        for step in steps {
            let text = "\(step.id.rawValue): \(Self.mermaidEscape(step.summary))"
            lines.append(step.id == .goal ? "  \(step.id.rawValue){\"\(text)\"}" : "  \(step.id.rawValue)[\"\(text)\"]")
        }
        for edge in edges {
            let arrow = edge.condition == .backtrack || edge.condition == .nextLevel ? "-.->" : "-->"
            lines.append("  \(edge.from.rawValue) \(arrow)|\"\(Self.mermaidEscape(edge.label))\"| \(edge.to.rawValue)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func render(_ format: GraphFormat) -> String {
        switch format {
        case .dot: return dot()
        case .mermaid: return mermaid()
        }
    }

    private static func dotEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// A label inside Mermaid's quotes (`id["…"]`, `|"…"|`). Mermaid reads `#name;` and `#123;`
    /// there as the HTML entities `&name;` and `&#123;` (its documented escape; backslashes do
    /// not work), and the label is HTML, so `<` would start a tag. The named codes keep the
    /// source readable: `(?#lt;step#gt;.+)`, `#quot;24#quot;`. `&` and `#` are coded too, so that
    /// text which looks like an entity is shown as written.
    static func mermaidEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "#": out += "#35;"
            case "&": out += "#amp;"
            case "\"": out += "#quot;"
            case "<": out += "#lt;"
            case ">": out += "#gt;"
            case "\r\n", "\n", "\r": out += " "
            default: out.append(c)
            }
        }
        return out
    }
}

/// `seedflow graph FILE [--format dot|mermaid] [--set k=v]…`: the plan as text, or every problem.
public func renderGraph(path: String, overrides: [String] = [],
                        format: GraphFormat = .dot) throws(WorkflowDiagnostics) -> String {
    try Plan(path: path, overrides: overrides).render(format)
}
