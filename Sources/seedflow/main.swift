#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let dispatcher = CommandDispatcher(
    abstract: "Tree-of-thoughts workflows on GGUF language models with scheduled speculative decoding, on the CPU.",
    version: Version.current,
    commands: [
        InspectCommand.entry,
        TokenizeCommand.entry,
        GenerateCommand.entry,
        ScoreCommand.entry,
        BenchCommand.entry,
        RunCommand.entry,
        ValidateCommand.entry,
        GraphCommand.entry,
        CompareCommand.entry,
    ])
exit(dispatcher.run(Array(CommandLine.arguments.dropFirst())))
