//! The learner's copy of the repository: every package the exercises need,
//! with the chosen exercises' code cut out.
//!
//! The copy is a workspace of its own, so `cargo test -p exercises …` in it
//! builds the learner's code and nothing of the original. It leaves out
//! this `xtask` package and the book, and strips the anchor lines (mdBook
//! markers a learner has no use for) from every source.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::catalogue::{EXERCISES, Exercise};
use crate::source;

/// Packages of the repository that the copy leaves out.
const LEFT_OUT: &[&str] = &["xtask"];

/// Files at the root that the copy needs besides `Cargo.toml`.
const ROOT_FILES: &[&str] = &["Cargo.lock", "clippy.toml", "PROTOCOL.md"];

/// The repository and the exercises whose code a copy cuts out.
#[derive(Debug)]
pub struct Starter<'a> {
    /// The repository's root.
    pub root: &'a Path,
    /// The exercises to cut out; the other exercises keep their solution.
    pub exercises: Vec<&'static Exercise>,
}

impl Starter<'_> {
    /// Writes the copy to `out`. A file whose content is already right is
    /// left alone, so that cargo, going by modification times, rebuilds only
    /// what changed since the last copy.
    pub fn write(&self, out: &Path) -> Result<usize> {
        let manifest = read(&self.root.join("Cargo.toml"))?;
        let mut written = 0;
        for member in members(&manifest)? {
            if !LEFT_OUT.contains(&member.as_str()) {
                written += self.copy_tree(Path::new(&member), out)?;
            }
        }
        for file in ROOT_FILES {
            written += write_if_changed(&out.join(file), &read(&self.root.join(file))?)?;
        }
        written += write_if_changed(&out.join("Cargo.toml"), &learner_manifest(&manifest)?)?;
        written += write_if_changed(&out.join("README.md"), &self.readme())?;
        Ok(written)
    }

    /// Deletes the files of an earlier copy in `out` that the repository no
    /// longer has (a renamed test would otherwise still be compiled). Only
    /// for copies this tool owns: in a learner's copy, those are their work.
    pub fn prune_stale(&self, out: &Path) -> Result<usize> {
        let manifest = read(&self.root.join("Cargo.toml"))?;
        let mut removed = 0;
        for member in members(&manifest)? {
            removed += self.prune_tree(Path::new(&member), out)?;
        }
        Ok(removed)
    }

    fn prune_tree(&self, relative: &Path, out: &Path) -> Result<usize> {
        let Ok(entries) = fs::read_dir(out.join(relative)) else {
            return Ok(0); // not copied (yet): nothing stale
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", relative.display()))?;
            let path = relative.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                if entry.file_name() != "target" {
                    removed += self.prune_tree(&path, out)?;
                }
            } else if !self.root.join(&path).exists() {
                fs::remove_file(entry.path())
                    .with_context(|| format!("cannot remove {}", entry.path().display()))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Copies one package's folder (without build output), sources through
    /// [`Starter::starter_source`].
    fn copy_tree(&self, relative: &Path, out: &Path) -> Result<usize> {
        let from = self.root.join(relative);
        let mut written = 0;
        let entries =
            fs::read_dir(&from).with_context(|| format!("cannot list {}", from.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", from.display()))?;
            let name = entry.file_name();
            let path = relative.join(&name);
            if entry.file_type()?.is_dir() {
                if name != "target" {
                    written += self.copy_tree(&path, out)?;
                }
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = self.starter_source(&path, &read(&entry.path())?)?;
                written += write_if_changed(&out.join(&path), &text)?;
            } else {
                let bytes = fs::read(entry.path())
                    .with_context(|| format!("cannot read {}", path.display()))?;
                written += write_bytes_if_changed(&out.join(&path), &bytes)?;
            }
        }
        Ok(written)
    }

    /// One source file as the learner gets it: the chosen exercises' regions
    /// in it cut out, anchor lines stripped.
    pub fn starter_source(&self, path: &Path, text: &str) -> Result<String> {
        let mut text = text.to_string();
        for exercise in &self.exercises {
            for region in exercise
                .regions
                .iter()
                .filter(|r| Path::new(r.file) == path)
            {
                text = source::cut_out(&text, region.anchor, region.hint, &exercise.todo_message())
                    .with_context(|| format!("exercise {} in {}", exercise.number, region.file))?;
            }
        }
        Ok(source::strip_anchors(&text))
    }

    /// The copy's README: what to do, exercise by exercise.
    fn readme(&self) -> String {
        let mut text = String::from(
            "# Workshop: your copy\n\n\
             Written by `cargo xtask workshop`. The code of each exercise below has been cut out\n\
             of the real sources and replaced by `todo!()` with a `// TODO:` hint. Search for the\n\
             hint, write the code, and run the exercise's command here until it passes. The book's\n\
             Workshop chapter has the goal, more hints and the solution of each.\n\n\
             | # | exercise | check it with |\n|---|---|---|\n",
        );
        for exercise in EXERCISES {
            let state = if self.exercises.iter().any(|e| e.number == exercise.number) {
                exercise.test_command()
            } else {
                "(solution kept: not part of this workshop)".to_string()
            };
            text.push_str(&format!(
                "| {} | {} | `{state}` |\n",
                exercise.number, exercise.title
            ));
        }
        text.push_str(
            "\nThe servers run as usual here (`cargo run --release --bin 01-single-thread`), and so\n\
             does the load tester (`cargo run --release --bin loadtest -- run --help`).\n",
        );
        text
    }
}

/// The package folders listed in the workspace's `members = [ … ]`.
fn members(manifest: &str) -> Result<Vec<String>> {
    let list = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .context("Cargo.toml has no `members = [ … ]` list")?;
    Ok(list
        .split(',')
        .map(|item| item.trim().trim_matches('"').to_string())
        .filter(|item| !item.is_empty())
        .collect())
}

/// The root `Cargo.toml` for the copy: without the packages left out, and
/// with the `unused` lints allowed, because `todo!()` leaves parameters and
/// imports unused until the learner's code uses them.
fn learner_manifest(manifest: &str) -> Result<String> {
    let mut text = String::new();
    for line in manifest.lines() {
        let item = line.trim().trim_end_matches(',').trim_matches('"');
        if LEFT_OUT.contains(&item)
            || line.starts_with("exclude =")
            || line.contains("xtask workshop")
        {
            continue;
        }
        text.push_str(line);
        text.push('\n');
        if line == "[workspace.lints.rust]" {
            text.push_str(
                "# The starter's `todo!()`s leave parameters and imports unused until your code\n\
                 # uses them. Delete this line to see those warnings again.\n\
                 unused = { level = \"allow\", priority = -1 }\n",
            );
        }
    }
    if !text.contains("unused = {") {
        bail!("Cargo.toml has no [workspace.lints.rust] table: xtask's starter needs one");
    }
    Ok(text)
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Writes `text` unless the file already holds it; 1 if it wrote.
pub fn write_if_changed(path: &Path, text: &str) -> Result<usize> {
    write_bytes_if_changed(path, text.as_bytes())
}

fn write_bytes_if_changed(path: &Path, bytes: &[u8]) -> Result<usize> {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(0);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(1)
}

/// The repository's root: the folder above this package.
pub fn repository_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "[workspace]\nmembers = [\n    \"protocol\",\n    \"exercises\",\n    \"xtask\",\n]\n\
        # `cargo xtask workshop` writes the learner's copy here.\nexclude = [\"workshop\"]\n\n\
        [workspace.lints.rust]\nunsafe_op_in_unsafe_fn = \"warn\"\n";

    #[test]
    fn members_are_read_from_the_list() {
        assert_eq!(
            members(MANIFEST).unwrap(),
            ["protocol", "exercises", "xtask"]
        );
        assert!(members("[workspace]\n").is_err());
    }

    #[test]
    fn the_learner_manifest_drops_xtask_and_allows_unused() {
        let learner = learner_manifest(MANIFEST).unwrap();
        assert!(!learner.contains("xtask"), "{learner}");
        assert!(!learner.contains("exclude"), "{learner}");
        assert!(learner.contains("    \"exercises\",\n]"), "{learner}");
        assert!(
            learner.contains("[workspace.lints.rust]\n# The starter"),
            "{learner}"
        );
        assert!(learner_manifest("[workspace]\nmembers = []\n").is_err());
    }

    #[test]
    fn a_written_copy_is_a_workspace_without_xtask_or_anchors_and_rewrites_nothing_twice() {
        let root = repository_root();
        let out = std::env::temp_dir().join(format!("xtask-starter-test-{}", std::process::id()));
        let starter = Starter {
            root: &root,
            exercises: crate::catalogue::select(&[1]).unwrap(),
        };
        let first = starter.write(&out).unwrap();
        assert!(first > 20, "only {first} files written");
        assert_eq!(
            starter.write(&out).unwrap(),
            0,
            "a second write changed files"
        );
        let stray = out.join("exercises/tests/ex99_renamed.rs");
        fs::write(&stray, "// left by an older copy").unwrap();
        assert_eq!(starter.prune_stale(&out).unwrap(), 1);
        assert!(!stray.exists() && out.join("exercises/tests/ex01_line_framer.rs").exists());

        let manifest = read(&out.join("Cargo.toml")).unwrap();
        assert!(!out.join("xtask").exists() && !manifest.contains("xtask"));
        assert!(out.join("Cargo.lock").is_file());
        assert!(out.join("exercises/tests/ex01_line_framer.rs").is_file());
        let framer = read(&out.join("protocol/src/framing.rs")).unwrap();
        assert!(
            framer.contains("todo!(\"exercise 1: "),
            "exercise 1 is not cut out"
        );
        assert!(!framer.contains("ANCHOR"));
        let pool = read(&out.join("02-thread-pool/src/server.rs")).unwrap();
        assert!(
            !pool.contains("todo!("),
            "exercise 3 was not chosen but is cut out"
        );
        let readme = read(&out.join("README.md")).unwrap();
        assert!(readme.contains("cargo test -p exercises --test ex01_line_framer"));
        assert!(readme.contains(
            "| 3 | a std thread pool: Worker, Job, shutdown through Drop | `(solution kept"
        ));
        fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn the_real_repository_yields_a_starter_for_every_exercise() {
        let root = repository_root();
        let starter = Starter {
            root: &root,
            exercises: EXERCISES.iter().collect(),
        };
        for exercise in EXERCISES {
            for region in exercise.regions {
                let path = Path::new(region.file);
                let original = read(&root.join(path)).unwrap();
                let cut = starter.starter_source(path, &original).unwrap();
                assert!(cut.contains(&format!("todo!({:?})", exercise.todo_message())));
                assert!(cut.contains("// TODO: "));
                assert!(!cut.contains("ANCHOR"));
                assert!(
                    cut.len() < original.len(),
                    "{}: nothing was cut",
                    region.file
                );
            }
        }
    }
}
