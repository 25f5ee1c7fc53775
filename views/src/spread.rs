//! Medians and their spread, and the one rule every sentence that compares
//! two servers follows.
//!
//! The suite measures each comparison several times, the servers taking
//! turns. One sample on a shared machine is an anecdote: a figure is shown
//! as the median of its rounds with their range, and two servers are put in
//! an order only when their ranges do not overlap. Where they do, the
//! sentence says "within the spread" — written here, once, so that no
//! sentence generator can rank two servers the rounds cannot tell apart.

use loadtest::suite::data::Run;

/// The median of some rounds and their range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The middle value (the mean of the two middle ones for an even count).
    pub median: f64,
    /// The lowest.
    pub min: f64,
    /// The highest.
    pub max: f64,
    /// How many rounds.
    pub rounds: usize,
}

impl Spread {
    /// The spread of `values`; `None` when there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut values: Vec<f64> = values.into_iter().collect();
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: values[0],
            max: values[n - 1],
            rounds: n,
        })
    }

    /// The spread of one figure over `runs`; `None` if a run lacks it.
    pub fn over(runs: &[&Run], figure: impl Fn(&Run) -> Option<f64>) -> Option<Spread> {
        let values: Option<Vec<f64>> = runs.iter().map(|run| figure(run)).collect();
        Spread::of(values?)
    }

    /// Whether the two ranges share any value.
    pub fn overlaps(&self, other: &Spread) -> bool {
        self.min <= other.max && other.min <= self.max
    }

    /// `median (min–max)`, each written by `show`; the median alone for
    /// one round.
    pub fn show(&self, show: impl Fn(f64) -> String) -> String {
        if self.rounds < 2 {
            return show(self.median);
        }
        format!(
            "{} ({}–{})",
            show(self.median),
            show(self.min),
            show(self.max)
        )
    }

    /// How far apart the two medians are, relative to the smaller: 0.1 is
    /// 10%.
    pub fn relative_gap(&self, other: &Spread) -> f64 {
        let low = self.median.min(other.median).abs().max(f64::EPSILON);
        (self.median - other.median).abs() / low
    }
}

/// What the rounds say about two servers' figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Every round of the first is above every round of the second.
    Above,
    /// Every round of the first is below every round of the second.
    Below,
    /// The ranges overlap: no order.
    WithinSpread,
}

/// The order of `a` and `b`, only where their ranges do not overlap.
pub fn order(a: &Spread, b: &Spread) -> Order {
    if a.overlaps(b) {
        Order::WithinSpread
    } else if a.min > b.max {
        Order::Above
    } else {
        Order::Below
    }
}

/// A sentence comparing two servers' figure: "`a` … 1.4× `higher` than
/// `b`" when their ranges are apart, "within the spread of each other"
/// when they overlap. `higher` and `lower` are the words for the
/// direction (e.g. "more requests/s", "fewer requests/s").
pub fn compare(a: (&str, &Spread), b: (&str, &Spread), higher: &str, lower: &str) -> String {
    let ((a_name, a), (b_name, b)) = (a, b);
    let rounds = a.rounds.min(b.rounds);
    match order(a, b) {
        Order::WithinSpread => format!(
            "{a_name} and {b_name} are within the spread of each other (their ranges over \
             {rounds} rounds overlap): no order between them"
        ),
        Order::Above => format!(
            "{a_name}'s is {} {b_name}'s ({higher}; the ranges over {rounds} rounds do not overlap)",
            crate::format::ratio(a.median / b.median.max(f64::EPSILON))
        ),
        Order::Below => format!(
            "{a_name}'s is {} {b_name}'s ({lower}; the ranges over {rounds} rounds do not overlap)",
            crate::format::ratio(a.median / b.median.max(f64::EPSILON))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(values: &[f64]) -> Spread {
        Spread::of(values.iter().copied()).unwrap()
    }

    #[test]
    fn the_median_and_range_of_rounds() {
        let s = spread(&[3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max, s.rounds), (2.0, 1.0, 3.0, 3));
        assert_eq!(spread(&[1.0, 4.0]).median, 2.5);
        assert!(Spread::of(Vec::new()).is_none());
        assert_eq!(s.show(|v| format!("{v:.0}")), "2 (1–3)");
        assert_eq!(spread(&[7.0]).show(|v| format!("{v:.0}")), "7");
    }

    #[test]
    fn an_order_is_named_only_when_the_ranges_are_apart() {
        let low = spread(&[100.0, 120.0, 110.0]);
        let high = spread(&[130.0, 125.0, 140.0]);
        let touching = spread(&[119.0, 150.0, 160.0]);
        assert_eq!(order(&high, &low), Order::Above);
        assert_eq!(order(&low, &high), Order::Below);
        assert_eq!(order(&low, &touching), Order::WithinSpread);
        let said = compare(("05", &high), ("03", &low), "faster", "slower");
        assert!(said.contains("1.2×") && said.contains("faster"), "{said}");
        let said = compare(("05", &touching), ("03", &low), "faster", "slower");
        assert!(said.contains("within the spread"), "{said}");
        assert!(
            !said.contains("faster") && !said.contains('×'),
            "no order, no ratio: {said}"
        );
    }
}
