import SNPCore

/// How slots and requests meet in time: the two situations online matching faces.
public enum ArrivalKind: String, CaseIterable, Sendable {
    /// Slots are published one to three days ahead: a request usually finds published slots
    /// and the engine chooses among them at once (the regulator on the phone).
    case slotsFirst = "slots-first"
    /// Slots are published half an hour to six hours ahead: requests mostly wait in the
    /// queue, and the engine chooses among them when a slot appears.
    case requestsFirst = "requests-first"

    /// Publication lead range, in hours before the slot's block starts.
    var publicationLeadHours: ClosedRange<Double> {
        switch self {
        case .slotsFirst: 24...72
        case .requestsFirst: 0.5...6
        }
    }
}

/// The parameters of one simulated week.
public struct Scenario: Sendable {
    public var name: String
    public var summary: String
    public var territory: Territory
    /// Volunteer professionals of each profession.
    public var professionals: [Profession: Int]
    /// Requests of a profession over the week, per place its professionals offer that week
    /// (capped by their weekly caps), at the base level of demand.
    public var demandPerPlace: Double
    /// Demand multipliers by day of the week (0 = Monday) and profession: the epidemic of `surge`.
    public var dayFactor: @Sendable (Int, Profession) -> Double
    /// The `radius_km` regulators give for `office` slots (`nil`: the default 20 km).
    public var requestRadiusKm: Double?
    /// The `home_radius_km` nurses set (others keep the 10 km default).
    public var nurseHomeRadiusKm: Double
    /// A cold-start burst instead of a week (`BurstGenerator`): `nil` for the week scenarios.
    public var burst: BurstShape?

    public init(
        name: String, summary: String, territory: Territory, professionals: [Profession: Int], demandPerPlace: Double,
        dayFactor: @escaping @Sendable (Int, Profession) -> Double = { _, _ in 1 }, requestRadiusKm: Double? = nil,
        nurseHomeRadiusKm: Double = 15, burst: BurstShape? = nil
    ) {
        self.name = name
        self.summary = summary
        self.territory = territory
        self.professionals = professionals
        self.demandPerPlace = demandPerPlace
        self.dayFactor = dayFactor
        self.requestRadiusKm = requestRadiusKm
        self.nurseHomeRadiusKm = nurseHomeRadiusKm
        self.burst = burst
    }

    public static let normal = Scenario(
        name: "normal", summary: "Mayenne, 105 professionals; demand 0.65 of the places",
        territory: .mayenne, professionals: [.gp: 60, .kine: 20, .nurse: 25], demandPerPlace: 0.65,
        dayFactor: { _, _ in 1 }, requestRadiusKm: nil, nurseHomeRadiusKm: 15)

    public static let scarce = Scenario(
        name: "scarce", summary: "Mayenne, 105 professionals; demand 1.2 × the places",
        territory: .mayenne, professionals: [.gp: 60, .kine: 20, .nurse: 25], demandPerPlace: 1.2,
        dayFactor: { _, _ in 1 }, requestRadiusKm: nil, nurseHomeRadiusKm: 15)

    /// An epidemic week: from Wednesday demand doubles for GPs and rises by a third for the others.
    public static let surge = Scenario(
        name: "surge", summary: "Mayenne, 105 professionals; from Wednesday GP demand ×2, others ×1.3",
        territory: .mayenne, professionals: [.gp: 60, .kine: 20, .nurse: 25], demandPerPlace: 0.65,
        dayFactor: { day, profession in
            guard day >= 2 else { return 1 }
            let peak = profession == .gp ? 2.0 : 1.3
            return day == 2 ? (1 + peak) / 2 : peak
        }, requestRadiusKm: nil, nurseHomeRadiusKm: 15)

    /// Lozère: few professionals, far apart; regulators widen the radius to 35 km.
    public static let rural = Scenario(
        name: "rural", summary: "Lozère, 50 professionals; demand 0.65 of the places; radius 35 km",
        territory: .lozere, professionals: [.gp: 30, .kine: 8, .nurse: 12], demandPerPlace: 0.65,
        dayFactor: { _, _ in 1 }, requestRadiusKm: 35, nurseHomeRadiusKm: 25)

    /// Issue 17's cold start: a daemon just started in Mayenne (some 90 km from end to end),
    /// the next 48 hours' slots published, then as many requests as places arriving within
    /// 30 minutes, from towns whose demand is their population times 0.3, 1 or 3.
    public static let burst = Scenario(
        name: "burst", summary: "Mayenne, 105 professionals, fresh engine; 1 request per place within 30 min",
        territory: .mayenne, professionals: [.gp: 60, .kine: 20, .nurse: 25], demandPerPlace: 1,
        nurseHomeRadiusKm: 15,
        burst: BurstShape(startHour: 7, minutes: 30, requestsPerPlace: 1, townDemandFactors: [0.3, 1, 3]))

    /// The week scenarios: what `--scenario all` runs.
    public static let all: [Scenario] = [.normal, .scarce, .surge, .rural]

    public static func named(_ name: String) -> Scenario? { (all + [.burst]).first { $0.name == name } }
}
