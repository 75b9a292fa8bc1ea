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
        ShowCommand.entry,
        ReportCommand.entry,
    ])
// CommandLine.arguments repairs bytes that are not UTF-8 (into U+FFFD); a prompt given that way
// would reach the model changed without a word, so such an argument is refused.
for index in 1..<Int(CommandLine.argc) {
    guard let raw = CommandLine.unsafeArgv[index], String(validatingCString: raw) == nil else { continue }
    StandardStreams.error("seedflow: argument \(index) is not UTF-8 text — give text in the shell's UTF-8, or put it in a file and use -f FILE (files are checked too)\n")
    exit(2)
}
// A file-size limit (ulimit -f) should fail the write that reaches it, with a message and the
// partial file removed, not kill the process with SIGXFSZ.
signal(SIGXFSZ, SIG_IGN)
exit(dispatcher.run(Array(CommandLine.arguments.dropFirst())))
