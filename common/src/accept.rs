//! What a server does when `accept` fails.
//!
//! Most `accept` errors concern one connection that died before it could be
//! taken (the client reset it, say): skip it and go on. But when the process
//! or the machine is out of file descriptors (`EMFILE`, `ENFILE`) or kernel
//! memory (`ENOBUFS`, `ENOMEM`), the pending connection stays in the queue
//! and the next `accept` fails at once too. Retrying straight away spins a
//! core at 100% and starves the connections being served, which are what
//! will free descriptors. So the server pauses accepting for a moment
//! instead, and never exits over it.

use std::io;
use std::time::Duration;

/// How long accepting pauses when the process is out of resources.
pub const RESOURCE_BACKOFF: Duration = Duration::from_millis(100);

/// Logs an `accept` error and says how long to pause before the next
/// `accept`: zero for an error that concerned only one connection.
pub fn pause_after(error: &io::Error) -> Duration {
    if is_resource_exhaustion(error) {
        tracing::warn!(%error, pause = ?RESOURCE_BACKOFF, "accept is out of resources; pausing");
        RESOURCE_BACKOFF
    } else {
        tracing::debug!(%error, "accept failed for one connection");
        Duration::ZERO
    }
}

/// Whether the error means the process or machine ran out of resources.
pub fn is_resource_exhaustion(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_descriptors_pauses_other_errors_do_not() {
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        assert_eq!(pause_after(&emfile), RESOURCE_BACKOFF);
        let aborted = io::Error::from_raw_os_error(libc::ECONNABORTED);
        assert_eq!(pause_after(&aborted), Duration::ZERO);
    }
}
