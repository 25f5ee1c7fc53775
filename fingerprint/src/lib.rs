//! What a stored result measured, written once.
//!
//! A figure in the book is worth something only while the code it measured
//! is the code in the repository. Comparing commits answers that badly: a
//! change to a comment, to a chart or to `Cargo.lock` for an unrelated
//! crate would make every figure "stale", and an uncommitted change would
//! make none. So every stored result (a suite run, a benchmark, a
//! reliability check, an anatomy row) carries the [`Inputs`] it was measured
//! from, and a result is stale exactly when today's inputs differ:
//!
//! - the workspace files its binaries compile, each hashed, as cargo's
//!   dep-info lists them (`target/release/<bin>.d`), minus the folders of
//!   models the binary links but the result does not measure;
//! - `name@version` of every external crate in the packages' resolved
//!   dependency graph for this platform (`cargo metadata`,
//!   dev-dependencies left out);
//! - `rustc -vV` and the `[profile.release]` of the workspace;
//! - for a peer in another language, every file of its folder;
//! - the settings of the measurement that are not code (`FUZZ_CASES`).
//!
//! The machine ([`Machine`]) is stored beside the inputs, not in them: the
//! same code measured on another CPU is not stale, but its figures must
//! not be mixed with this machine's (see [`Machine::refuse_mixing`]).
//!
//! The code that draws the book's views never enters a fingerprint: only
//! what a measurement ran does.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

/// Everything a result's figures depend on, besides the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// Workspace files (from the repository's root) and their hashes.
    pub files: BTreeMap<String, String>,
    /// External crates, `name@version`.
    pub crates: BTreeSet<String>,
    /// `rustc -vV`.
    pub rustc: String,
    /// The workspace's `[profile.release]`, as written.
    pub profile: String,
    /// Settings of the measurement that are not code (`FUZZ_CASES=…`).
    pub settings: String,
}

impl Inputs {
    /// A short name for these inputs: equal inputs, equal digest.
    pub fn digest(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        format!("{:016x}", fnv1a(text.as_bytes()))
    }

    /// What differs from `old`, a line each: the files first, since they
    /// are what a contributor changed.
    pub fn changes_since(&self, old: &Inputs) -> Vec<String> {
        let mut changes = Vec::new();
        for (path, hash) in &self.files {
            match old.files.get(path) {
                None => changes.push(format!("{path} is new")),
                Some(old_hash) if old_hash != hash => changes.push(format!("{path} changed")),
                Some(_) => {}
            }
        }
        for path in old.files.keys().filter(|p| !self.files.contains_key(*p)) {
            changes.push(format!("{path} is no longer compiled"));
        }
        for krate in self.crates.difference(&old.crates) {
            changes.push(format!("crate {krate} is new"));
        }
        for krate in old.crates.difference(&self.crates) {
            changes.push(format!("crate {krate} is gone"));
        }
        if self.rustc != old.rustc {
            changes.push(format!("rustc changed ({})", first_line(&self.rustc)));
        }
        if self.profile != old.profile {
            changes.push("the release profile changed".to_owned());
        }
        if self.settings != old.settings {
            changes.push(format!(
                "settings changed: {:?} → {:?}",
                old.settings, self.settings
            ));
        }
        changes
    }
}

/// FNV-1a, 64 bits: stable across Rust versions and machines (std's
/// `DefaultHasher` is not promised to be), and enough to notice a change.
/// Nothing here defends against someone forging a collision.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// The machine a result was measured on: what makes two figures
/// comparable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Cores the OS offers.
    pub cores: usize,
}

impl Machine {
    /// This machine.
    pub fn here() -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        Machine {
            cpu: cpuinfo
                .lines()
                .find_map(|line| {
                    line.strip_prefix("model name")?
                        .split_once(':')
                        .map(|(_, v)| v.trim().to_owned())
                })
                .unwrap_or_else(|| "unknown".into()),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// An error when a partial rerun on `self` would be merged into
    /// results measured on `stored`: figures of two machines side by side
    /// in one table compare the machines, not the models.
    pub fn refuse_mixing(&self, stored: &Machine) -> anyhow::Result<()> {
        if self != stored {
            bail!(
                "refusing to merge: the stored results were measured on {} ({} cores), this machine is {} ({} cores); rerun everything here instead",
                stored.cpu,
                stored.cores,
                self.cpu,
                self.cores
            );
        }
        Ok(())
    }
}

impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {} cores", self.cpu, self.cores)
    }
}

/// What one result measured, to be turned into [`Inputs`].
#[derive(Debug, Clone, Default)]
pub struct Unit {
    /// Cargo dep-info files (`.d`) of the binaries the result ran.
    pub dep_infos: Vec<PathBuf>,
    /// The workspace packages those binaries are built from: their
    /// external dependencies are part of the inputs.
    pub packages: Vec<String>,
    /// Folders (from the root) whose files are left out although the
    /// binary compiles them: the other models a benchmark binary links
    /// but this result does not run.
    pub leave_out: Vec<String>,
    /// Folders (from the root) taken whole: a peer in another language.
    pub folders: Vec<String>,
    /// Settings that are not code.
    pub settings: String,
}

impl Unit {
    /// The unit of a suite run of `server`: its binary (or its peer's
    /// folder) and the load tester's.
    pub fn suite(server: &registry::Server, target: &Path) -> Unit {
        let mut unit = Unit {
            dep_infos: vec![target.join("release/loadtest.d")],
            packages: vec!["loadtest".into()],
            // The tester links this crate to stamp its runs; what it
            // computes is not part of any figure.
            leave_out: vec!["fingerprint".into()],
            ..Unit::default()
        };
        match server.launch {
            registry::Launch::Cargo { binary, package } => {
                unit.dep_infos
                    .push(target.join(format!("release/{binary}.d")));
                unit.packages.push(package.into());
            }
            registry::Launch::Peer { .. } | registry::Launch::Script { .. } => {
                unit.folders.push(server.dir.into());
            }
        }
        unit
    }
}

/// The workspace as the fingerprints see it: read once, then asked for
/// the inputs of each unit.
#[derive(Debug)]
pub struct Workspace {
    root: PathBuf,
    rustc: String,
    profile: String,
    /// Package id → (name, version, whether it comes from outside).
    packages: HashMap<String, (String, String, bool)>,
    /// Package id → the ids it depends on (normal and build).
    depends_on: HashMap<String, Vec<String>>,
}

impl Workspace {
    /// Reads `rustc -vV`, the release profile and the resolved dependency
    /// graph for this machine's platform (`cargo metadata`, which reads
    /// `Cargo.lock` and never changes it).
    pub fn read(root: &Path) -> anyhow::Result<Workspace> {
        let rustc = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
            .arg("-vV")
            .output()
            .context("cannot run `rustc -vV`")?;
        let rustc = String::from_utf8_lossy(&rustc.stdout).trim().to_owned();
        let host = rustc
            .lines()
            .find_map(|line| line.strip_prefix("host: "))
            .context("`rustc -vV` names no host")?;
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .current_dir(root)
            .args(["metadata", "--format-version", "1", "--locked"])
            .args(["--filter-platform", host])
            .output()
            .context("cannot run `cargo metadata` (a fingerprint needs cargo)")?;
        if !output.status.success() {
            bail!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let metadata: Metadata =
            serde_json::from_slice(&output.stdout).context("cannot read cargo metadata")?;
        let packages = metadata
            .packages
            .into_iter()
            .map(|p| (p.id, (p.name, p.version, p.source.is_some())))
            .collect();
        let depends_on = metadata
            .resolve
            .nodes
            .into_iter()
            .map(|node| {
                let deps = node
                    .deps
                    .into_iter()
                    .filter(|dep| {
                        dep.dep_kinds
                            .iter()
                            .any(|k| k.kind.as_deref() != Some("dev"))
                    })
                    .map(|dep| dep.pkg)
                    .collect();
                (node.id, deps)
            })
            .collect();
        let manifest = fs::read_to_string(root.join("Cargo.toml"))
            .with_context(|| format!("cannot read {}/Cargo.toml", root.display()))?;
        Ok(Workspace {
            root: root.to_path_buf(),
            rustc,
            profile: release_profile(&manifest),
            packages,
            depends_on,
        })
    }

    /// The inputs of `unit` as the files are now.
    pub fn inputs(&self, unit: &Unit) -> anyhow::Result<Inputs> {
        let mut files = BTreeMap::new();
        for dep_info in &unit.dep_infos {
            for path in read_dep_info(dep_info)? {
                // rustc writes paths from where cargo ran it (the root);
                // cargo's own dep-info, absolute ones.
                let path = self.root.join(path);
                let Ok(relative) = path.strip_prefix(&self.root) else {
                    continue; // generated files, outside the repository
                };
                let relative = relative.to_string_lossy().into_owned();
                if relative.starts_with("target/")
                    || unit.leave_out.iter().any(|dir| in_folder(&relative, dir))
                {
                    continue;
                }
                files.insert(relative, hash_file(&path)?);
            }
        }
        for folder in &unit.folders {
            for path in files_under(&self.root.join(folder))? {
                let relative = path
                    .strip_prefix(&self.root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                files.insert(relative, hash_file(&path)?);
            }
        }
        Ok(Inputs {
            files,
            crates: self.external_crates(&unit.packages)?,
            rustc: self.rustc.clone(),
            profile: self.profile.clone(),
            settings: unit.settings.clone(),
        })
    }

    /// The workspace packages `package` is built from, itself included
    /// (02's includes 01's, whose connection code it runs).
    pub fn workspace_closure(&self, package: &str) -> anyhow::Result<BTreeSet<String>> {
        let (closure, _) = self.closure(&[package.to_owned()])?;
        Ok(closure)
    }

    /// `name@version` of every external crate the packages depend on.
    fn external_crates(&self, packages: &[String]) -> anyhow::Result<BTreeSet<String>> {
        let (_, crates) = self.closure(packages)?;
        Ok(crates)
    }

    /// The workspace packages and the external crates (`name@version`)
    /// that `packages` are built from (dev-dependencies left out).
    fn closure(&self, packages: &[String]) -> anyhow::Result<(BTreeSet<String>, BTreeSet<String>)> {
        let mut todo: Vec<&String> = Vec::new();
        for name in packages {
            let id = self
                .packages
                .iter()
                .find(|(_, (n, _, external))| n == name && !external)
                .map(|(id, _)| id)
                .with_context(|| format!("no workspace package is called {name}"))?;
            todo.push(id);
        }
        let mut seen: BTreeSet<&String> = BTreeSet::new();
        let mut workspace = BTreeSet::new();
        let mut crates = BTreeSet::new();
        while let Some(id) = todo.pop() {
            if !seen.insert(id) {
                continue;
            }
            match self.packages.get(id) {
                Some((name, version, true)) => {
                    crates.insert(format!("{name}@{version}"));
                }
                Some((name, _, false)) => {
                    workspace.insert(name.clone());
                }
                None => {}
            }
            todo.extend(self.depends_on.get(id).into_iter().flatten());
        }
        Ok((workspace, crates))
    }
}

/// Whether `path` lies in `folder` (both from the root).
fn in_folder(path: &str, folder: &str) -> bool {
    path.strip_prefix(folder)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The `[profile.release…]` sections of a workspace manifest.
fn release_profile(manifest: &str) -> String {
    let mut keep = false;
    let mut profile = String::new();
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            keep = trimmed.starts_with("[profile.release");
        }
        if keep && !trimmed.is_empty() && !trimmed.starts_with('#') {
            profile.push_str(trimmed);
            profile.push('\n');
        }
    }
    profile
}

/// The files a cargo dep-info file lists (`target: a b c`, spaces in
/// names escaped as `\ `).
fn read_dep_info(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let text = fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read {} (build first: `cargo build --release --workspace --bins`)",
            path.display()
        )
    })?;
    let mut files = Vec::new();
    for line in text.lines() {
        let Some((_, deps)) = line.split_once(": ") else {
            continue;
        };
        let mut current = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    current.push(' ');
                    chars.next();
                }
                ' ' => {
                    if !current.is_empty() {
                        files.push(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            files.push(PathBuf::from(current));
        }
    }
    Ok(files)
}

fn hash_file(path: &Path) -> anyhow::Result<String> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(format!("{:016x}", fnv1a(&bytes)))
}

/// Every file under `folder`, build output (`node_modules`, `target`)
/// aside.
fn files_under(folder: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut todo = vec![folder.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let entries =
            fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if matches!(name.as_deref(), Some("node_modules" | "target")) {
                continue;
            }
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The parts of `cargo metadata` read here.
#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    resolve: Resolve,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    version: String,
    source: Option<String>,
}

#[derive(Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    id: String,
    deps: Vec<NodeDep>,
}

#[derive(Deserialize)]
struct NodeDep {
    pkg: String,
    dep_kinds: Vec<DepKind>,
}

#[derive(Deserialize)]
struct DepKind {
    kind: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn inputs(files: &[(&str, &str)]) -> Inputs {
        Inputs {
            files: files
                .iter()
                .map(|(p, h)| ((*p).to_owned(), (*h).to_owned()))
                .collect(),
            crates: BTreeSet::from(["tokio@1.0.0".to_owned()]),
            rustc: "rustc 1.95.0".into(),
            profile: "[profile.release]\nopt-level = 3\n".into(),
            settings: String::new(),
        }
    }

    #[test]
    fn a_changed_file_changes_the_digest_and_is_named() {
        let old = inputs(&[
            ("03-async-tokio/src/server.rs", "aa"),
            ("protocol/src/lib.rs", "bb"),
        ]);
        let mut new = old.clone();
        assert_eq!(old.digest(), new.digest());
        new.files
            .insert("03-async-tokio/src/server.rs".into(), "cc".into());
        new.crates = BTreeSet::from(["tokio@1.1.0".to_owned()]);
        assert_ne!(old.digest(), new.digest());
        let changes = new.changes_since(&old);
        assert_eq!(
            changes,
            [
                "03-async-tokio/src/server.rs changed",
                "crate tokio@1.1.0 is new",
                "crate tokio@1.0.0 is gone"
            ]
        );
    }

    #[test]
    fn dep_info_paths_with_spaces_are_read_whole() {
        let dir = std::env::temp_dir().join(format!("fingerprint-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("x.d");
        fs::write(&file, "/t/x: /r/a.rs /r/with\\ space.rs\n\n/r/a.rs:\n").unwrap();
        let files = read_dep_info(&file).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            files,
            [PathBuf::from("/r/a.rs"), PathBuf::from("/r/with space.rs")]
        );
    }

    #[test]
    fn only_the_release_profile_is_kept() {
        let manifest = "[workspace]\nmembers = []\n\n[profile.dev]\nopt-level = 1\n\n\
                        [profile.release]\n# why\nopt-level = 3\nlto = \"thin\"\n";
        assert_eq!(
            release_profile(manifest),
            "[profile.release]\nopt-level = 3\nlto = \"thin\"\n"
        );
        assert!(in_folder("03-async-tokio/src/x.rs", "03-async-tokio"));
        assert!(!in_folder("03-async-tokio-2/x.rs", "03-async-tokio"));
    }

    #[test]
    fn machines_that_differ_are_not_mixed() {
        let here = Machine {
            cpu: "A".into(),
            cores: 2,
        };
        assert!(here.refuse_mixing(&here.clone()).is_ok());
        let error = here
            .refuse_mixing(&Machine {
                cpu: "A".into(),
                cores: 4,
            })
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("refusing to merge") && error.contains("4 cores"),
            "{error}"
        );
    }

    #[test]
    fn this_workspace_fingerprints_a_model_with_its_crates() {
        let root = registry::repository_root();
        if !root.join("book").is_dir() {
            return; // the workshop's copy: not the repository
        }
        let workspace = Workspace::read(&root).unwrap();
        let crates = workspace.external_crates(&["async-tokio".into()]).unwrap();
        assert!(crates.iter().any(|c| c.starts_with("tokio@")), "{crates:?}");
        assert!(
            !crates.iter().any(|c| c.starts_with("criterion@")),
            "dev-dependencies are not measured: {crates:?}"
        );
        let pool = workspace.workspace_closure("thread-pool").unwrap();
        assert!(
            pool.contains("single-thread"),
            "02 runs 01's code: {pool:?}"
        );
        assert!(!pool.contains("async-tokio"), "{pool:?}");
    }
}
