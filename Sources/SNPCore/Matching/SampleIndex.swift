/// The bid-price samples of one profession filed by place (`SlotIndex`'s cells), so that
/// the demand on a newly published slot (`MatchingEngine.lateDemand(on:)`) reads only the
/// samples that could reach it instead of every recent request of the profession, each
/// with a haversine. At a million open slots and a hundred thousand recent requests, that
/// walk was most of the cost of a `SLOT ADD` (docs/PERFORMANCE.md, change 19).
struct SampleIndex: Sendable {
    /// Samples filed under their cell: those whose office radius is at most `nearbyKm`.
    private var byCell: [Int64: [Int]] = [:]
    /// Samples whose office radius is above `nearbyKm`, wherever they are.
    private var wide: [Int] = []
    /// Samples that accept a remote slot (also filed by place, for their other modes).
    private var tele: [Int] = []

    static let nearbyKm = RequestQueue.nearbyKm

    init(_ samples: [BidPriceBook.Sample]) {
        for (i, q) in samples.enumerated() {
            if q.modes.contains(.tele) { tele.append(i) }
            if q.modes.contains(.office) && q.officeRadiusKm > Self.nearbyKm {
                wide.append(i)
            } else {
                byCell[SlotIndex.cell(of: q.location), default: []].append(i)
            }
        }
    }

    /// The positions, ascending, of the samples that may reach a slot of `mode` at
    /// `location` (a home slot reaching `homeRadiusKm` around it): a superset of those that
    /// do, which the caller checks one by one. Ascending, so that a sum over them is made in
    /// the same order as over every sample, to the last bit.
    func candidates(mode: SlotMode, at location: GeoPoint, homeRadiusKm: Double) -> [Int] {
        if mode == .tele { return tele }
        // An office slot: a sample filed by cell reaches at most `nearbyKm`. A home slot: the
        // professional's radius. Either way, the wide samples may be anywhere.
        let radius = mode == .office ? Self.nearbyKm : homeRadiusKm
        var found = wide
        SlotIndex.forEachCell(near: location, radiusKm: radius) { cell in
            if let filed = byCell[cell] { found.append(contentsOf: filed) }
        }
        found.sort()
        return found
    }
}
