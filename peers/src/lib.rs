//! The Go, Node and C reference servers, as the conformance suite starts
//! them.
//!
//! `peers/go/` (a goroutine per connection), `peers/node/server.js` (one
//! event loop) and `peers/c/server.c` (one epoll loop and nothing else: the
//! floor of the cost table) speak the protocol like the Rust models; their
//! tests in `tests/` run the shared conformance suite against them as
//! processes, with the flags of [`common::CommonArgs`] (`--idle-timeout 1s
//! --max-connections 2 …`). This library only says how to start each one;
//! the build script builds the Go and C peers and finds Node, and a machine
//! without a toolchain skips that peer's tests with one printed line.

use conformance::process::Launcher;

/// The Go peer the build script built, when `go` was on PATH.
pub fn go_peer() -> Option<Launcher> {
    let path = option_env!("GO_PEER")?;
    Some(Launcher::from(path))
}

/// The C peer the build script compiled, when `cc` was on PATH.
pub fn c_peer() -> Option<Launcher> {
    let path = option_env!("C_PEER")?;
    Some(Launcher::from(path))
}

/// `node peers/node/server.js`, when `node` was on PATH.
pub fn node_peer() -> Option<Launcher> {
    let node = option_env!("NODE_PROGRAM")?;
    let registry::Launch::Script { script, .. } = registry::NODE_PEER.launch else {
        return None;
    };
    Some(Launcher {
        program: node.into(),
        leading: vec![registry::repository_root().join(script).into()],
    })
}
