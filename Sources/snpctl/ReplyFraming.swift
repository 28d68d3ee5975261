/// How a reply ended: the protocol has exactly two outcomes, and snpctl's exit status is
/// derived from them.
enum ReplyStatus: Equatable {
    case ok
    case err
}

/// The part a received line plays in the conversation.
enum LineRole: Equatable {
    /// A line of a reply. On the reply's last line, `completes` carries its status; it is
    /// `nil` on the first line of a list and on the list items before the last one.
    case reply(completes: ReplyStatus?)
    /// An asynchronous `EVENT` line (after `WATCH`), between replies.
    case event
    /// A line the protocol does not foresee between replies. Printed, never fatal: a newer
    /// server may say things this client does not know about.
    case unexpected
}

/// Finds where each reply ends in the stream of lines (protocol §3.3).
///
/// A reply is one line starting with `OK` or `ERR`, except `OK count=N`, which is followed
/// by exactly N item lines. `EVENT` lines come only between replies, so inside a list every
/// line belongs to the list whatever it starts with. Kept apart from the socket so that
/// the rules sit in one small place.
struct ReplyFramer {
    /// Item lines still expected for the list being received.
    private var remainingItems = 0

    mutating func classify(_ line: [UInt8]) -> LineRole {
        if remainingItems > 0 {
            remainingItems -= 1
            return .reply(completes: remainingItems == 0 ? .ok : nil)
        }
        var words = line.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: true)
            .makeIterator()
        switch words.next().map(Array.init) {
        case Array("OK".utf8)?:
            let items = words.next().flatMap(Self.listCount) ?? 0
            remainingItems = items
            return .reply(completes: items == 0 ? .ok : nil)
        case Array("ERR".utf8)?:
            return .reply(completes: .err)
        case Array("EVENT".utf8)?:
            return .event
        default:
            return .unexpected
        }
    }

    /// N in a `count=N` field; `nil` for any other field (or a malformed count, which is
    /// then taken as an ordinary one-line reply rather than a reason to wait forever).
    private static func listCount(_ field: ArraySlice<UInt8>) -> Int? {
        let prefix = Array("count=".utf8)
        guard field.starts(with: prefix) else { return nil }
        let digits = field.dropFirst(prefix.count)
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        return Int(String(decoding: digits, as: UTF8.self))
    }
}
