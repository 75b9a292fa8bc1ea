import Foundation

/// What a path names, so that messages can tell a missing file from a directory given where a
/// file was expected.
public enum PathKind: Sendable, Equatable {
    case missing, directory, file

    public init(_ path: String) {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            self = .missing
        } else {
            self = isDirectory.boolValue ? .directory : .file
        }
    }
}
