import Foundation

/// A professional's slots in order of start, then number: the FHIR search (SPEC §7.2)
/// reads the slots of its window directly, by binary search, instead of looking up every
/// slot the professional has and sorting those it keeps (docs/PERFORMANCE.md, issue 15).
///
/// Derived state, kept by `MatchingEngine.setSlot` beside `slotsByPro`: every slot of the
/// professional, withdrawn, full and extra ones included (the reader applies the rules).
struct SlotTimeline: Sendable {
    struct Entry: Sendable, Equatable {
        /// `Slot.start`, in seconds since 1970 (the same order as the `Date`s).
        var start: Double
        var number: Int64

        static func precedes(_ a: Entry, _ b: Entry) -> Bool {
            a.start != b.start ? a.start < b.start : a.number < b.number
        }
    }

    private(set) var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }

    /// The first position whose entry does not precede `e`.
    private func position(of e: Entry) -> Int {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if Entry.precedes(entries[mid], e) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Slots are mostly published in order of start: those go at the end without a search.
    mutating func insert(start: Date, number: Int64) {
        let e = Entry(start: start.timeIntervalSince1970, number: number)
        if let last = entries.last, !Entry.precedes(last, e) {
            entries.insert(e, at: position(of: e))
        } else {
            entries.append(e)
        }
    }

    mutating func remove(start: Date, number: Int64) {
        let e = Entry(start: start.timeIntervalSince1970, number: number)
        let i = position(of: e)
        if i < entries.count, entries[i] == e { entries.remove(at: i) }
    }

    /// The numbers of the slots starting in `earliest...latest` (whole seconds since 1970,
    /// compared with `Date.epochSeconds` as the rest of the engine does), by start then number.
    func numbers(startingFrom earliest: Int64, through latest: Int64, _ body: (Int64) -> Void) {
        guard earliest <= latest else { return }
        // `epochSeconds` rounds down: a start is at or after `earliest` exactly when its
        // seconds are, and at or before `latest` when they are below `latest + 1`.
        var i = position(of: Entry(start: Double(earliest), number: .min))
        let end = Double(latest) + 1
        while i < entries.count, entries[i].start < end {
            body(entries[i].number)
            i += 1
        }
    }
}
