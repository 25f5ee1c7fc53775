//! A global allocator that counts what is alive, by size and alignment.
//!
//! It passes every call to the system allocator (glibc's malloc) and keeps,
//! for each requested size (to 8 KiB, in 8-byte steps) and for small and
//! over-aligned requests apart, how many such blocks are alive; bigger
//! blocks only add to a byte count. It also sums what malloc really gave
//! (`malloc_usable_size`), so the rounding shows. Counting costs a few
//! atomic additions per call: fine for a measurement, not for a server.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

/// Requests up to this size are counted by size.
pub const LARGEST_COUNTED: usize = 8192;
const STEP: usize = 8;
const SLOTS: usize = LARGEST_COUNTED / STEP + 1;

/// The allocator: install it with `#[global_allocator]`.
#[derive(Debug)]
pub struct Counting;

/// Blocks alive per size, for alignment ≤ 16 and over 16.
static ALIVE: [[AtomicI64; SLOTS]; 2] = [const { [const { AtomicI64::new(0) }; SLOTS] }; 2];
/// Bytes requested in blocks over `LARGEST_COUNTED`.
static LARGE_BYTES: AtomicI64 = AtomicI64::new(0);
/// Bytes malloc gave for every block alive.
static USABLE_BYTES: AtomicI64 = AtomicI64::new(0);
/// Blocks alive, all sizes.
static BLOCKS: AtomicI64 = AtomicI64::new(0);

fn record(layout: Layout, ptr: *mut u8, sign: i64) {
    if ptr.is_null() {
        return;
    }
    if layout.size() > LARGEST_COUNTED {
        LARGE_BYTES.fetch_add(sign * layout.size() as i64, Relaxed);
    } else {
        let aligned = usize::from(layout.align() > 16);
        ALIVE[aligned][layout.size().div_ceil(STEP)].fetch_add(sign, Relaxed);
    }
    // SAFETY: `ptr` is a live block from the system allocator.
    let usable = unsafe { libc::malloc_usable_size(ptr.cast()) };
    USABLE_BYTES.fetch_add(sign * usable as i64, Relaxed);
    BLOCKS.fetch_add(sign, Relaxed);
}

// SAFETY: every call is passed to `System` unchanged; the counting only
// reads the block's size, before it is freed.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { System.alloc(layout) };
        record(layout, ptr, 1);
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(layout, ptr, -1);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        record(layout, ptr, 1);
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(layout, ptr, -1);
        // SAFETY: the caller's contract, passed on.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        // SAFETY: `new_size` and the old alignment form a valid layout:
        // the caller's contract for `realloc`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if new.is_null() {
            record(layout, ptr, 1); // the old block stays
        } else {
            record(new_layout, new, 1);
        }
        new
    }
}

/// What was alive at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    alive: Vec<[i64; 2]>,
    large_bytes: i64,
    usable_bytes: i64,
    blocks: i64,
}

/// Blocks of one size and alignment that appeared between two snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Growth {
    /// The size requested, rounded up to 8 bytes.
    pub size: usize,
    /// Whether it asked for an alignment over 16 bytes.
    pub over_aligned: bool,
    /// How many more are alive.
    pub blocks: i64,
}

impl Snapshot {
    /// What is alive now.
    pub fn take() -> Snapshot {
        let alive = (0..SLOTS)
            .map(|slot| [ALIVE[0][slot].load(Relaxed), ALIVE[1][slot].load(Relaxed)])
            .collect();
        Snapshot {
            alive,
            large_bytes: LARGE_BYTES.load(Relaxed),
            usable_bytes: USABLE_BYTES.load(Relaxed),
            blocks: BLOCKS.load(Relaxed),
        }
    }

    /// The sizes that grew since `before`, by how many blocks.
    pub fn growth_since(&self, before: &Snapshot) -> Vec<Growth> {
        let mut grown = Vec::new();
        for (slot, (now, then)) in self.alive.iter().zip(&before.alive).enumerate() {
            for over_aligned in [false, true] {
                let blocks = now[usize::from(over_aligned)] - then[usize::from(over_aligned)];
                if blocks != 0 {
                    grown.push(Growth {
                        size: slot * STEP,
                        over_aligned,
                        blocks,
                    });
                }
            }
        }
        grown
    }

    /// Bytes requested in large blocks, more than `before`.
    pub fn large_bytes_since(&self, before: &Snapshot) -> i64 {
        self.large_bytes - before.large_bytes
    }

    /// Bytes malloc handed out, more than `before`.
    pub fn usable_bytes_since(&self, before: &Snapshot) -> i64 {
        self.usable_bytes - before.usable_bytes
    }

    /// Blocks alive, more than `before`.
    pub fn blocks_since(&self, before: &Snapshot) -> i64 {
        self.blocks - before.blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_alive_are_counted_by_size_and_alignment() {
        #[repr(align(128))]
        struct Aligned(#[allow(dead_code)] [u8; 256]);
        let before = Snapshot::take();
        let plain: Vec<Box<[u8; 200]>> = (0..10).map(|_| Box::new([0; 200])).collect();
        let aligned: Vec<Box<Aligned>> = (0..3).map(|_| Box::new(Aligned([0; 256]))).collect();
        let after = Snapshot::take();
        let grown = after.growth_since(&before);
        // Other tests run on other threads: look only for these sizes.
        let blocks = |size, over_aligned| {
            grown
                .iter()
                .find(|g| g.size == size && g.over_aligned == over_aligned)
                .map_or(0, |g| g.blocks)
        };
        assert!(blocks(200, false) >= 10, "{grown:?}");
        assert!(blocks(256, true) >= 3, "{grown:?}");
        assert!(after.usable_bytes_since(&before) >= 10 * 200 + 3 * 256);
        drop((plain, aligned));
        let freed = Snapshot::take().growth_since(&after);
        assert!(freed.iter().any(|g| g.size == 200 && g.blocks <= -10));
    }
}
