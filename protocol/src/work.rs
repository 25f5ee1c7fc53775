//! `work(units)`: the CPU-bound job behind `WORK`.
//!
//! It stands in for real computation (hashing, parsing, compression) and must
//! behave like it: deterministic, so the load tester can check every digest;
//! proportional to `units`, so a request's cost is chosen by the client; and
//! impossible for the optimiser to skip or shortcut. Each round feeds its
//! result into the next (a serial dependency chain through multiplications),
//! so there is nothing to vectorise or run in parallel and no closed form.
//!
//! One unit is calibrated to about one microsecond on the machines this
//! repository is measured on (see `cargo bench -p launch`: its
//! `protocol/work_1000_units` benchmark prints the rate in units per
//! second).

use std::hint::black_box;

/// Mixing rounds per unit: chosen so that one unit takes about 1 µs.
pub const ROUNDS_PER_UNIT: u32 = 288;

/// `(units, work(units))` pairs that every implementation of `work` must
/// reproduce: the Go and Node peers' tests send `WORK <units>` for each and
/// compare the digest, so a peer that mixes differently fails by name, and a
/// change to `work` itself fails here first.
pub const TEST_VECTORS: [(u64, u64); 8] = [
    (0, 0x6a09_e667_f3bc_c908),
    (1, 0x9b9d_ffca_778a_5dde),
    (2, 0xd19c_db9a_27f3_a99c),
    (7, 0xc17d_56c9_0edf_acc3),
    (100, 0x52dd_2f38_7213_0ec3),
    (1000, 0xe285_ca8b_28b8_3038),
    (12345, 0x2069_4a96_9f80_3010),
    (100_000, 0xe473_2857_617a_42aa),
];

/// Computes the digest of `units` units of work.
pub fn work(units: u64) -> u64 {
    // black_box: the optimiser may not assume anything about the input...
    let mut state = black_box(units) ^ 0x6a09_e667_f3bc_c908;
    for _ in 0..units {
        for _ in 0..ROUNDS_PER_UNIT {
            state = mix(state);
        }
    }
    // ...nor drop a result it thinks unused.
    black_box(state)
}

/// One round of the SplitMix64 finaliser: every output bit depends on every
/// input bit, and each step waits for the one before.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_the_test_vectors() {
        for (units, digest) in TEST_VECTORS {
            assert_eq!(work(units), digest, "work({units})");
        }
    }

    #[test]
    fn is_deterministic_and_depends_on_units() {
        assert_eq!(work(1000), work(1000));
        let digests: std::collections::HashSet<u64> = (0..200).map(work).collect();
        assert_eq!(digests.len(), 200, "different units give different digests");
    }
}
