//! The open-file limit, and the connection limit it allows.
//!
//! Every connection is a file descriptor. Linux gives each process a *soft*
//! limit (often 1024) that it may raise up to a *hard* limit set by the
//! administrator. A server that wants thousands of connections raises its
//! soft limit to the hard one at start; that is all an unprivileged process
//! can do, and the startup line says what it got.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

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
    fn raising_the_limit_reaches_the_hard_limit() {
        let limit = raise_fd_limit();
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!((limit, soft), (hard, hard));
    }
}
