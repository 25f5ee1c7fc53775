//! `views`: redraw the book's tables, charts and sentences from the
//! suite's stored measurements, measuring nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Redraw the book's tables, charts, sentences and claims from suite.json.
///
/// Reads `suite.json` in the folder and writes every view beside it. Run it
/// after changing how a table, a chart or a sentence is written: nothing is
/// measured again, and no stored result becomes stale.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The folder holding suite.json [default: book/src/results]
    #[arg(long, value_name = "DIR")]
    results: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let folder = cli
        .results
        .unwrap_or_else(|| registry::repository_root().join("book/src/results"));
    match views::render(&folder) {
        Ok(()) => {
            eprintln!("views: redrawn in {}", folder.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
