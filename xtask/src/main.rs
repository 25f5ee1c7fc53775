//! `cargo xtask`: the repository's own tasks, in Rust, run with cargo.
//!
//! - `workshop`: write the learner's starter code (a copy of the repository
//!   with the exercises' code cut out) to a folder to work in.
//! - `check-exercises`: prove every exercise works (CI runs it).
//! - `book-starters`: rewrite the starters the book shows.
//! - `peers`: build the Go peer into `target/peers/` for `loadtest suite`.
//! - `results check|plan|refresh`: which stored results no longer measure
//!   the code as it is, what rerunning them takes, and the rerun.
//! - `lockstep`: 03's and 04's `server.rs` differ only by the lesson.
//!
//! The exercises themselves are listed in `catalogue.rs`.

mod book;
mod catalogue;
mod check;
mod lockstep;
mod peers;
mod results;
mod source;
mod starter;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};

use catalogue::Exercise;

#[derive(Debug, Parser)]
#[command(
    bin_name = "cargo xtask",
    about = "The repository's tasks: the workshop's starter code and its checks, the peers' builds, the stored results' freshness."
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Write the starter code for the workshop to a folder you work in.
    ///
    /// The folder is a copy of the repository (a workspace of its own) in
    /// which each chosen exercise's code is replaced by `todo!()` and a
    /// `// TODO:` hint. Run an exercise's tests there with the command the
    /// book gives, e.g. `cargo test -p exercises --test ex01_line_framer`.
    Workshop {
        /// Where to write the copy.
        #[arg(long, default_value = "workshop")]
        out: PathBuf,
        /// Which exercises to cut out, e.g. `1,3,5`; the others keep their
        /// solution. All nine by default.
        #[arg(long, value_delimiter = ',', value_name = "N,...")]
        exercises: Vec<u8>,
        /// Overwrite the folder even if it exists (and holds your work).
        #[arg(long)]
        force: bool,
    },
    /// Prove that each exercise's starter compiles, that its tests fail on
    /// the starter, pass on the solution and catch a classic wrong answer,
    /// that the exercises can be done in order, and that the book's
    /// starters are current.
    ///
    /// Works in a copy under target/xtask/ with a target folder of its own:
    /// the first run builds the dependencies (a minute or two), later runs
    /// only what an exercise touches. CI runs it.
    CheckExercises {
        /// Check only these exercises, e.g. `1,2`.
        #[arg(long, value_delimiter = ',', value_name = "N,...")]
        exercises: Vec<u8>,
    },
    /// Rewrite book/src/workshop/starters/ from the sources.
    BookStarters,
    /// Build the Go peer into target/peers/go-peer, where `loadtest suite`
    /// finds it (needs `go` on PATH). The Node peer needs no build: the
    /// suite runs `node peers/node/server.js`.
    Peers,
    /// The stored results (book/src/results/): which no longer measure the
    /// code as it is, and rerunning exactly those.
    ///
    /// Every result carries a fingerprint of what it measured: the files
    /// its binaries compile (cargo's dep-info), its crates' versions, rustc
    /// and the release profile. Changing the book or a view stales
    /// nothing; changing 03 stales 03's results only.
    Results {
        #[command(subcommand)]
        action: ResultsAction,
    },
    /// Check that 03's and 04's server.rs differ only by the lesson: their
    /// diff must be the committed 04-hybrid-blocking/lesson.diff. With
    /// --bless, rewrite that file from the sources (after changing the
    /// lesson on purpose).
    Lockstep {
        /// Rewrite 04-hybrid-blocking/lesson.diff instead of checking it.
        #[arg(long)]
        bless: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ResultsAction {
    /// Say which results are stale and why (the changed files); exit 1 if
    /// any is. Builds in release first. CI runs it.
    Check,
    /// Say what `refresh` would rerun, and how long each part took last.
    Plan {
        /// Instead: what changing this file or folder would stale, and how
        /// long its rerun would take (e.g. --if-changed 03-async-tokio/src)
        #[arg(long, value_name = "PATH")]
        if_changed: Option<String>,
    },
    /// Rerun what is stale (suite runs, benchmarks, reliability checks,
    /// anatomy rows), store it with its fingerprint, redraw the views.
    /// Refuses to merge with results measured on another CPU or core count.
    Refresh {
        /// Rerun everything, stale or not (to move the results to this
        /// machine).
        #[arg(long)]
        all: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let root = starter::repository_root();
    match cli.task {
        Task::Workshop {
            out,
            exercises,
            force,
        } => workshop(&root, &out, &chosen(&exercises)?, force),
        Task::CheckExercises { exercises } => check::check_exercises(&root, &chosen(&exercises)?),
        Task::Peers => peers::build(&root),
        Task::Results { action } => {
            let action = match action {
                ResultsAction::Check => results::Action::Check,
                ResultsAction::Plan { if_changed } => results::Action::Plan { if_changed },
                ResultsAction::Refresh { all } => results::Action::Refresh { all },
            };
            if results::results(&root, action)? {
                Ok(())
            } else {
                bail!("stale results: rerun them (`cargo xtask results plan` says what it takes)")
            }
        }
        Task::Lockstep { bless } => lockstep::lockstep(&root, bless),
        Task::BookStarters => {
            let changed = book::write_starters(&root)?;
            println!("{changed} starter(s) rewritten in book/src/workshop/starters");
            Ok(())
        }
    }
}

/// The exercises named on the command line, or all of them.
fn chosen(numbers: &[u8]) -> Result<Vec<&'static Exercise>> {
    if numbers.is_empty() {
        Ok(catalogue::EXERCISES.iter().collect())
    } else {
        catalogue::select(numbers)
    }
}

/// `cargo xtask workshop`.
fn workshop(root: &Path, out: &Path, exercises: &[&'static Exercise], force: bool) -> Result<()> {
    // Relative to where the user ran the command, as they typed it; cargo
    // runs xtask from there.
    let holds_work = out.join("Cargo.toml").exists();
    if holds_work && !force {
        bail!(
            "{} already exists and may hold your work; pass --force to overwrite it, \
             or --out to write somewhere else",
            out.display()
        );
    }
    let starter = starter::Starter {
        root,
        exercises: exercises.to_vec(),
    };
    starter.write(out)?;
    let numbers: Vec<String> = exercises.iter().map(|e| e.number.to_string()).collect();
    println!(
        "Wrote the starter code for exercise(s) {} to {}/ (see its README.md).",
        numbers.join(", "),
        out.display()
    );
    if let Some(first) = exercises.first() {
        println!("Start with exercise {}:", first.number);
        println!("    cd {}", out.display());
        println!("    {}", first.test_command());
    }
    Ok(())
}
