/// The larger of a running largest difference and a new one, where NaN counts as infinite: `max` would
/// keep the running value (every comparison with NaN is false), hiding an element a kernel never wrote.
func largest(_ worst: Double, _ difference: Double) -> Double {
    difference.isNaN ? .infinity : max(worst, difference)
}
