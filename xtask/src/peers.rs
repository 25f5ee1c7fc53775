//! `cargo xtask peers`: builds the Go peer where the suite looks for it.
//!
//! The registry says where each peer lives (`target/peers/<file>`); this
//! task puts the Go peer there with `go build`. The tests build their own
//! copy (the `peers` package's build script), so `cargo test` needs no
//! xtask first.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// Builds every peer that needs a build.
pub fn build(root: &Path) -> Result<()> {
    let registry::Launch::Peer { file, toolchain } = registry::GO_PEER.launch else {
        bail!("the registry no longer lists the Go peer as a built peer");
    };
    let Some(go) = registry::on_path(toolchain) else {
        bail!("`{toolchain}` is not on PATH: install Go (Debian: apt-get install golang-go)");
    };
    let out = root.join("target/peers").join(file);
    let status = Command::new(&go)
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(root.join("peers/go"))
        .env("GOPROXY", "off")
        .status()
        .with_context(|| format!("cannot run {}", go.display()))?;
    if !status.success() {
        bail!("`go build` of peers/go failed ({status})");
    }
    println!("built {}", out.display());
    Ok(())
}
