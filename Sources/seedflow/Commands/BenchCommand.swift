/// `seedflow bench`: measurements, kept out of the unit tests (timings there would be noise).
/// A group: one model's speed, batching over the KV pool, and the decoding strategies.
struct BenchCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "bench",
            abstract: "Measure speed and memory.",
            usage: "<subcommand> [options]",
            examples: [
                "seedflow bench model -m models/seedflow-demo-target.gguf",
                "seedflow bench batch -m models/seedflow-demo-target.gguf",
                "seedflow bench speculative -m models/seedflow-demo-target.gguf --draft models/seedflow-demo-draft-s.gguf:4",
            ])
    }

    static var subcommands: [CommandEntry] { [BenchModelCommand.entry, BenchBatchCommand.entry, BenchSpeculativeCommand.entry] }

    init(_ arguments: ParsedArguments) throws {}
}
