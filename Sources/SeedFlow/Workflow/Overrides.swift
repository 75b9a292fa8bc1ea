/// `--set key.path=value`: replaces (or adds) one value in the YAML tree before decoding, so
/// overrides are checked exactly like the file. The value is read as a YAML scalar or flow value
/// (`4`, `'42'`, `[a, b]`); a key that the schema does not know is then reported by the decoder as
/// an unknown key, with a did-you-mean. Path parts are mapping keys, or list indexes (`drafts.0.path`).
enum Overrides {
    static func apply(_ arguments: [String], to root: YAMLNode) -> (YAMLNode, [Diagnostic]) {
        var root = root
        var diagnostics: [Diagnostic] = []
        for argument in arguments {
            let mark = SourceMark(override: argument)
            guard let equals = argument.firstIndex(of: "=") else {
                diagnostics.append(Diagnostic(.invalidValue, at: mark, "an override must be written key.path=value",
                                              fix: "e.g. --set search.depth=4"))
                continue
            }
            let path = argument[..<equals].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard path.allSatisfy({ !$0.isEmpty }) else {
                diagnostics.append(Diagnostic(.invalidValue, at: mark, "'\(argument[..<equals])' is not a key path",
                                              fix: "write keys separated by single dots, e.g. search.generate.temperature"))
                continue
            }
            let text = String(argument[argument.index(after: equals)...])
            let value: YAMLNode
            do {
                // An empty value means the empty string, not YAML's null: `--set description=`.
                value = try YAMLLoader.parse(text, file: "--set")?.remarked(mark)
                    ?? YAMLNode(.scalar(YAMLScalar(value: "", style: .singleQuoted)), mark: mark)
            } catch {
                diagnostics.append(Diagnostic(.invalidValue, at: mark, "the value is not valid YAML: \(error.message)",
                                              fix: "quote it, e.g. --set name='a: b'"))
                continue
            }
            do throws(OverrideError) {
                root = try set(value, at: path[...], in: root, mark: mark, done: [])
            } catch {
                diagnostics.append(Diagnostic(.invalidValue, at: mark, error.message, fix: error.fix))
            }
        }
        return (root, diagnostics)
    }

    struct OverrideError: Error {
        var message: String
        var fix: String
    }

    private static func set(_ value: YAMLNode, at path: ArraySlice<String>, in node: YAMLNode,
                            mark: SourceMark, done: [String]) throws(OverrideError) -> YAMLNode {
        guard let key = path.first else { return value }
        let here = (done + [key]).joined(separator: ".")
        // A list that is not there cannot be indexed into being; the whole list has to be given.
        // Nothing is there yet, and a number could be a list's index or a mapping's key (a
        // score table's): the whole value says which.
        func noList(_ at: String, item: String) -> OverrideError {
            OverrideError(message: "there is nothing at '\(at)' to take '\(item)' of",
                          fix: "set the whole value, e.g. --set '\(at)=[...]' for a list or --set '\(at)={\(item): ...}' for a mapping")
        }
        switch node.content {
        case var .mapping(entries):
            if let i = entries.firstIndex(where: { $0.key == key }) {
                entries[i].value = try set(value, at: path.dropFirst(), in: entries[i].value, mark: mark, done: done + [key])
            } else {
                if let next = path.dropFirst().first, Int(next) != nil { throw noList(here, item: next) }
                let empty = YAMLNode(.mapping([]), mark: mark)
                let child = try set(value, at: path.dropFirst(), in: empty, mark: mark, done: done + [key])
                entries.append(YAMLMappingEntry(key: key, keyMark: mark, value: child))
            }
            return YAMLNode(.mapping(entries), mark: node.mark)
        case var .sequence(items):
            guard let index = Int(key), items.indices.contains(index) else {
                let list = done.joined(separator: ".")
                guard !items.isEmpty else {
                    throw OverrideError(message: "'\(list)' is an empty list, so '\(key)' names nothing in it",
                                        fix: "set the whole list, e.g. --set '\(list)=[...]'")
                }
                throw OverrideError(message: "'\(list)' is a list of \(items.count), so '\(key)' names nothing in it",
                                    fix: "use an index from 0 to \(items.count - 1)")
            }
            items[index] = try set(value, at: path.dropFirst(), in: items[index], mark: mark, done: done + [key])
            return YAMLNode(.sequence(items), mark: node.mark)
        case let .scalar(scalar):
            // A key written with nothing after it (`decoding:`) is an empty section: fill it in.
            if case .null = scalar.resolved {
                if Int(key) != nil { throw noList(done.joined(separator: "."), item: key) }
                return try set(value, at: path, in: YAMLNode(.mapping([]), mark: node.mark), mark: mark, done: done)
            }
            throw OverrideError(message: "'\(done.joined(separator: "."))' is a single value (\(node.shortDescription)), so it has no key '\(key)'",
                                fix: "set '\(done.joined(separator: "."))' itself, or check the path '\(here)'")
        }
    }
}
