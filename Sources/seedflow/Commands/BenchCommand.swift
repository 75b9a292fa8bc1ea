/// `seedflow bench`: measurements, kept out of the unit tests (timings there would be noise).
/// A group so that workflow benchmarks can join `model` later.
struct BenchCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "bench",
            abstract: "Measure speed and memory.",
            usage: "<subcommand> [options]",
            examples: ["seedflow bench model -m models/seedflow-demo-target.gguf"])
    }

    static var subcommands: [CommandEntry] { [BenchModelCommand.entry] }

    init(_ arguments: ParsedArguments) throws {}
}
