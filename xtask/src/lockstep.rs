//! `cargo xtask lockstep`: 03's and 04's `server.rs` stay in step.
//!
//! 04 is 03 with `WORK` and `SLEEP` moved off the runtime, and the book
//! says `diff` the two files to see the lesson. That only holds while a
//! change to the code they share is made to both. So the diff itself is
//! committed (`04-hybrid-blocking/lesson.diff`, `diff -U0`) and checked:
//! when the two files change together, the diff stays as it was and the
//! check passes; when one changes alone, the diff grows and the check
//! fails, naming the lines. Changing the lesson on purpose is
//! `cargo xtask lockstep --bless`.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

const OURS: &str = "03-async-tokio/src/server.rs";
const THEIRS: &str = "04-hybrid-blocking/src/server.rs";
const LESSON: &str = "04-hybrid-blocking/lesson.diff";

/// Checks the diff against the committed one, or rewrites it (`bless`).
pub fn lockstep(root: &Path, bless: bool) -> Result<()> {
    let diff = diff(root)?;
    let lesson = root.join(LESSON);
    if bless {
        fs::write(&lesson, &diff).with_context(|| format!("cannot write {LESSON}"))?;
        println!("wrote {LESSON}");
        return Ok(());
    }
    let committed = fs::read_to_string(&lesson).with_context(|| format!("cannot read {LESSON}"))?;
    let (now, then) = (hunks(&diff), hunks(&committed));
    if now == then {
        println!("03 and 04 differ only by the lesson ({} hunks)", now.len());
        return Ok(());
    }
    let extra: Vec<&String> = now.iter().filter(|h| !then.contains(h)).collect();
    let missing: Vec<&String> = then.iter().filter(|h| !now.contains(h)).collect();
    let mut why = String::new();
    for hunk in extra {
        why.push_str(&format!("\nnew difference:\n{hunk}"));
    }
    for hunk in missing {
        why.push_str(&format!("\ndifference gone:\n{hunk}"));
    }
    bail!(
        "{OURS} and {THEIRS} differ outside the lesson: make the change in both, \
         or if the lesson changed, `cargo xtask lockstep --bless`{why}"
    )
}

/// `diff -U0` of the two files, with stable file headers.
fn diff(root: &Path) -> Result<String> {
    let output = Command::new("diff")
        .current_dir(root)
        .args(["-U0", "--label", OURS, "--label", THEIRS, OURS, THEIRS])
        .output()
        .context("cannot run diff")?;
    // diff exits 1 when the files differ, which they must.
    if output.status.code() != Some(1) {
        bail!("diff {OURS} {THEIRS} failed ({})", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The hunks of a `diff -U0`, without their line numbers: a change made
/// to both files moves the hunks but leaves them as they were.
fn hunks(diff: &str) -> Vec<String> {
    let mut hunks: Vec<String> = Vec::new();
    for line in diff.lines() {
        if line.starts_with("@@") {
            hunks.push(String::new());
        } else if let Some(hunk) = hunks.last_mut() {
            hunk.push_str(line);
            hunk.push('\n');
        }
    }
    hunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_ignore_where_they_are() {
        let before = "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n@@ -5,0 +6 @@\n+z\n";
        let moved = "--- a\n+++ b\n@@ -3 +3 @@\n-x\n+y\n@@ -9,0 +10 @@\n+z\n";
        assert_eq!(hunks(before), hunks(moved));
        assert_eq!(hunks(before), ["-x\n+y\n", "+z\n"]);
        let grown = "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n@@ -5,0 +6 @@\n+z\n+w\n";
        assert_ne!(hunks(before), hunks(grown));
    }

    #[test]
    fn the_committed_lesson_is_the_diff_of_the_sources() {
        let root = crate::starter::repository_root();
        if !root.join(LESSON).is_file() {
            return; // the workshop's copy
        }
        lockstep(&root, false).unwrap();
    }
}
