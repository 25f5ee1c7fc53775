//! Shutdown for the blocking servers (01 and 02).
//!
//! A thread blocked in `accept` or `read` does not look at any flag: it
//! sleeps in the kernel until something happens on its socket. So shutting
//! down a blocking server means making something happen. [`Shutdown`] keeps
//! the sockets that threads are blocked on, and [`Shutdown::trigger`] shuts
//! down their *read* side: a blocked `read` returns 0 (as if the client had
//! half-closed) and a blocked `accept` fails with `EINVAL`. The thread wakes,
//! sees [`Shutdown::is_triggered`], answers what it has, says `BYE`, and
//! leaves. The write side stays open, so the `BYE` still goes out.
//!
//! (The async servers need none of this: a Tokio task waits on the socket
//! and on a cancellation token at once, with `select!`.)

use std::collections::HashMap;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// A cloneable handle: any clone may trigger the shutdown, every clone sees it.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    triggered: AtomicBool,
    /// Sockets some thread may be blocked on, by registration number.
    sockets: Mutex<Registry>,
    /// Wakes threads in [`Shutdown::wait_timeout`].
    wake_waiters: Condvar,
}

#[derive(Debug, Default)]
struct Registry {
    next_key: u64,
    fds: HashMap<u64, RawFd>,
}

/// Keeps a socket registered with a [`Shutdown`]; unregisters it on drop.
///
/// It borrows the socket, so the socket cannot be closed (and its file
/// descriptor number reused by another socket) while it is registered.
#[derive(Debug)]
#[must_use = "the socket is unregistered when the guard is dropped"]
pub struct WakeGuard<'socket> {
    shutdown: &'socket Shutdown,
    key: u64,
}

impl Shutdown {
    /// A shutdown that has not been triggered.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Starts the shutdown: sets the flag, wakes every registered socket and
    /// every thread in [`Shutdown::wait_timeout`]. Calling it again does nothing more.
    pub fn trigger(&self) {
        let registry = self.registry();
        self.inner.triggered.store(true, Ordering::SeqCst);
        for &fd in registry.fds.values() {
            shut_read_side(fd);
        }
        self.inner.wake_waiters.notify_all();
    }

    /// Whether the shutdown has started.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// Registers a socket to be woken when the shutdown starts. If it has
    /// already started, the socket is woken at once.
    pub fn wake_on_trigger<'socket>(
        &'socket self,
        socket: &'socket impl AsRawFd,
    ) -> WakeGuard<'socket> {
        let fd = socket.as_raw_fd();
        let mut registry = self.registry();
        // Checked under the lock that `trigger` holds while setting the flag:
        // either `trigger` sees this socket, or this sees the flag.
        if self.is_triggered() {
            shut_read_side(fd);
        }
        let key = registry.next_key;
        registry.next_key += 1;
        registry.fds.insert(key, fd);
        WakeGuard {
            shutdown: self,
            key,
        }
    }

    /// Blocks until the shutdown is triggered, or `timeout` passes. Returns
    /// whether it was triggered.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let registry = self.registry();
        let (_registry, _timed_out) = self
            .inner
            .wake_waiters
            .wait_timeout_while(registry, timeout, |_| !self.is_triggered())
            .unwrap_or_else(PoisonError::into_inner);
        self.is_triggered()
    }

    /// The registry, even if a thread panicked while holding it: it holds
    /// plain numbers, so it cannot be left half-updated.
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.inner
            .sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for WakeGuard<'_> {
    fn drop(&mut self) {
        self.shutdown.registry().fds.remove(&self.key);
    }
}

/// `shutdown(fd, SHUT_RD)`: wakes a thread blocked reading or accepting.
fn shut_read_side(fd: RawFd) {
    // SAFETY: `shutdown` only reads its arguments; the fd is open because the
    // `WakeGuard` borrowing its socket is alive. A failure (the peer already
    // closed, say) leaves nothing to wake, so it is ignored.
    unsafe {
        libc::shutdown(fd, libc::SHUT_RD);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::thread;
    use std::time::Instant;

    #[test]
    fn trigger_wakes_a_blocked_accept() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let shutdown = Shutdown::new();
        let trigger = shutdown.clone();
        let started = Instant::now();
        thread::scope(|scope| {
            scope.spawn(|| {
                thread::sleep(Duration::from_millis(50));
                trigger.trigger();
            });
            let _guard = shutdown.wake_on_trigger(&listener);
            assert!(listener.accept().is_err());
        });
        assert!(shutdown.is_triggered());
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn trigger_wakes_a_blocked_read_and_later_registrations() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        let shutdown = Shutdown::new();
        thread::scope(|scope| {
            scope.spawn(|| {
                thread::sleep(Duration::from_millis(50));
                shutdown.trigger();
            });
            let _guard = shutdown.wake_on_trigger(&server_side);
            let mut buf = [0u8; 16];
            assert_eq!((&server_side).read(&mut buf).unwrap(), 0);
        });
        // Registering after the trigger wakes at once.
        let _late_client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (late, _) = listener.accept().unwrap();
        let _guard = shutdown.wake_on_trigger(&late);
        assert_eq!((&late).read(&mut [0u8; 16]).unwrap(), 0);
    }

    #[test]
    fn wait_timeout_returns_when_triggered() {
        let shutdown = Shutdown::new();
        assert!(!shutdown.wait_timeout(Duration::from_millis(10)));
        let other = shutdown.clone();
        let waiter = thread::spawn(move || other.wait_timeout(Duration::from_secs(30)));
        shutdown.trigger();
        assert!(waiter.join().unwrap());
    }
}
