//! Binding the listening socket, the same way for every server.
//!
//! `std::net::TcpListener::bind` fixes the listen backlog at 128: when a
//! burst of connections arrives faster than the server accepts them, the
//! 129th handshake is dropped and the client retries a second later. The
//! load tester opens thousands of connections at once, so the servers ask
//! for a deeper backlog (the kernel caps it at `net.core.somaxconn`).
//! `reuse_port` lets several processes listen on one port (`SO_REUSEPORT`),
//! the kernel spreading connections between them.

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// The listen backlog the servers ask for.
pub const BACKLOG: i32 = 4096;

/// Binds a listening TCP socket on `addr`.
pub fn bind(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // A restarted server may bind while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_port_lets_two_listeners_share_a_port() {
        let first = bind("127.0.0.1:0".parse().unwrap(), true).unwrap();
        let addr = first.local_addr().unwrap();
        assert!(bind(addr, true).is_ok());
        let plain = bind("127.0.0.1:0".parse().unwrap(), false).unwrap();
        assert!(bind(plain.local_addr().unwrap(), false).is_err());
    }
}
