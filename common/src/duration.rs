//! Durations as a person writes them on the command line: `10s`, `500ms`,
//! `1.5s`, `1m30s`, `2h`; a bare number is seconds. `0` is zero, which the
//! timeout flags read as "disabled".

use std::time::Duration;

use thiserror::Error;

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid duration {input:?}: {reason} (write it like 10s, 500ms, 1.5s or 1m30s)")]
pub struct DurationError {
    input: String,
    reason: &'static str,
}

/// Parses a duration such as `10s`, `500ms`, `1.5s`, `1m30s` or `7`.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let fail = |reason| DurationError {
        input: input.to_owned(),
        reason,
    };
    if input.is_empty() {
        return Err(fail("it is empty"));
    }
    if let Ok(seconds) = input.parse::<f64>() {
        return seconds_to_duration(seconds).ok_or_else(|| fail("it is out of range"));
    }
    let mut total = Duration::ZERO;
    let mut rest = input;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| fail("the last number has no unit"))?;
        let (number, after) = rest.split_at(digits);
        let value: f64 = number.parse().map_err(|_| fail("a number is missing"))?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let seconds_per_unit = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(fail("units are ms, s, m and h")),
        };
        let part = seconds_to_duration(value * seconds_per_unit)
            .ok_or_else(|| fail("it is out of range"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| fail("it is out of range"))?;
        rest = next;
    }
    Ok(total)
}

fn seconds_to_duration(seconds: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(seconds).ok()
}

/// A zero duration means "no timeout".
pub fn zero_disables(duration: Duration) -> Option<Duration> {
    (!duration.is_zero()).then_some(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_protocol_md_gives() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("10s"), Ok(ms(10_000)));
        assert_eq!(parse_duration("500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse_duration("7"), Ok(ms(7000)));
        assert_eq!(parse_duration("0.25"), Ok(ms(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1h2m"), Ok(ms(3_720_000)));
    }

    #[test]
    fn rejects_nonsense_with_a_helpful_message() {
        for bad in ["", "s", "10x", "1m30", "-1s", "1..5s", "ten", "1e999"] {
            let error = parse_duration(bad).unwrap_err();
            assert!(
                error.to_string().contains("write it like"),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn zero_disables_a_timeout() {
        assert_eq!(zero_disables(Duration::ZERO), None);
        assert_eq!(
            zero_disables(Duration::from_secs(1)),
            Some(Duration::from_secs(1))
        );
    }
}
