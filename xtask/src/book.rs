//! The starters the book shows: for each exercise, the functions the
//! learner edits, exactly as `cargo xtask workshop` writes them (the body
//! cut out, the hint, `todo!()`), in `book/src/workshop/starters/`.
//!
//! They are generated files, committed so that the book builds with mdBook
//! alone; `cargo xtask check-exercises` fails when one is stale.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::catalogue::{EXERCISES, Exercise};
use crate::source;
use crate::starter::write_if_changed;

/// Where the book's starters live, from the repository's root.
const STARTERS: &str = "book/src/workshop/starters";

/// The starter excerpt of one exercise.
fn starter_excerpt(root: &Path, exercise: &'static Exercise) -> Result<String> {
    let mut parts = Vec::new();
    for (file, anchor) in exercise.shows {
        let original =
            fs::read_to_string(root.join(file)).with_context(|| format!("cannot read {file}"))?;
        // Cut first, keeping the anchors the excerpt is taken from.
        let mut cut = original.clone();
        for region in exercise.regions.iter().filter(|r| r.file == *file) {
            cut = source::cut_out(&cut, region.anchor, region.hint, &exercise.todo_message())?;
        }
        parts.push(
            source::excerpt(&cut, anchor).with_context(|| format!("{file}, anchor {anchor}"))?,
        );
    }
    Ok(format!("// {}\n{}", exercise.shows[0].0, parts.join("\n")))
}

fn path_of(root: &Path, exercise: &Exercise) -> PathBuf {
    root.join(STARTERS).join(format!("{}.rs", exercise.slug))
}

/// Writes every exercise's starter excerpt; returns how many changed.
pub fn write_starters(root: &Path) -> Result<usize> {
    let mut changed = 0;
    for exercise in EXERCISES {
        changed += write_if_changed(&path_of(root, exercise), &starter_excerpt(root, exercise)?)?;
    }
    Ok(changed)
}

/// Fails if a committed starter differs from what the generator writes.
pub fn check_starters(root: &Path) -> Result<()> {
    for exercise in EXERCISES {
        let path = path_of(root, exercise);
        let committed = fs::read_to_string(&path).unwrap_or_default();
        if committed != starter_excerpt(root, exercise)? {
            bail!(
                "{} is not what the generator writes from the sources: run `cargo xtask book-starters`",
                path.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::starter::repository_root;

    #[test]
    fn every_starter_shows_its_todo_and_no_anchor_or_solution() {
        let root = repository_root();
        for exercise in EXERCISES {
            let shown = starter_excerpt(&root, exercise).unwrap();
            let todos = shown
                .matches(&format!("todo!({:?})", exercise.todo_message()))
                .count();
            assert_eq!(todos, exercise.regions.len(), "{}", exercise.slug);
            assert!(!shown.contains("ANCHOR"), "{}", exercise.slug);
        }
        // Lines of the solution that the page shows in the real source and
        // must not show in the starter.
        for (exercise, line) in [
            (&EXERCISES[0], "self.release_consumed();"),
            (
                &EXERCISES[2],
                "let (sender, receiver) = mpsc::sync_channel(queue);",
            ),
            (&EXERCISES[7], ".map_err(io::Error::other)"),
        ] {
            let (file, anchor) = exercise.shows[0];
            let real = fs::read_to_string(root.join(file)).unwrap();
            assert!(
                source::excerpt(&real, anchor).unwrap().contains(line),
                "{line}"
            );
            let shown = starter_excerpt(&root, exercise).unwrap();
            assert!(!shown.contains(line), "{}: {line}", exercise.slug);
        }
    }

    #[test]
    fn the_committed_starters_are_the_generated_ones() {
        check_starters(&repository_root()).unwrap();
    }
}
