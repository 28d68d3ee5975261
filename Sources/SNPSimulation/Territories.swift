import SNPCore

/// A town or village of a simulated territory: where patients live and professionals practise.
public struct Town: Sendable {
    public var name: String
    public var location: GeoPoint
    /// Inhabitants (INSEE legal populations, rounded): the weight of demand, and, raised to
    /// a power above 1, of where professionals settle (practices gather in the larger towns).
    public var population: Int

    public init(_ name: String, _ lat: Double, _ lon: Double, _ population: Int) {
        self.name = name
        self.location = GeoPoint(lat: lat, lon: lon)
        self.population = population
    }
}

/// A real French département's towns, as data for a simulated SAS territory.
///
/// Coordinates are those of the town centres, to about a hundredth of a degree (a kilometre):
/// enough for the 10–20 km radii that matter here.
public struct Territory: Sendable {
    public var name: String
    /// The département's number, used as the `territory` code of professionals.
    public var code: String
    public var towns: [Town]

    /// Mayenne (53): a mostly rural département of 307 000 inhabitants around Laval, with
    /// three towns (Laval, Château-Gontier, Mayenne) and market towns 10–20 km apart.
    public static let mayenne = Territory(
        name: "Mayenne", code: "53",
        towns: [
            Town("Laval", 48.0707, -0.7734, 49_500),
            Town("Château-Gontier-sur-Mayenne", 47.8286, -0.7028, 16_800),
            Town("Mayenne", 48.3033, -0.6136, 12_900),
            Town("Évron", 48.1556, -0.4053, 8_600),
            Town("Saint-Berthevin", 48.0675, -0.8292, 7_300),
            Town("Changé", 48.1000, -0.7900, 6_200),
            Town("Bonchamp-lès-Laval", 48.0736, -0.7003, 6_100),
            Town("Ernée", 48.2972, -0.9331, 5_600),
            Town("Louverné", 48.1214, -0.7186, 4_400),
            Town("Craon", 47.8481, -0.9494, 4_400),
            Town("L'Huisserie", 48.0225, -0.7703, 4_100),
            Town("Montsûrs", 48.1358, -0.5519, 3_600),
            Town("Azé", 47.8222, -0.6833, 3_300),
            Town("Cossé-le-Vivien", 47.9447, -0.9128, 3_200),
            Town("Meslay-du-Maine", 47.9561, -0.5525, 3_000),
            Town("Villaines-la-Juhel", 48.3428, -0.2783, 3_000),
            Town("Ambrières-les-Vallées", 48.3975, -0.6183, 2_800),
            Town("Argentré", 48.0836, -0.6428, 2_800),
            Town("Gorron", 48.4117, -0.8133, 2_700),
            Town("Pré-en-Pail-Saint-Samson", 48.4594, -0.1981, 2_600),
            Town("Loiron-Ruillé", 48.0675, -0.9319, 2_600),
            Town("Renazé", 47.7936, -1.0547, 2_500),
            Town("Andouillé", 48.1767, -0.7872, 2_400),
            Town("Lassay-les-Châteaux", 48.4383, -0.4978, 2_300),
            Town("Entrammes", 47.9972, -0.7139, 2_300),
            Town("Quelaines-Saint-Gault", 47.9333, -0.8000, 2_100),
            Town("Martigné-sur-Mayenne", 48.2019, -0.6667, 1_900),
            Town("Saint-Pierre-des-Nids", 48.3986, -0.0983, 1_900),
            Town("Port-Brillet", 48.1153, -0.9711, 1_800),
            Town("Ahuillé", 48.0211, -0.8742, 1_800),
            Town("Saint-Denis-de-Gastines", 48.3419, -0.8592, 1_600),
            Town("Javron-les-Chapelles", 48.4203, -0.3372, 1_400),
            Town("Parné-sur-Roc", 48.0103, -0.6503, 1_400),
            Town("Sainte-Suzanne-et-Chammes", 48.0986, -0.3536, 1_300),
            Town("Landivy", 48.4789, -1.0336, 1_200),
            Town("Fougerolles-du-Plessis", 48.4725, -0.9717, 1_200),
            Town("Vaiges", 48.0428, -0.4756, 1_200),
            Town("Villiers-Charlemagne", 47.9222, -0.6797, 1_200),
            Town("Nuillé-sur-Vicoin", 47.9867, -0.7764, 1_200),
            Town("Juvigné", 48.2294, -1.0364, 1_100),
            Town("Chailland", 48.2264, -0.8678, 1_100),
            Town("Bais", 48.2528, -0.3653, 1_100),
            Town("Soulgé-sur-Ouette", 48.0636, -0.5564, 1_100),
            Town("Grez-en-Bouère", 47.8736, -0.5192, 1_000),
            Town("Saint-Aignan-sur-Roë", 47.8447, -1.1353, 900),
            Town("Ménil", 47.7764, -0.6733, 900),
            Town("Bierné", 47.8125, -0.5408, 700),
            Town("Le Horps", 48.3983, -0.4514, 650),
        ])

    /// Lozère (48): the least populated département (76 000 inhabitants) on the Massif
    /// Central's uplands; villages are far apart and professionals few.
    public static let lozere = Territory(
        name: "Lozère", code: "48",
        towns: [
            Town("Mende", 44.5181, 3.5006, 11_900),
            Town("Marvejols", 44.5536, 3.2911, 4_900),
            Town("Saint-Chély-d'Apcher", 44.8019, 3.2753, 4_100),
            Town("Langogne", 44.7275, 3.8553, 2_900),
            Town("Peyre en Aubrac", 44.7222, 3.2856, 2_300),
            Town("La Canourgue", 44.4314, 3.2158, 2_100),
            Town("Florac Trois Rivières", 44.3244, 3.5939, 2_000),
            Town("Bourgs sur Colagne", 44.5150, 3.2597, 1_600),
            Town("Saint-Alban-sur-Limagnole", 44.7806, 3.3872, 1_500),
            Town("Chanac", 44.4656, 3.3453, 1_400),
            Town("Gorges du Tarn Causses", 44.3656, 3.4114, 1_100),
            Town("Monts-de-Randon", 44.6364, 3.4994, 1_000),
            Town("Badaroux", 44.5367, 3.5414, 1_000),
            Town("Ispagnac", 44.3722, 3.5331, 900),
            Town("Saint-Germain-du-Teil", 44.4806, 3.1692, 850),
            Town("Le Malzieu-Ville", 44.8564, 3.3328, 800),
            Town("Meyrueis", 44.1808, 3.4311, 800),
            Town("Le Collet-de-Dèze", 44.2500, 3.9247, 800),
            Town("Grandrieu", 44.7814, 3.6356, 700),
            Town("Mont Lozère et Goulet", 44.4850, 3.7333, 700),
            Town("Villefort", 44.4394, 3.9322, 600),
            Town("Châteauneuf-de-Randon", 44.6406, 3.6725, 600),
            Town("Balsièges", 44.4814, 3.4556, 600),
            Town("Pont de Montvert - Sud Mont Lozère", 44.3653, 3.7458, 600),
            Town("Saint-Étienne-Vallée-Française", 44.1869, 3.8389, 600),
            Town("Nasbinals", 44.6636, 3.0469, 500),
            Town("Fournels", 44.8178, 3.1278, 400),
            Town("Serverette", 44.7069, 3.3844, 350),
            Town("Bagnols-les-Bains", 44.5042, 3.6633, 250),
        ])
}
