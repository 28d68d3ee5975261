/// The positions of a list filed by grid cell (`SlotIndex`'s cells), and those that belong
/// anywhere on a list of their own, so that a search reads only the positions near a
/// point instead of every item with a haversine each. Positions come back ascending, so
/// that a sum over them is made in the list's order, to the last bit.
///
/// Two lists are filed this way:
/// - the bid-price samples of a profession, as the queue files the waiting requests
///   (`RequestQueue.cell(for:)`: the wide cell for those that reach further than
///   `RequestQueue.nearbyKm` or accept a remote slot). The demand on a newly published slot
///   (`MatchingEngine.lateDemand(on:)`) reads those near it (docs/PERFORMANCE.md, change 19);
/// - the recent publications a freed place weighs its waiting requests by
///   (`RecentPublications`, change 23), `tele` ones anywhere.
struct CellFiling: Sendable {
    /// Positions filed under each cell.
    private var byCell: [Int64: [Int]] = [:]
    /// Positions filed anywhere.
    private var anywhere: [Int] = []
    /// How many positions are filed: the next one is this.
    private(set) var count = 0

    init() {}

    /// `cells[i]`: where position `i` is filed (`anywhereCell` for anywhere).
    init(cells: [Int64]) {
        for cell in cells { file(cell) }
    }

    /// The cell of the positions that belong anywhere: the queue's wide cell.
    static let anywhereCell = RequestQueue.wideCell

    /// Files the next position under `cell`.
    mutating func file(_ cell: Int64) {
        if cell == CellFiling.anywhereCell { anywhere.append(count) } else { byCell[cell, default: []].append(count) }
        count += 1
    }

    /// The positions, ascending, filed in the cells within `reachKm` of `point` (none if
    /// `nil`) and anywhere: a superset of those that reach a place there, which the caller
    /// checks one by one.
    func near(_ point: GeoPoint, reachKm: Double?) -> [Int] {
        var found = anywhere
        if let reachKm {
            SlotIndex.forEachCell(near: point, radiusKm: reachKm) { cell in
                if let filed = byCell[cell] { found.append(contentsOf: filed) }
            }
        }
        found.sort()
        return found
    }
}
