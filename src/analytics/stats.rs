//! Order statistics over histograms. The database returns `(value, count)` pairs rather than one row
//! per call, so the median and the 90th percentile are read off the cumulative counts.

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of a histogram sorted by value: the smallest
/// value with at least `p`% of the observations at or below it. `None` when it is empty.
pub fn percentile(hist: &[(i64, i64)], p: f64) -> Option<i64> {
    let n: i64 = hist.iter().map(|(_, c)| c).sum();
    if n <= 0 {
        return None;
    }
    let rank = ((p / 100.0) * n as f64).ceil().clamp(1.0, n as f64) as i64;
    nth(hist, rank)
}

/// The median: the middle value, or the mean of the two middle values of an even count.
pub fn median(hist: &[(i64, i64)]) -> Option<f64> {
    let n: i64 = hist.iter().map(|(_, c)| c).sum();
    if n <= 0 {
        return None;
    }
    // For an odd count both ranks are the middle one; for an even count, the two middle ones.
    let lower = nth(hist, (n + 1) / 2)?;
    let upper = nth(hist, n / 2 + 1)?;
    Some((lower + upper) as f64 / 2.0)
}

/// The `rank`-th smallest observation (1-based).
fn nth(hist: &[(i64, i64)], rank: i64) -> Option<i64> {
    let mut seen = 0;
    for (value, count) in hist {
        seen += count;
        if seen >= rank {
            return Some(*value);
        }
    }
    None
}

/// `part / whole` rounded to four decimals; `None` when `whole` is zero (a rate of nothing is not 0%).
pub fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round(part as f64 / whole as f64, 4))
}

/// `sum / count` rounded to one decimal; `None` when there is nothing to average.
pub fn mean(sum: i64, count: i64) -> Option<f64> {
    (count > 0).then(|| round(sum as f64 / count as f64, 1))
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentile() {
        // 1..=10 once each: p90 is the 9th value.
        let h: Vec<(i64, i64)> = (1..=10).map(|v| (v, 1)).collect();
        assert_eq!(percentile(&h, 90.0), Some(9));
        assert_eq!(percentile(&h, 100.0), Some(10));
        assert_eq!(percentile(&[(30, 3), (600, 1)], 90.0), Some(600));
        assert_eq!(percentile(&[(30, 9), (600, 1)], 90.0), Some(30));
        assert_eq!(percentile(&[], 90.0), None);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[(4, 1), (10, 1), (60, 1)]), Some(10.0));
        assert_eq!(median(&[(4, 1), (10, 1)]), Some(7.0));
        assert_eq!(median(&[(5, 2), (9, 2)]), Some(7.0));
        assert_eq!(median(&[(5, 3), (9, 1)]), Some(5.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn rates_and_means_of_nothing_are_none() {
        assert_eq!(ratio(2, 3), Some(0.6667));
        assert_eq!(ratio(0, 0), None);
        assert_eq!(mean(10, 4), Some(2.5));
        assert_eq!(mean(0, 0), None);
    }
}
