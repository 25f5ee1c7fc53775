//! Builds the Go and C peers for the tests, and finds Node.
//!
//! With `cc` on PATH (a Rust toolchain needs it to link), the C peer is
//! compiled into `OUT_DIR` and its path given in `C_PEER`. With `go` on PATH, `go build` writes the peer into this package's
//! `OUT_DIR` and the tests get its path in `GO_PEER`; a compile error fails
//! the build (a broken peer is a failure, not a skip). Without `go`, one
//! warning line says that the Go peer's tests are skipped. The same for
//! `node`, which needs no build. (`cargo xtask peers` builds the copy the
//! suite measures, into `target/peers/`.)

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=go");
    println!("cargo::rerun-if-changed=node");
    println!("cargo::rerun-if-changed=c");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rustc-check-cfg=cfg(has_go)");
    println!("cargo::rustc-check-cfg=cfg(has_node)");
    println!("cargo::rustc-check-cfg=cfg(has_cc)");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());

    match find("go") {
        Some(go) => {
            let peer = out.join("go-peer");
            build_go_peer(&go, &manifest.join("go"), &peer, &out);
            println!("cargo::rustc-cfg=has_go");
            println!("cargo::rustc-env=GO_PEER={}", peer.display());
        }
        None => println!(
            "cargo::warning=`go` is not on PATH: the Go peer's conformance tests are skipped \
             (install Go, e.g. Debian's golang-go)"
        ),
    }
    match find("cc") {
        Some(cc) => {
            let peer = out.join("c-peer");
            build_c_peer(&cc, &manifest.join("c/server.c"), &peer);
            println!("cargo::rustc-cfg=has_cc");
            println!("cargo::rustc-env=C_PEER={}", peer.display());
        }
        None => println!(
            "cargo::warning=`cc` is not on PATH: the C peer's conformance tests are skipped \
             (install a C compiler, e.g. Debian's gcc)"
        ),
    }
    match find("node") {
        Some(node) => {
            println!("cargo::rustc-cfg=has_node");
            println!("cargo::rustc-env=NODE_PROGRAM={}", node.display());
        }
        None => println!(
            "cargo::warning=`node` is not on PATH: the Node peer's conformance tests are skipped \
             (install Node.js, e.g. Debian's nodejs)"
        ),
    }
}

fn find(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn build_go_peer(go: &Path, source: &Path, peer: &Path, out: &Path) {
    let mut command = Command::new(go);
    command
        .args(["build", "-o"])
        .arg(peer)
        .arg(".")
        .current_dir(source)
        // Standard library only: nothing to download, ever.
        .env("GOPROXY", "off");
    if env::var_os("GOCACHE").is_none() && env::var_os("HOME").is_none() {
        command.env("GOCACHE", out.join("go-cache"));
    }
    let status = command.status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("`go build` of peers/go failed ({status}): see its errors above"),
        Err(error) => panic!("cannot run {}: {error}", go.display()),
    }
}

/// The flags of `cargo xtask peers` (xtask/src/peers.rs): warnings are errors.
fn build_c_peer(cc: &Path, source: &Path, peer: &Path) {
    let status = Command::new(cc)
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu11", "-o"])
        .arg(peer)
        .arg(source)
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("`cc` of peers/c/server.c failed ({status}): see its errors above"),
        Err(error) => panic!("cannot run {}: {error}", cc.display()),
    }
}
