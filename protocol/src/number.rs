//! What a number is on the wire: 1 to 20 ASCII digits whose value fits in a
//! `u64`. Leading zeros are allowed; signs, `+`, `_` and spaces are not.
//!
//! `str::parse::<u64>` alone is not enough: it accepts a leading `+`.

/// The most digits a number may have (`u64::MAX` has 20).
pub const MAX_DIGITS: usize = 20;

/// Parses a token as a protocol number, or `None` if it is not one.
pub fn parse_number(token: &str) -> Option<u64> {
    let all_digits = token.bytes().all(|b| b.is_ascii_digit());
    if token.is_empty() || token.len() > MAX_DIGITS || !all_digits {
        return None;
    }
    // Only digits are left, so the one way this fails is overflow.
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_and_zero_padded_digits() {
        assert_eq!(parse_number("0"), Some(0));
        assert_eq!(parse_number("41"), Some(41));
        assert_eq!(parse_number("007"), Some(7));
        assert_eq!(parse_number("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_number("00000000000000000001"), Some(1));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "+1",
            "-1",
            "1_000",
            " 1",
            "1 ",
            "1.0",
            "0x10",
            "１",                    // a full-width digit is not ASCII
            "18446744073709551616",  // u64::MAX + 1
            "000000000000000000001", // 21 digits, even though the value is 1
        ] {
            assert_eq!(parse_number(bad), None, "{bad:?} must not be a number");
        }
    }
}
