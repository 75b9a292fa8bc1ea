/// The execution graph a workflow compiles to: what the runner does, in order, for one input.
///
/// ```
/// input → generate → evaluate → select → goal? ─reached→ finish → check → output
///            ▲                            │
///            └──────── next level ────────┘   (until `depth`; dfs backtracks instead)
/// ```
/// Each step carries the typed settings it runs with (prompt template, sampling, parser), so the
/// runner reads them from the plan rather than re-interpreting the YAML.
public struct Plan: Sendable {
    public var workflow: Workflow
    public var steps: [PlanStep]
    public var edges: [PlanEdge]

    public func step(_ id: PlanStep.ID) -> PlanStep? { steps.first { $0.id == id } }

    /// Edges leaving a step, in the order the runner tries them.
    public func edges(from id: PlanStep.ID) -> [PlanEdge] { edges.filter { $0.from == id } }
}

public struct PlanStep: Sendable, Identifiable {
    public enum ID: String, Sendable, Hashable, CaseIterable {
        case input, generate, evaluate, select, goal, finish, check, output
    }

    public enum Action: Sendable {
        /// Read the inputs; each becomes the root state of one tree.
        case input(InputsSection)
        /// Expand each frontier state into children (one batched engine call set per level).
        case generate(GenerateStep)
        /// Value every new child (one batched engine call set per level).
        case evaluate(EvaluateStep)
        /// Keep the states to expand next.
        case select(Selection)
        /// Is a state final?
        case goal(GoalTest?)
        /// Turn the final path into an answer.
        case finish(FinishStep?)
        /// Decide `solved`.
        case check(AnswerCheck?)
        /// Append the result line.
        case output(OutputSection)
    }

    /// What `select` keeps: the algorithm's frontier rule and the selection mode.
    public struct Selection: Sendable, Equatable {
        public var algorithm: SearchSection.Algorithm
        public var mode: SearchSection.Selection
        public var breadth: Int
        public var pruneBelow: Double?
        public var depth: Int
    }

    public var id: ID
    public var action: Action
    /// One line for graphs and progress: what the step does with which settings.
    public var summary: String
}

public struct PlanEdge: Sendable, Equatable {
    public enum Condition: String, Sendable, Equatable {
        case always
        /// A goal state was found.
        case goalReached
        /// No goal yet and the tree is not at full depth: go one level deeper.
        case nextLevel
        /// dfs: a subtree is exhausted or pruned; continue with the next-best sibling.
        case backtrack
        /// The search ended without a goal: the input is recorded unsolved.
        case exhausted
    }

    public var from: PlanStep.ID
    public var to: PlanStep.ID
    public var condition: Condition
    /// Edge text in graphs.
    public var label: String
}
