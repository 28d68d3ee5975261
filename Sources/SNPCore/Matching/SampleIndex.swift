/// The bid-price samples of one profession filed by place, exactly as the queue files the
/// waiting requests (`RequestQueue.cell(for:)`: their grid cell, or the wide list when they
/// reach further than `RequestQueue.nearbyKm` or accept a remote slot), so that the demand
/// on a newly published slot (`MatchingEngine.lateDemand(on:)`) reads only the samples that
/// could reach it, found as a freed place finds its waiting requests (`reachKm(of:pro:)`),
/// instead of every recent request of the profession, each with a haversine. At a million
/// open slots and a hundred thousand recent requests, that walk was most of the cost of a
/// `SLOT ADD` (docs/PERFORMANCE.md, change 19).
struct SampleIndex: Sendable {
    /// Positions of the samples filed under each cell.
    private var byCell: [Int64: [Int]] = [:]
    /// Positions of the samples on the wide list.
    private var wide: [Int] = []

    /// `cells[i]`: where sample `i` is filed (`RequestQueue.cell(for:)` of its request).
    init(cells: [Int64]) {
        for (i, cell) in cells.enumerated() {
            if cell == RequestQueue.wideCell { wide.append(i) } else { byCell[cell, default: []].append(i) }
        }
    }

    /// The positions, ascending, of the samples filed in the cells within `reachKm` of
    /// `point` (none if `nil`) and of those on the wide list: a superset of those that reach
    /// a place there, which the caller checks one by one. Ascending, so that a sum over them
    /// is made in the same order as over every sample, to the last bit.
    func near(_ point: GeoPoint, reachKm: Double?) -> [Int] {
        var found = wide
        if let reachKm {
            SlotIndex.forEachCell(near: point, radiusKm: reachKm) { cell in
                if let filed = byCell[cell] { found.append(contentsOf: filed) }
            }
        }
        found.sort()
        return found
    }
}
