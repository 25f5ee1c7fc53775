//! `cargo xtask check-exercises`: proves, for every exercise, that its
//! starter compiles, that its tests fail on the starter (every one of them:
//! a test that passes on `todo!()` checks nothing), that they pass on the
//! solution, and that they catch the classic wrong answers the catalogue
//! lists; that the exercises can be done in order (each one's tests pass
//! with the later ones still cut out); and that the book's starters are the
//! generator's.
//!
//! It works in a copy of the repository under `target/xtask/`, made by the
//! same code as the learner's, and builds it with a target folder of its
//! own, kept between runs: the first run compiles the dependencies, later
//! runs only the packages an exercise touches.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};

use crate::book;
use crate::catalogue::{EXERCISES, Exercise, WrongAnswer};
use crate::source;
use crate::starter::{Starter, write_if_changed};

/// What one run of an exercise's tests reported.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    passed: Vec<String>,
    failed: Vec<String>,
    /// libtest's report of the failures (each failed test's output), cut
    /// to its first lines: what a maintainer needs when a check fails.
    failures: String,
}

/// Checks `exercises`; `root` is the repository.
pub fn check_exercises(root: &Path, exercises: &[&'static Exercise]) -> Result<()> {
    let started = Instant::now();
    book::check_starters(root)?;
    println!("ok   the book's starters are current");
    for exercise in exercises {
        let test = root
            .join("exercises/tests")
            .join(format!("{}.rs", exercise.slug));
        ensure!(
            test.is_file(),
            "exercise {}: {} is missing",
            exercise.number,
            test.display()
        );
    }

    let work = root.join("target/xtask");
    let copy = work.join("check");
    let cargo = Cargo {
        dir: copy.clone(),
        target: work.join("check-target"),
    };
    let solution = Starter {
        root,
        exercises: Vec::new(),
    };
    println!(
        "..   copying the repository to {} and building it (the first run takes minutes)",
        copy.display()
    );
    solution.write(&copy)?;
    solution.prune_stale(&copy)?;
    cargo
        .run(&["test", "-p", "exercises", "--no-run"])?
        .success("the solution does not compile")?;

    for exercise in exercises {
        check_one(root, &cargo, exercise)?;
    }

    check_in_order(root, &cargo, exercises)?;

    let all = Starter {
        root,
        exercises: exercises.to_vec(),
    };
    all.write(&copy)?;
    cargo
        .run(&["check", "--workspace", "--all-targets"])?
        .success("the starter with every chosen exercise cut out does not compile")?;
    println!(
        "ok   the starter with all {} exercise(s) cut out compiles",
        exercises.len()
    );
    solution.write(&copy)?;
    println!(
        "all {} exercise(s) check out ({:.1} s)",
        exercises.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One exercise: its tests pass on the solution; its starter (this
/// exercise cut out, the others solved) compiles and fails every test.
fn check_one(root: &Path, cargo: &Cargo, exercise: &'static Exercise) -> Result<()> {
    let started = Instant::now();
    let name = format!("exercise {} ({})", exercise.number, exercise.slug);
    let test_args = ["test", "-p", "exercises", "--test", exercise.slug];

    let solution = Starter {
        root,
        exercises: Vec::new(),
    };
    solution.write(&cargo.dir)?;
    let on_solution = outcome(&cargo.run(&test_args)?);
    ensure!(
        on_solution.failed.is_empty() && !on_solution.passed.is_empty(),
        "{name}: its tests must pass on the solution; failed: {:?}, passed: {}\n{}",
        on_solution.failed,
        on_solution.passed.len(),
        on_solution.failures
    );

    let starter = Starter {
        root,
        exercises: vec![exercise],
    };
    starter.write(&cargo.dir)?;
    let mut build = test_args.to_vec();
    build.push("--no-run");
    cargo
        .run(&build)?
        .success(&format!("{name}: the starter does not compile"))?;
    let on_starter = outcome(&cargo.run(&test_args)?);
    ensure!(
        on_starter.passed.is_empty() && on_starter.failed.len() == on_solution.passed.len(),
        "{name}: every test must fail on the starter, but these pass on `todo!()`: {:?} \
         ({} of {} failed)",
        on_starter.passed,
        on_starter.failed.len(),
        on_solution.passed.len()
    );
    for wrong in exercise.wrong_answers {
        solution.write(&cargo.dir)?;
        put_in_wrong_answer(root, &cargo.dir, exercise, wrong)?;
        cargo.run(&build)?.success(&format!(
            "{name}: the wrong answer \"{}\" does not compile",
            wrong.mistake
        ))?;
        let on_wrong = outcome(&cargo.run(&test_args)?);
        ensure!(
            !on_wrong.failed.is_empty(),
            "{name}: no test catches the mistake \"{}\": all {} pass",
            wrong.mistake,
            on_wrong.passed.len()
        );
        println!(
            "ok   {name}: the wrong answer \"{}\" fails {} of its tests",
            wrong.mistake,
            on_wrong.failed.len()
        );
    }
    solution.write(&cargo.dir)?;
    println!(
        "ok   {name}: starter compiles, {} tests fail on it and pass on the solution ({:.1} s)",
        on_solution.passed.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A learner does the exercises in order in a copy with all of them cut
/// out: each exercise's tests must pass once it and the ones before it are
/// done, with the later ones still `todo!()`. (Exercise 3's tests must not
/// need exercise 4's code, for instance.)
fn check_in_order(root: &Path, cargo: &Cargo, exercises: &[&'static Exercise]) -> Result<()> {
    for (done, exercise) in exercises.iter().enumerate() {
        let later = exercises[done + 1..].to_vec();
        if later.is_empty() {
            continue; // the solution itself: checked already
        }
        Starter {
            root,
            exercises: later,
        }
        .write(&cargo.dir)?;
        let on_partial =
            outcome(&cargo.run(&["test", "-p", "exercises", "--test", exercise.slug])?);
        ensure!(
            on_partial.failed.is_empty() && !on_partial.passed.is_empty(),
            "exercise {}'s tests need code of a later exercise: with the exercises after it cut out, \
             these fail: {:?}\n{}",
            exercise.number,
            on_partial.failed,
            on_partial.failures
        );
    }
    println!("ok   done in order, each exercise passes before the later ones are written");
    Ok(())
}

/// Writes the copy's file of `wrong`'s region with the mistake in place of
/// the solution (the rest of the copy is the solution).
fn put_in_wrong_answer(
    root: &Path,
    copy: &Path,
    exercise: &Exercise,
    wrong: &WrongAnswer,
) -> Result<()> {
    let region = EXERCISES
        .iter()
        .flat_map(|exercise| exercise.regions)
        .find(|region| region.anchor == wrong.anchor)
        .with_context(|| {
            format!(
                "exercise {}: no exercise has the region {} of the wrong answer \"{}\"",
                exercise.number, wrong.anchor, wrong.mistake
            )
        })?;
    let original = fs::read_to_string(root.join(region.file))
        .with_context(|| format!("cannot read {}", region.file))?;
    let wrong_source = source::put_in(&original, wrong.anchor, wrong.code)?;
    write_if_changed(
        &copy.join(region.file),
        &source::strip_anchors(&wrong_source),
    )?;
    Ok(())
}

/// How much of libtest's failure report an error shows.
const FAILURE_LINES: usize = 60;

/// Reads libtest's `test <name> ... ok|FAILED` lines.
fn outcome(output: &Output) -> Outcome {
    let mut result = Outcome::default();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if let Some((_, report)) = stdout.split_once("\nfailures:\n") {
        let lines: Vec<&str> = report.lines().take(FAILURE_LINES).collect();
        result.failures = lines.join("\n");
    }
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        if let Some(name) = rest.strip_suffix(" ... ok") {
            result.passed.push(name.to_string());
        } else if let Some(name) = rest.strip_suffix(" ... FAILED") {
            result.failed.push(name.to_string());
        }
    }
    result
}

/// Cargo, run in the copy with the check's own target folder.
struct Cargo {
    dir: PathBuf,
    target: PathBuf,
}

impl Cargo {
    fn run(&self, args: &[&str]) -> Result<Output> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        Command::new(&cargo)
            .args(args)
            .current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("CARGO_TERM_COLOR", "never")
            .output()
            .with_context(|| format!("cannot run cargo {}", args.join(" ")))
    }
}

trait Success {
    /// The output, or an error with `what` and cargo's own messages.
    fn success(self, what: &str) -> Result<Output>;
}

impl Success for Output {
    fn success(self, what: &str) -> Result<Output> {
        if self.status.success() {
            return Ok(self);
        }
        let stderr = String::from_utf8_lossy(&self.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(60).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!("{what}:\n{}", tail.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_lines_are_read_and_the_rest_ignored() {
        let stdout = "\nrunning 3 tests\ntest a ... ok\ntest m::b ... FAILED\ntest c ... ignored\n\
                      \nfailures:\n\n---- m::b stdout ----\nassertion failed\n\n\
                      test result: FAILED. 1 passed; 1 failed\n";
        let output = Output {
            status: Command::new("true").status().unwrap(),
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        };
        let read = outcome(&output);
        assert_eq!(read.passed, ["a"]);
        assert_eq!(read.failed, ["m::b"]);
        assert!(
            read.failures
                .contains("---- m::b stdout ----\nassertion failed")
        );
    }
}
