//! The Go and Node reference servers, as the conformance suite starts them.
//!
//! `peers/go/` (a goroutine per connection) and `peers/node/server.js` (one
//! event loop) speak the protocol like the Rust models; their tests in
//! `tests/` run the shared conformance suite against them as processes,
//! with the flags of [`common::CommonArgs`] (`--idle-timeout 1s
//! --max-connections 2 …`). This library only says how to start each one;
//! the build script builds the Go peer and finds Node, and a machine
//! without them skips those tests with one printed line.

use conformance::process::Launcher;

/// The Go peer the build script built, when `go` was on PATH.
pub fn go_peer() -> Option<Launcher> {
    let path = option_env!("GO_PEER")?;
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
