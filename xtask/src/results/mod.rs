//! `cargo xtask results check|plan|refresh`: which stored results no
//! longer measure the code as it is, what rerunning them would take, and
//! the rerun of exactly those.
//!
//! A result is stale when the fingerprint of what it measured (the
//! `fingerprint` crate: the files its binaries compile, its crates, rustc,
//! the release profile, its settings) differs from today's, or when it is
//! missing. Nothing else counts: a change to the book, to a view, to a
//! test or to a model the result does not run stales nothing, and an
//! uncommitted change counts as soon as it is on disk, so code and the
//! numbers measured on it can land in one commit.

mod store;
mod units;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use fingerprint::{Inputs, Machine, Workspace};
use loadtest::suite::data::Results;
use loadtest::suite::schedule::Schedule;
use registry::Step;

use store::{Kind, Store, Stored};
use units::{Built, Expected};

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Say what is stale and why; fail if anything is.
    Check,
    /// Say what a refresh would rerun, and about how long it would take;
    /// with a path, what changing that file (or folder) would stale.
    Plan {
        /// A file or folder from the repository's root.
        if_changed: Option<String>,
    },
    /// Rerun what is stale, then redraw the views.
    Refresh {
        /// Rerun everything, stale or not (the way to move the results to
        /// another machine).
        all: bool,
    },
}

/// A stale result, and why.
#[derive(Debug)]
struct Stale {
    /// `suite`, `bench`, `reliability` or `anatomy`.
    kind: &'static str,
    /// The unit: a server for the suite, an id for the others.
    id: String,
    /// The suite's steps to rerun (the suite only).
    steps: BTreeSet<Step>,
    /// Why, a line each.
    why: Vec<String>,
    /// How long it took last time, if it ever ran.
    took_s: Option<f64>,
}

impl Stale {
    /// The suite's steps in parentheses, or nothing for the other kinds.
    fn steps_text(&self) -> String {
        if self.steps.is_empty() {
            return String::new();
        }
        let names: Vec<&str> = self.steps.iter().map(|s| s.name()).collect();
        format!(" ({})", names.join(", "))
    }
}

/// Runs `action`; `Ok(false)` when `check` found something stale.
pub fn results(root: &Path, action: Action) -> Result<bool> {
    if let Action::Plan {
        if_changed: Some(path),
    } = &action
    {
        let folder = root.join("book/src/results");
        let mut touched = touching(&folder, path)?;
        add_reference(&folder, &mut touched);
        if !touched.is_empty() {
            report_plan(&touched);
        }
        return Ok(true);
    }
    let built = Built::build(root, matches!(action, Action::Refresh { .. }))?;
    let workspace = Workspace::read(root)?;
    let folder = root.join("book/src/results");
    let mut stale = suite_stale(root, &folder, &built.target, &workspace)?;
    let mut expected_by_kind = BTreeMap::new();
    for kind in Kind::ALL {
        let expected = units::expected(kind, &built, &workspace)?;
        let stored = Store::read(&folder, kind)?;
        stale.extend(stale_units(kind, &expected, &stored, &workspace)?);
        expected_by_kind.insert(kind.name(), (kind, expected, stored));
    }
    match action {
        Action::Check => {
            report_check(&stale);
            let mut drawn = views_drawn_from_stores(&folder, &expected_by_kind);
            drawn.extend(suite_views_drawn(&built.target, &folder)?);
            for problem in &drawn {
                println!("STALE {problem}");
            }
            Ok(stale.is_empty() && drawn.is_empty())
        }
        Action::Plan { .. } => {
            add_reference(&folder, &mut stale);
            report_plan(&stale);
            Ok(true)
        }
        Action::Refresh { all } => {
            if all {
                stale = everything(&folder, &expected_by_kind)?;
            } else {
                refuse_mixing_machines(&folder, &stale, &expected_by_kind)?;
                add_reference(&folder, &mut stale);
            }
            report_plan(&stale);
            refresh(
                root,
                &folder,
                &built,
                &workspace,
                &stale,
                &mut expected_by_kind,
            )?;
            Ok(true)
        }
    }
}

/// The suite's stale runs, grouped by server.
fn suite_stale(
    root: &Path,
    folder: &Path,
    target: &Path,
    workspace: &Workspace,
) -> Result<Vec<Stale>> {
    let path = folder.join("suite.json");
    let results = match Results::read(&path) {
        Ok(results) => Some(results),
        Err(error) => {
            println!("note: {error:#}");
            None
        }
    };
    let mut stale = Vec::new();
    for server in &registry::SERVERS {
        let now = workspace.inputs(&fingerprint::Unit::suite(server, target))?;
        let steps = steps_of(server);
        let mut entry = Stale {
            kind: "suite",
            id: server.name.to_owned(),
            steps: BTreeSet::new(),
            why: Vec::new(),
            took_s: None,
        };
        let Some(results) = &results else {
            entry.steps.extend(&steps);
            entry.why.push("suite.json cannot be read".into());
            stale.push(entry);
            continue;
        };
        // Not measurable where the suite ran, and said so: stale only once
        // it can run here (its peer built, its interpreter installed),
        // when every step of it counts as never measured.
        let missing = results.missing.iter().any(|m| m.server == server.name);
        if missing && server.command(target, root).is_err() {
            continue;
        }
        let mut took = 0.0;
        for &step in &steps {
            let runs: Vec<_> = results
                .runs
                .iter()
                .filter(|run| run.server == server.name && run.step == step)
                .collect();
            took += runs.iter().map(|run| run.took_s).sum::<f64>();
            if runs.is_empty() {
                entry.steps.insert(step);
                entry.why.push(format!("{step}: never measured"));
                continue;
            }
            for run in runs {
                if run.fingerprint == now.digest() {
                    continue;
                }
                entry.steps.insert(step);
                let why = why_changed(&now, results.inputs.get(&run.fingerprint));
                for line in why {
                    if !entry.why.contains(&line) {
                        entry.why.push(line);
                    }
                }
            }
        }
        if !entry.steps.is_empty() {
            entry.took_s = (took > 0.0).then_some(took);
            stale.push(entry);
        } else {
            println!("fresh suite {}", server.name);
        }
    }
    Ok(stale)
}

/// The stored results whose inputs hold `path` (a file, or a folder's
/// files): what changing it would make stale, read from the fingerprints.
fn touching(folder: &Path, path: &str) -> Result<Vec<Stale>> {
    let path = path.trim_end_matches('/');
    let holds = |inputs: &Inputs| {
        inputs
            .files
            .keys()
            .any(|file| file == path || file.starts_with(&format!("{path}/")))
    };
    let why = vec![format!("compiles {path}")];
    let mut touched = Vec::new();
    let suite = Results::read(&folder.join("suite.json"))?;
    for server in &registry::SERVERS {
        let runs: Vec<_> = suite
            .runs
            .iter()
            .filter(|run| run.server == server.name)
            .filter(|run| suite.inputs.get(&run.fingerprint).is_some_and(holds))
            .collect();
        if !runs.is_empty() {
            touched.push(Stale {
                kind: "suite",
                id: server.name.to_owned(),
                steps: runs.iter().map(|run| run.step).collect(),
                why: why.clone(),
                took_s: Some(runs.iter().map(|run| run.took_s).sum()),
            });
        }
    }
    for kind in Kind::ALL {
        let store = Store::read(folder, kind)?;
        for (id, unit) in &store.units {
            if store.inputs.get(&unit.fingerprint).is_some_and(holds) {
                touched.push(Stale {
                    kind: kind.name(),
                    id: id.clone(),
                    steps: BTreeSet::new(),
                    why: why.clone(),
                    took_s: Some(unit.took_s),
                });
            }
        }
    }
    if touched.is_empty() {
        println!("no stored result compiles {path}: changing it stales nothing");
    }
    Ok(touched)
}

/// What changed between the stored inputs and today's.
fn why_changed(now: &Inputs, stored: Option<&Inputs>) -> Vec<String> {
    match stored {
        None => vec!["measured before results had fingerprints".to_owned()],
        Some(old) => {
            let changes = now.changes_since(old);
            if changes.is_empty() {
                vec!["its fingerprint differs".to_owned()]
            } else {
                changes
            }
        }
    }
}

/// The stale units of a kind other than the suite.
fn stale_units(
    kind: Kind,
    expected: &[Expected],
    stored: &Store,
    workspace: &Workspace,
) -> Result<Vec<Stale>> {
    let mut stale = Vec::new();
    for unit in expected {
        let now = workspace.inputs(&unit.unit)?;
        let why = match stored.units.get(&unit.id) {
            None => vec!["never measured".to_owned()],
            Some(old) if old.fingerprint == now.digest() => {
                println!("fresh {} {}", kind.name(), unit.id);
                continue;
            }
            Some(old) => why_changed(&now, stored.inputs.get(&old.fingerprint)),
        };
        stale.push(Stale {
            kind: kind.name(),
            id: unit.id.clone(),
            steps: BTreeSet::new(),
            why,
            took_s: stored.units.get(&unit.id).map(|u| u.took_s),
        });
    }
    Ok(stale)
}

/// Whether bench.txt, reliability.txt and bytes.md are what their stores
/// draw (a hand edit, or a store committed without its file, is caught).
fn views_drawn_from_stores(
    folder: &Path,
    stores: &BTreeMap<&str, (Kind, Vec<Expected>, Store)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (kind, expected, store) in stores.values() {
        let order: Vec<String> = expected.iter().map(|e| e.id.clone()).collect();
        let drawn = store.render(*kind, &order);
        let path = folder.join(kind.view_file());
        if fs::read_to_string(&path).ok().as_deref() != Some(drawn.as_str()) {
            problems.push(format!(
                "book/src/results/{}: not what the stored {} results draw (edited by hand?): \
                 `cargo xtask results refresh` redraws it",
                kind.view_file(),
                kind.name()
            ));
        }
    }
    problems
}

/// Whether the suite's views in the results folder are what `views`
/// draws from the stored suite.json today (a view changed without a
/// redraw, or a table edited by hand, is caught).
fn suite_views_drawn(target: &Path, folder: &Path) -> Result<Vec<String>> {
    let scratch = std::env::temp_dir().join(format!("xtask-views-{}", std::process::id()));
    fs::create_dir_all(&scratch)?;
    fs::copy(folder.join("suite.json"), scratch.join("suite.json"))
        .context("cannot copy suite.json")?;
    redraw_suite_views(target, &scratch)?;
    let mut problems = Vec::new();
    for entry in fs::read_dir(&scratch)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name == "suite.json" {
            continue;
        }
        if fs::read(&path).ok() != fs::read(folder.join(name)).ok() {
            problems.push(format!(
                "book/src/results/{name}: not what `views` draws from suite.json today: \
                 `cargo run --release -p views` redraws it"
            ));
        }
    }
    fs::remove_dir_all(&scratch)?;
    problems.sort();
    Ok(problems)
}

fn report_check(stale: &[Stale]) {
    if stale.is_empty() {
        println!("every stored result measured the code as it is");
        return;
    }
    for entry in stale {
        let steps = entry.steps_text();
        println!("STALE {} {}{steps}:", entry.kind, entry.id);
        for why in entry.why.iter().take(8) {
            println!("    {why}");
        }
        if entry.why.len() > 8 {
            println!("    … and {} more", entry.why.len() - 8);
        }
    }
    println!("`cargo xtask results plan` says what a rerun takes; `refresh` reruns it");
}

fn report_plan(stale: &[Stale]) {
    if stale.is_empty() {
        println!("nothing to rerun: every stored result measured the code as it is");
        return;
    }
    let mut total = 0.0;
    let mut unknown = 0;
    println!("to rerun:");
    for entry in stale {
        let took = match entry.took_s {
            Some(s) => {
                total += s;
                minutes(s)
            }
            None => {
                unknown += 1;
                "never timed".to_owned()
            }
        };
        let steps = entry.steps_text();
        let took = if entry.took_s.is_some() {
            format!("{took} last time")
        } else {
            took
        };
        println!("  {:<12} {}{steps}: {took}", entry.kind, entry.id);
    }
    let unknown = if unknown > 0 {
        format!(", plus {unknown} never timed")
    } else {
        String::new()
    };
    println!(
        "about {} in all{unknown}, then the views are redrawn (`cargo xtask results refresh`)",
        minutes(total)
    );
}

/// Seconds as `4 min 05 s`.
fn minutes(seconds: f64) -> String {
    let whole = seconds.max(0.0).round() as u64;
    format!("{} min {:02} s", whole / 60, whole % 60)
}

/// With `--all`: every unit, stale or not.
fn everything(
    folder: &Path,
    stores: &BTreeMap<&str, (Kind, Vec<Expected>, Store)>,
) -> Result<Vec<Stale>> {
    let suite = Results::read(&folder.join("suite.json")).ok();
    let mut all = Vec::new();
    for server in &registry::SERVERS {
        let took: f64 = suite
            .iter()
            .flat_map(|r| &r.runs)
            .filter(|r| r.server == server.name)
            .map(|r| r.took_s)
            .sum();
        all.push(Stale {
            kind: "suite",
            id: server.name.to_owned(),
            steps: steps_of(server).into_iter().collect(),
            why: vec!["--all".to_owned()],
            took_s: (took > 0.0).then_some(took),
        });
    }
    for (kind, expected, store) in stores.values() {
        for unit in expected {
            all.push(Stale {
                kind: kind.name(),
                id: unit.id.clone(),
                steps: BTreeSet::new(),
                why: vec!["--all".to_owned()],
                took_s: store.units.get(&unit.id).map(|u| u.took_s),
            });
        }
    }
    Ok(all)
}

/// A partial refresh keeps the results it does not rerun: refused when
/// they were measured on another machine.
fn refuse_mixing_machines(
    folder: &Path,
    stale: &[Stale],
    stores: &BTreeMap<&str, (Kind, Vec<Expected>, Store)>,
) -> Result<()> {
    let here = Machine::here();
    let rerun = |kind: &str, id: &str| stale.iter().any(|s| s.kind == kind && s.id == id);
    if let Ok(suite) = Results::read(&folder.join("suite.json")) {
        for run in suite.runs.iter().filter(|r| !rerun("suite", &r.server)) {
            here.refuse_mixing(&run.stamp.machine())?;
        }
    }
    for (kind, _, store) in stores.values() {
        for (id, unit) in &store.units {
            if !rerun(kind.name(), id) {
                here.refuse_mixing(&unit.machine)?;
            }
        }
    }
    Ok(())
}

/// Reruns `stale`, storing each kind as soon as it is done.
fn refresh(
    root: &Path,
    folder: &Path,
    built: &Built,
    workspace: &Workspace,
    stale: &[Stale],
    stores: &mut BTreeMap<&str, (Kind, Vec<Expected>, Store)>,
) -> Result<()> {
    let started = Instant::now();
    let suite: Vec<&Stale> = stale.iter().filter(|s| s.kind == "suite").collect();
    if suite.iter().any(|s| s.id == registry::GO_PEER.name) && registry::on_path("go").is_some() {
        crate::peers::build(root)?;
    }
    rerun_suite(root, &built.target, &suite)?;
    let date = utc_now();
    let machine = Machine::here();
    for (kind, expected, store) in stores.values_mut() {
        let ids: Vec<String> = stale
            .iter()
            .filter(|s| s.kind == kind.name())
            .map(|s| s.id.clone())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let mut measured = match kind {
            Kind::Bench => units::run_benches(root, &ids)?,
            _ => HashMap::new(),
        };
        for id in &ids {
            let result = match kind {
                Kind::Bench => measured
                    .remove(id)
                    .with_context(|| format!("cargo bench did not run {id}"))?,
                Kind::Reliability => {
                    println!("reliability: {id}…");
                    units::run_reliability(root, id)?
                }
                Kind::Anatomy => {
                    println!("anatomy: {id}…");
                    units::run_anatomy(built, id)?
                }
                Kind::Syscalls => {
                    println!("syscalls: {id}…");
                    units::run_syscalls(root, built, id)?
                }
                Kind::Million => {
                    println!("million: {id}…");
                    units::run_million(root, built, id)?
                }
            };
            let unit = expected
                .iter()
                .find(|e| &e.id == id)
                .with_context(|| format!("{id} is not a known unit"))?;
            let inputs = workspace.inputs(&unit.unit)?;
            let stored = Stored {
                fingerprint: inputs.digest(),
                machine: machine.clone(),
                commit: commit(root, &inputs),
                date: date.clone(),
                took_s: result.took_s,
                text: result.text,
            };
            store.put(id, inputs, stored);
        }
        let order: Vec<String> = expected.iter().map(|e| e.id.clone()).collect();
        store.write(folder, *kind, &order)?;
        println!("wrote {}", folder.join(kind.view_file()).display());
    }
    redraw_suite_views(&built.target, folder)?;
    println!("refreshed in {}", minutes(started.elapsed().as_secs_f64()));
    Ok(())
}

/// Reruns the suite's stale runs: the whole suite when every server is
/// stale at every step, else one partial run of every stale server at
/// its stale default steps, so that they are measured interleaved with
/// each other and with the reference server, not one after another. An
/// opt-in step (the million) runs after, alone with its stale servers and
/// no reference: it takes minutes and much of the memory per server.
fn rerun_suite(root: &Path, target: &Path, suite: &[&Stale]) -> Result<()> {
    let is_opt_in = |step: &Step| Step::OPT_IN.contains(step);
    if whole_suite(suite) {
        run_suite(root, target, &[])?;
    } else {
        let mut servers: Vec<&str> = Vec::new();
        let mut steps: Vec<Step> = Vec::new();
        for stale in suite {
            for step in stale.steps.iter().filter(|step| !is_opt_in(step)) {
                if !servers.contains(&stale.id.as_str()) {
                    servers.push(&stale.id);
                }
                if !steps.contains(step) {
                    steps.push(*step);
                }
            }
        }
        if !servers.is_empty() {
            let steps: Vec<&str> = steps.iter().map(|s| s.name()).collect();
            run_suite(
                root,
                target,
                &["--only", &servers.join(","), "--steps", &steps.join(",")],
            )?;
        }
    }
    for step in Step::OPT_IN {
        let takers: Vec<&str> = suite
            .iter()
            .filter(|s| s.steps.contains(&step))
            .map(|s| s.id.as_str())
            .collect();
        if !takers.is_empty() {
            let only = takers.join(",");
            let args = [
                "--only",
                &only,
                "--steps",
                step.name(),
                "--reference",
                "none",
            ];
            run_suite(root, target, &args)?;
        }
    }
    Ok(())
}

/// A partial suite rerun measures 03 beside the stale servers, as the
/// reference they are compared with (`loadtest suite --reference`): its
/// runs at those steps are rerun too, and planned with their time.
fn add_reference(folder: &Path, stale: &mut Vec<Stale>) {
    let reference = registry::ASYNC_TOKIO.name;
    let suite: Vec<&Stale> = stale.iter().filter(|s| s.kind == "suite").collect();
    if suite.is_empty() || whole_suite(&suite) || suite.iter().any(|s| s.id == reference) {
        return;
    }
    // The reference runs beside the default steps only (see `rerun_suite`).
    let steps: BTreeSet<Step> = suite
        .iter()
        .flat_map(|s| s.steps.iter().copied())
        .filter(|step| !Step::OPT_IN.contains(step))
        .collect();
    if steps.is_empty() {
        return;
    }
    let took: f64 = Results::read(&folder.join("suite.json"))
        .map(|results| {
            results
                .runs
                .iter()
                .filter(|run| run.server == reference && steps.contains(&run.step))
                .map(|run| run.took_s)
                .sum()
        })
        .unwrap_or(0.0);
    stale.push(Stale {
        kind: "suite",
        id: reference.to_owned(),
        steps,
        why: vec!["measured beside them, as the reference a partial rerun is compared with".into()],
        took_s: (took > 0.0).then_some(took),
    });
}

/// Whether every server is stale at every step it takes part in: then
/// the suite runs once, whole (which also rewrites a suite.json of an
/// older version, which a partial rerun cannot merge into).
fn whole_suite(stale: &[&Stale]) -> bool {
    registry::SERVERS.iter().all(|server| {
        stale.iter().any(|entry| {
            entry.id == server.name
                && steps_of(server)
                    .iter()
                    .all(|step| entry.steps.contains(step))
        })
    })
}

/// The suite's steps `server` takes part in, as the full schedule runs it,
/// the opt-in ones too: the book's results hold them.
fn steps_of(server: &registry::Server) -> Vec<Step> {
    let schedule = Schedule::new(false);
    Step::every()
        .filter(|&step| !schedule.for_server(server, &[step]).is_empty())
        .collect()
}

/// `loadtest suite` with `args` (none: everything; `--only S --steps …`:
/// one server's stale steps, merged into the stored results). It redraws
/// the views when it is done.
fn run_suite(root: &Path, target: &Path, args: &[&str]) -> Result<()> {
    println!("loadtest suite {}", args.join(" "));
    let status = Command::new(target.join("release/loadtest"))
        .current_dir(root)
        .arg("suite")
        .args(args)
        .status()
        .context("cannot run target/release/loadtest")?;
    if !status.success() {
        bail!("loadtest suite {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The suite's views, from the stored suite.json.
fn redraw_suite_views(target: &Path, folder: &Path) -> Result<()> {
    let status = Command::new(target.join("release/views"))
        .arg("--results")
        .arg(folder)
        .status()
        .context("cannot run target/release/views")?;
    if !status.success() {
        bail!("views failed ({status})");
    }
    Ok(())
}

/// `git rev-parse --short HEAD`, with `+dirty` when an uncommitted change
/// touches a file the result measured (a change elsewhere, to the book
/// say, is not in its fingerprint and does not make it dirty).
fn commit(root: &Path, inputs: &Inputs) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let mut status = vec!["status", "--porcelain", "--"];
    status.extend(inputs.files.keys().map(String::as_str));
    let dirty = git(&status).is_some_and(|s| !s.is_empty());
    if dirty { format!("{head}+dirty") } else { head }
}

fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the committed results say they measured, read from their
    /// fingerprints: the promises `cargo xtask results` makes.
    fn committed() -> Option<std::path::PathBuf> {
        let folder = crate::starter::repository_root().join("book/src/results");
        folder.join("bench.json").is_file().then_some(folder)
    }

    #[test]
    fn the_book_and_the_views_are_in_no_fingerprint() {
        let Some(folder) = committed() else { return };
        for path in [
            "views",
            "views/src/tables.rs",
            "book",
            "xtask",
            "fingerprint",
        ] {
            let touched = touching(&folder, path).unwrap();
            assert!(
                touched.is_empty(),
                "changing {path} would stale {:?}",
                touched.iter().map(|t| &t.id).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn a_change_to_03_stales_03_and_only_03() {
        let Some(folder) = committed() else { return };
        let touched = touching(&folder, "03-async-tokio/src/server.rs").unwrap();
        assert!(touched.iter().any(|t| t.kind == "suite"), "03's suite runs");
        for kind in ["bench", "reliability", "anatomy", "million"] {
            assert!(touched.iter().any(|t| t.kind == kind), "03's {kind}");
        }
        for unit in &touched {
            assert!(
                unit.id.contains("03-async-tokio"),
                "{} {} is not 03's",
                unit.kind,
                unit.id
            );
        }
    }

    #[test]
    fn the_proc_readers_are_in_the_anatomy_rows() {
        let Some(folder) = committed() else { return };
        let touched = touching(&folder, "common/src/procfs.rs").unwrap();
        assert!(
            touched.iter().filter(|t| t.kind == "anatomy").count() == 3,
            "bytes.md reads /proc through common::procfs"
        );
        assert!(
            touched.iter().any(|t| t.id == "go-peer"),
            "the tester reads it too"
        );
    }
}
