//! `cargo xtask peers`: builds the Go and C peers where the suite looks for
//! them.
//!
//! The registry says where each peer lives (`target/peers/<file>`); this
//! task puts the Go peer there with `go build` and the C peer (the floor)
//! with the system C compiler. A missing toolchain skips its peer with one
//! line, and the suite then says that peer was not measured; a failed build
//! is an error. The tests build their own copies (the `peers` package's
//! build script), so `cargo test` needs no xtask first.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// Builds every peer that needs a build and whose toolchain is installed.
pub fn build(root: &Path) -> Result<()> {
    let out_dir = root.join("target/peers");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut built = 0;
    for peer in [registry::GO_PEER, registry::C_PEER] {
        let registry::Launch::Peer { file, toolchain } = peer.launch else {
            bail!("the registry no longer lists {} as a built peer", peer.name);
        };
        let Some(program) = registry::on_path(toolchain) else {
            println!(
                "skipped {}: `{toolchain}` is not on PATH (Debian: apt-get install {})",
                peer.name,
                if toolchain == "go" {
                    "golang-go"
                } else {
                    "gcc"
                }
            );
            continue;
        };
        let out = out_dir.join(file);
        let mut command = Command::new(&program);
        if toolchain == "go" {
            command
                .args(["build", "-o"])
                .arg(&out)
                .arg(".")
                .current_dir(root.join(peer.dir))
                .env("GOPROXY", "off");
        } else {
            command
                .args(C_FLAGS)
                .arg("-o")
                .arg(&out)
                .arg(root.join(peer.dir).join("server.c"));
        }
        let status = command
            .status()
            .with_context(|| format!("cannot run {}", program.display()))?;
        if !status.success() {
            bail!("building {} from {} failed ({status})", peer.name, peer.dir);
        }
        println!("built {}", out.display());
        built += 1;
    }
    if built == 0 {
        bail!("no peer was built: neither `go` nor `cc` is on PATH");
    }
    Ok(())
}

/// How the C peer is compiled; `peers/build.rs` uses the same flags.
const C_FLAGS: &[&str] = &["-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu11"];
