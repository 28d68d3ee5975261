/// The summary statistics of the ACI indicators (§5), one definition for the nightly
/// report and the simulator: both must compute the same figures.
public enum Statistics {
    /// The middle value; the mean of the two middle values for an even count; 0 for none.
    public static func median(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return 0 }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The `p` quantile by nearest rank (`p = 0.9`: the ⌈0.9 n⌉-th smallest); 0 for none.
    public static func percentile(_ xs: [Double], _ p: Double) -> Double {
        guard !xs.isEmpty else { return 0 }
        let s = xs.sorted()
        let rank = Int((p * Double(s.count)).rounded(.up))
        return s[max(0, min(s.count - 1, rank - 1))]
    }
}
