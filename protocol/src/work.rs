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

/// Units a [`work_yielding`] slice computes before it yields: about 70 µs
/// here, short next to a 1 ms `WORK`, long next to a `sched_yield` (well
/// under a microsecond when no other thread is waiting).
pub const WORK_SLICE_UNITS: u64 = 64;

/// Computes `work(units)` in slices of `slice` units, calling `between`
/// after every slice but the last (`slice` 0: in one piece). The digest is
/// the same however it is sliced.
pub fn work_in_slices(units: u64, slice: u64, mut between: impl FnMut()) -> u64 {
    let mut state = black_box(units) ^ 0x6a09_e667_f3bc_c908;
    let slice = if slice == 0 { units } else { slice };
    let mut left = units;
    while left > 0 {
        let now = slice.min(left);
        for _ in 0..now {
            for _ in 0..ROUNDS_PER_UNIT {
                state = mix(state);
            }
        }
        left -= now;
        if left > 0 {
            between();
        }
    }
    black_box(state)
}

/// `work(units)` for a thread that computes beside the threads that serve
/// connections (02's connection threads, 04's rayon pool, 05's pool):
/// computed in slices of [`WORK_SLICE_UNITS`], yielding the core between
/// them (`std::thread::yield_now`, which is `sched_yield(2)` on Linux).
///
/// Why: a thread that computes a millisecond of `WORK` in one piece holds
/// its core for that millisecond, and the kernel's scheduler may leave a
/// thread with an `ECHO` to answer (an event loop, another connection's
/// thread, or the client waiting for its answer) queued behind it, while
/// the other core idles. The ECHO then waits for the `WORK`, though no
/// code of the server made it wait. A yield every slice puts the computing
/// thread behind whoever is waiting for that core. The book's comparison
/// chapter shows the traces and the figures before and after. 03 computes
/// `WORK` inline on its runtime's worker and does not use this: yielding
/// the core would not let that worker serve its other tasks.
pub fn work_yielding(units: u64) -> u64 {
    work_in_slices(units, WORK_SLICE_UNITS, std::thread::yield_now)
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
    fn slicing_changes_nothing_but_the_pauses() {
        for (units, digest) in TEST_VECTORS {
            for slice in [0, 1, 7, 64, 1000, units, units + 1] {
                let mut pauses = 0;
                let sliced = work_in_slices(units, slice, || pauses += 1);
                assert_eq!(sliced, digest, "work({units}) in slices of {slice}");
                let pieces = if slice == 0 {
                    1
                } else {
                    units.div_ceil(slice).max(1)
                };
                assert_eq!(pauses, pieces - 1, "{units} in slices of {slice}");
            }
            assert_eq!(work_yielding(units), digest, "work_yielding({units})");
        }
    }

    #[test]
    fn is_deterministic_and_depends_on_units() {
        assert_eq!(work(1000), work(1000));
        let digests: std::collections::HashSet<u64> = (0..200).map(work).collect();
        assert_eq!(digests.len(), 200, "different units give different digests");
    }
}
