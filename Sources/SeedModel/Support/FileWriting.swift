import Foundation

/// Writing to a file descriptor, as every writer here needs it: all the bytes, through signals,
/// and through a full non-blocking descriptor (whoever opened it may have set O_NONBLOCK).
public enum FileWriting {
    /// Writes every byte of `bytes`; returns 0, or the errno of the write that failed.
    public static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&ready, 1, -1)
                    continue
                }
                return errno
            }
            offset += written
        }
        return 0
    }
}

/// UTF-8 text as files hold it.
public enum UTF8Text {
    /// The bytes after a UTF-8 byte-order mark, which some editors write first and which is no
    /// part of the text; all of them when there is none.
    public static func droppingByteOrderMark(_ data: Data) -> Data.SubSequence {
        data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data[...]
    }

    /// The offset of the first byte that is not part of well-formed UTF-8, or nil when all are.
    public static func firstInvalidByte<Bytes: Collection>(_ bytes: Bytes) -> Int? where Bytes.Element == UInt8 {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case let .valid(scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// The text of `bytes`, or nil when they are not well-formed UTF-8 (never repaired).
    public static func decode<Bytes: Collection>(_ bytes: Bytes) -> String? where Bytes.Element == UInt8 {
        firstInvalidByte(bytes) == nil ? String(decoding: bytes, as: UTF8.self) : nil
    }
}
