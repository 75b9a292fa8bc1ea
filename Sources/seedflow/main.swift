#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let dispatcher = CommandDispatcher(
    abstract: "Run GGUF language models on the CPU: inspect, tokenize, generate, score and benchmark.",
    version: Version.current,
    commands: [
        InspectCommand.entry,
        TokenizeCommand.entry,
        GenerateCommand.entry,
        ScoreCommand.entry,
        BenchCommand.entry,
    ])
exit(dispatcher.run(Array(CommandLine.arguments.dropFirst())))
