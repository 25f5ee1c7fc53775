//! The open-file limit, and the connection limit it allows.
//!
//! Every connection is a file descriptor. Linux gives each process a *soft*
//! limit (often 1024) that it may raise up to a *hard* limit set by the
//! administrator. A server that wants thousands of connections raises its
//! soft limit to the hard one at start; that is all an unprivileged process
//! can do, and the startup line says what it got.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Memory mappings one thread takes: its stack and the guard page below it,
/// and the alternate signal stack (with its own guard) that std gives every
/// thread so that a stack overflow can be reported. Counted here: a thousand
/// threads added about four thousand lines to `/proc/<pid>/maps`.
pub const MAPPINGS_PER_THREAD: u64 = 4;

/// Mappings kept back for everything else: the binary, libraries, the heap.
pub const MAPPINGS_RESERVE: u64 = 1024;

/// File descriptors kept back from connections: standard streams, the
/// listener, log files, and the sockets a closing connection still holds.
pub const FD_RESERVE: u64 = 64;

/// Raises the soft open-file limit to the hard limit and returns the limit
/// now in force. On failure the old limit stays, and it is returned.
pub fn raise_fd_limit() -> u64 {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    if soft >= hard {
        return soft;
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => hard,
        Err(error) => {
            tracing::warn!(%error, soft, hard, "could not raise the open-file limit");
            soft
        }
    }
}

/// The default `--max-connections`: what the open-file limit allows, less a
/// small reserve, and at least one.
pub fn default_max_connections(fd_limit: u64) -> usize {
    let allowed = fd_limit.saturating_sub(FD_RESERVE).max(1);
    usize::try_from(allowed).unwrap_or(usize::MAX)
}

/// How many threads one process can start before the kernel's limit on
/// memory mappings (`vm.max_map_count`, 65530 by default) stops it. A thread
/// per connection meets this limit first, long before memory: past it,
/// `pthread_create` fails, and a thread that did start may fail to map its
/// signal stack, which std cannot report and so aborts the process.
pub fn threads_the_map_count_allows() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/sys/vm/max_map_count").ok()?;
    let max_map_count: u64 = text.trim().parse().ok()?;
    Some(threads_for_map_count(max_map_count))
}

/// Threads that fit in `max_map_count` mappings, after the reserve.
pub fn threads_for_map_count(max_map_count: u64) -> usize {
    let threads = max_map_count.saturating_sub(MAPPINGS_RESERVE) / MAPPINGS_PER_THREAD;
    usize::try_from(threads.max(1)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_connection_limit_keeps_a_reserve() {
        assert_eq!(
            default_max_connections(20_000),
            20_000 - FD_RESERVE as usize
        );
        assert_eq!(default_max_connections(10), 1);
    }

    #[test]
    fn the_map_count_bounds_the_threads() {
        assert_eq!(threads_for_map_count(65_530), 16_126);
        assert_eq!(threads_for_map_count(10), 1, "at least one");
        assert!(threads_the_map_count_allows().is_some_and(|n| n > 0));
    }

    #[test]
    fn raising_the_limit_reaches_the_hard_limit() {
        let limit = raise_fd_limit();
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!((limit, soft), (hard, hard));
    }
}
