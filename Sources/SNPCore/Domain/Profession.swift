/// The professions that publish slots. Matching never crosses professions (§4.1).
public enum Profession: String, CaseIterable, Sendable, Codable, Comparable {
    /// Médecin généraliste.
    case gp
    /// Masseur-kinésithérapeute.
    case kine
    /// Infirmier, infirmière.
    case nurse
    /// Sage-femme.
    case midwife
    /// Chirurgien-dentiste.
    case dentist
    case pediatrician

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Where the appointment takes place.
public enum SlotMode: String, CaseIterable, Sendable, Codable {
    /// At the practice: the patient travels, the request's `radius_km` bounds the distance.
    case office
    /// At the patient's home: the professional travels, their `home_radius_km` bounds it.
    case home
    /// Teleconsultation: no distance limit, and distance costs nothing.
    case tele
}

extension Profession {
    /// A small number for each profession, for keys hashed in searches: an enum with `String`
    /// raw values hashes its string.
    var number: UInt8 {
        switch self {
        case .gp: 0
        case .kine: 1
        case .nurse: 2
        case .midwife: 3
        case .dentist: 4
        case .pediatrician: 5
        }
    }
}

extension SlotMode {
    /// A small number for each mode (see `Profession.number`).
    var number: UInt8 {
        switch self {
        case .office: 0
        case .home: 1
        case .tele: 2
        }
    }
}

/// A set of acceptable modes, as a request carries it (`mode=office,home`).
public struct ModeSet: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public init(_ mode: SlotMode) {
        switch mode {
        case .office: self = .office
        case .home: self = .home
        case .tele: self = .tele
        }
    }

    public static let office = ModeSet(rawValue: 1)
    public static let home = ModeSet(rawValue: 2)
    public static let tele = ModeSet(rawValue: 4)
    /// The default of a request (§3.8): in person, at the practice or at home.
    public static let inPerson: ModeSet = [.office, .home]

    public func contains(_ mode: SlotMode) -> Bool { contains(ModeSet(mode)) }

    /// The modes in their canonical order, for output (`office,home`).
    public var modes: [SlotMode] { SlotMode.allCases.filter { contains($0) } }

    public var description: String { modes.map(\.rawValue).joined(separator: ",") }
}

/// Who a token acts as (§3.5).
public enum Role: String, CaseIterable, Sendable, Codable {
    case admin
    /// Coordinateur de la CPTS.
    case coordinator
    /// Régulateur du SAS, or opérateur de soins non programmés (OSNP).
    case regulator
    /// A health professional, or their secretary: bound to one RPPS.
    case pro
    /// Read-only: statistics and lists.
    case reporter
}
