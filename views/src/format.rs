//! How figures are written in the book's tables and sentences: one place,
//! so that a latency reads the same in a table, a chart and a sentence.

/// Bytes as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// A ratio between two measured figures, to two significant figures
/// ("3.6×", "73×", "100×"): the rounds of one machine support no more.
pub fn ratio(x: f64) -> String {
    if !x.is_finite() || x <= 0.0 {
        return format!("{x}×");
    }
    let magnitude = x.log10().floor() as i32;
    let decimals = usize::try_from(1 - magnitude).unwrap_or(0);
    let step = 10f64.powi(magnitude - 1);
    format!("{:.decimals$}×", (x / step).round() * step)
}

/// Microseconds, in the unit a reader takes in at a glance.
pub fn micros(us: u64) -> String {
    if us >= 10_000 {
        format!("{:.0} ms", us as f64 / 1000.0)
    } else if us >= 1000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{us} µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_keep_two_significant_figures() {
        assert_eq!(ratio(73.08), "73×");
        assert_eq!(ratio(102.5), "100×");
        assert_eq!(ratio(3.56), "3.6×");
        assert_eq!(ratio(1.07), "1.1×");
        assert_eq!(ratio(0.456), "0.46×");
    }
}
