//! Every result the book shows that is not the suite's, as a unit: what it
//! measured (its [`fingerprint::Unit`]) and the command that measures it.
//!
//! - a benchmark id (`echo/64/03-async-tokio`): the bench binary's files,
//!   minus the folders of the models the id does not run;
//! - a reliability check per model (`slow-clients/03-async-tokio`): the
//!   model's test binary and its server binary, at the sizes below;
//! - the fuzz run (`fuzz`): the protocol's fuzz test binary;
//! - an anatomy row per model (`anatomy/03-async-tokio`): the anatomy
//!   binary, minus the other models' folders;
//! - one request's system calls per server (`syscalls/05-event-loop`): the
//!   server's binary (or a peer's folder) and the tracing script's folder.
//! - a server at a million connections (`million/05-event-loop`): the
//!   server's binary, the load tester's and the script's folder.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use fingerprint::Workspace;
use registry::{Launch, Server};

use super::store::Kind;

/// Slow clients that stall mid-handshake, per model.
const STALLED: usize = 2000;
/// Connections pipelining ECHO while the server gets SIGTERM.
const LOAD: usize = 1000;
/// Inputs the protocol's fuzz test tries.
const FUZZ_CASES: u64 = 12_000_000;

/// The reliability checks, each run against every model below.
const CHECKS: [&str; 3] = ["slow-clients", "floods", "shutdown"];

/// The models the reliability checks run against (01 serves one
/// connection at a time: the slow-client and flood checks are about
/// serving others meanwhile).
const RELIABILITY_MODELS: [&Server; 4] = [
    &registry::THREAD_POOL,
    &registry::ASYNC_TOKIO,
    &registry::HYBRID_BLOCKING,
    &registry::EVENT_LOOP,
];

/// The models anatomy takes apart.
const ANATOMY_MODELS: [&Server; 3] = [
    &registry::ASYNC_TOKIO,
    &registry::HYBRID_BLOCKING,
    &registry::EVENT_LOOP,
];

/// The servers whose system calls the cost section lists: the floor, the
/// hand-written loop, Tokio, and the thread pool.
const SYSCALL_SERVERS: [&Server; 4] = [
    &registry::C_PEER,
    &registry::EVENT_LOOP,
    &registry::ASYNC_TOKIO,
    &registry::THREAD_POOL,
];

/// The servers run at a million connections: the hand-written loop and
/// Tokio, the two smallest per connection that hold 100k.
const MILLION_SERVERS: [&Server; 2] = [&registry::EVENT_LOOP, &registry::ASYNC_TOKIO];

/// The script that runs a server at a million connections, and its folder.
const MILLION_DIR: &str = "scripts/million";
const MILLION: &str = "scripts/million/million.py";

/// The script that traces one request, and its folder (its fingerprint).
const TRACER_DIR: &str = "scripts/one-request";
const TRACER: &str = "scripts/one-request/one_request.py";

/// The heading of a reliability section in `reliability.txt`.
pub fn reliability_heading(check: &str) -> String {
    match check {
        "slow-clients" => {
            format!("slow clients: {STALLED} connections send half a handshake line and stall")
        }
        "floods" => "floods: 50 connections at once against --max-connections 10".to_owned(),
        "shutdown" => {
            format!("shutdown under load: SIGTERM while {LOAD} connections pipeline ECHO")
        }
        "fuzz" => "fuzzing the protocol session with arbitrary bytes (proptest)".to_owned(),
        other => other.to_owned(),
    }
}

/// One result to have.
#[derive(Debug, Clone)]
pub struct Expected {
    pub id: String,
    pub unit: fingerprint::Unit,
}

/// The release build's artifacts the units are read from.
#[derive(Debug)]
pub struct Built {
    pub target: PathBuf,
    /// The bench binary.
    pub bench: Executable,
    /// (package, test target) → test binary.
    pub tests: HashMap<(String, String), Executable>,
}

impl Built {
    /// Builds what the results measure: the binaries in release, the
    /// benchmarks and the test binaries of the reliability checks in
    /// release to measure them (`measuring`), or else in the test profile,
    /// which `cargo test` has usually built already. Either lists the same
    /// files in its dep-info, which is all a fingerprint reads from it.
    pub fn build(root: &Path, measuring: bool) -> Result<Built> {
        cargo(root, &["build", "--release", "--workspace", "--bins"])?;
        let (bench_build, profile): (&[&str], &[&str]) = if measuring {
            (&["bench", "--no-run"], &["--release"])
        } else {
            (&["test", "--no-run"], &[])
        };
        let bench = [bench_build, &["-p", "launch", "--bench", "models"]].concat();
        let bench = executables(root, &bench)?
            .into_iter()
            .map(|(_, executable)| executable)
            .next()
            .context("cargo built no bench binary for launch")?;
        let mut tests = HashMap::new();
        for model in RELIABILITY_MODELS {
            let package = package_of(model);
            let args = [
                "test",
                "--no-run",
                "-p",
                package,
                "--test",
                "conformance",
                "--test",
                "binary",
            ];
            for (name, path) in executables(root, &[&args[..], profile].concat())? {
                tests.insert((package.to_owned(), name), path);
            }
        }
        let fuzz = ["test", "--no-run", "-p", "protocol", "--test", "fuzz"];
        for (name, path) in executables(root, &[&fuzz[..], profile].concat())? {
            tests.insert(("protocol".to_owned(), name), path);
        }
        Ok(Built {
            target: root.join("target"),
            bench,
            tests,
        })
    }

    fn test(&self, package: &str, test: &str) -> Result<&Executable> {
        self.tests
            .get(&(package.to_owned(), test.to_owned()))
            .with_context(|| format!("no test binary {test} of {package} was built"))
    }

    fn bin_dep_info(&self, binary: &str) -> PathBuf {
        self.target.join(format!("release/{binary}.d"))
    }
}

/// Runs cargo, failing with its status.
fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new(cargo_program())
        .current_dir(root)
        .args(args)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn cargo_program() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// An executable cargo built, and every dep-info file that together list
/// the workspace files it compiles.
#[derive(Debug, Clone)]
pub struct Executable {
    pub path: PathBuf,
    /// rustc's dep-info of the executable's own crate, and of every
    /// workspace library built with it: rustc lists each crate's own
    /// files only (cargo writes a combined list only for the binaries it
    /// copies to `target/release/`).
    pub dep_infos: Vec<PathBuf>,
}

/// Builds with `--message-format=json` and returns each executable built,
/// by target name.
fn executables(root: &Path, args: &[&str]) -> Result<Vec<(String, Executable)>> {
    let output = Command::new(cargo_program())
        .current_dir(root)
        .args(args)
        .arg("--message-format=json")
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        bail!("`cargo {}` failed ({})", args.join(" "), output.status);
    }
    let mut found = Vec::new();
    let mut libraries = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let in_workspace = message["package_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("path+file://"));
        let Some(name) = message["target"]["name"].as_str() else {
            continue;
        };
        if let Some(executable) = message["executable"].as_str() {
            found.push((name.to_owned(), PathBuf::from(executable)));
        } else if in_workspace {
            libraries.extend(library_dep_info(&message));
        }
    }
    Ok(found
        .into_iter()
        .map(|(name, path)| {
            let mut dep_infos = vec![dep_info(&path)];
            dep_infos.extend(libraries.iter().cloned());
            (name, Executable { path, dep_infos })
        })
        .collect())
}

/// rustc's dep-info of a library artifact: `deps/libfoo-HASH.rlib` has
/// `deps/foo-HASH.d` beside it. Build scripts have none that matters.
fn library_dep_info(message: &serde_json::Value) -> Option<PathBuf> {
    let kinds = message["target"]["kind"].as_array()?;
    if kinds.iter().any(|k| k == "custom-build") {
        return None;
    }
    let file = PathBuf::from(message["filenames"].as_array()?.first()?.as_str()?);
    let stem = file.file_stem()?.to_str()?;
    let crate_and_hash = stem.strip_prefix("lib").unwrap_or(stem);
    Some(file.with_file_name(format!("{crate_and_hash}.d")))
}

/// An executable's dep-info file, beside it.
fn dep_info(executable: &Path) -> PathBuf {
    let mut name = executable.as_os_str().to_owned();
    name.push(".d");
    PathBuf::from(name)
}

fn package_of(server: &Server) -> &'static str {
    match server.launch {
        Launch::Cargo { package, .. } => package,
        _ => "",
    }
}

fn binary_of(server: &Server) -> &'static str {
    match server.launch {
        Launch::Cargo { binary, .. } => binary,
        _ => "",
    }
}

/// The folders of the Rust models that `keep` is not built from (none
/// kept: all of them): what a binary linking every model compiles but a
/// result about `keep` does not run. 02 is built from 01's folder too.
fn other_models(keep: Option<&Server>, workspace: &Workspace) -> Result<Vec<String>> {
    let kept = match keep {
        Some(server) => workspace.workspace_closure(package_of(server))?,
        None => Default::default(),
    };
    let mut dirs: Vec<String> = registry::SERVERS
        .iter()
        .filter(|s| s.is_rust_model() && !kept.contains(package_of(s)))
        .map(|s| s.dir.to_owned())
        .collect();
    dirs.dedup();
    Ok(dirs)
}

/// Every bench id, in the order criterion runs them.
pub fn bench_ids(built: &Built) -> Result<Vec<String>> {
    let output = Command::new(&built.bench.path)
        .args(["--bench", "--list"])
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", built.bench.path.display()))?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": benchmark"))
        .map(str::to_owned)
        .collect())
}

/// The model a bench id runs, if any (`protocol/*` runs none).
fn model_of_bench(id: &str) -> Option<&'static Server> {
    registry::SERVERS
        .iter()
        .find(|server| id.split('/').any(|part| part == server.name))
}

/// Every result of `kind` to have.
pub fn expected(kind: Kind, built: &Built, workspace: &Workspace) -> Result<Vec<Expected>> {
    let mut units = Vec::new();
    match kind {
        Kind::Bench => {
            for id in bench_ids(built)? {
                let model = model_of_bench(&id);
                let mut packages = vec!["launch".to_owned()];
                packages.extend(model.map(|m| package_of(m).to_owned()));
                units.push(Expected {
                    unit: fingerprint::Unit {
                        dep_infos: built.bench.dep_infos.clone(),
                        packages,
                        leave_out: other_models(model, workspace)?,
                        ..fingerprint::Unit::default()
                    },
                    id,
                });
            }
        }
        Kind::Reliability => {
            for check in CHECKS {
                for model in RELIABILITY_MODELS {
                    let test = if check == "shutdown" {
                        "binary"
                    } else {
                        "conformance"
                    };
                    let package = package_of(model);
                    units.push(Expected {
                        id: format!("{check}/{}", model.name),
                        unit: fingerprint::Unit {
                            dep_infos: [
                                built.test(package, test)?.dep_infos.clone(),
                                vec![built.bin_dep_info(binary_of(model))],
                            ]
                            .concat(),
                            packages: vec![package.to_owned()],
                            settings: settings(check),
                            ..fingerprint::Unit::default()
                        },
                    });
                }
            }
            units.push(Expected {
                id: "fuzz".to_owned(),
                unit: fingerprint::Unit {
                    dep_infos: built.test("protocol", "fuzz")?.dep_infos.clone(),
                    packages: vec!["protocol".to_owned()],
                    settings: settings("fuzz"),
                    ..fingerprint::Unit::default()
                },
            });
        }
        Kind::Syscalls => {
            for server in SYSCALL_SERVERS {
                let mut unit = fingerprint::Unit {
                    folders: vec![TRACER_DIR.to_owned()],
                    ..fingerprint::Unit::default()
                };
                match server.launch {
                    Launch::Cargo { binary, package } => {
                        unit.dep_infos.push(built.bin_dep_info(binary));
                        unit.packages.push(package.to_owned());
                    }
                    Launch::Peer { .. } | Launch::Script { .. } => {
                        unit.folders.push(server.dir.to_owned());
                    }
                }
                units.push(Expected {
                    id: format!("syscalls/{}", server.name),
                    unit,
                });
            }
        }
        Kind::Million => {
            for server in MILLION_SERVERS {
                let Launch::Cargo { binary, package } = server.launch else {
                    bail!("{} is not a cargo binary", server.name);
                };
                units.push(Expected {
                    id: format!("million/{}", server.name),
                    unit: fingerprint::Unit {
                        dep_infos: vec![built.bin_dep_info(binary), built.bin_dep_info("loadtest")],
                        packages: vec![package.to_owned(), "loadtest".to_owned()],
                        // As for a suite run: the tester links this crate
                        // to stamp its runs, not to measure.
                        leave_out: vec!["fingerprint".to_owned()],
                        folders: vec![MILLION_DIR.to_owned()],
                        ..fingerprint::Unit::default()
                    },
                });
            }
        }
        Kind::Anatomy => {
            for model in ANATOMY_MODELS {
                units.push(Expected {
                    id: format!("anatomy/{}", model.name),
                    unit: fingerprint::Unit {
                        dep_infos: vec![built.bin_dep_info("anatomy")],
                        packages: vec!["anatomy".to_owned()],
                        leave_out: other_models(Some(model), workspace)?,
                        ..fingerprint::Unit::default()
                    },
                });
            }
        }
    }
    Ok(units)
}

/// The settings of a check that are not code, as its fingerprint holds
/// them.
fn settings(check: &str) -> String {
    match check {
        "slow-clients" => format!("CONFORMANCE_STALLED={STALLED}"),
        "shutdown" => format!("CONFORMANCE_LOAD_CONNECTIONS={LOAD}"),
        "fuzz" => format!("PROPTEST_CASES={FUZZ_CASES}"),
        _ => String::new(),
    }
}

/// What one measurement printed for the book, and how long it took.
pub struct Measured {
    pub text: String,
    pub took_s: f64,
}

/// Runs the benchmarks `ids` (one criterion run, filtered), returning
/// each id's lines and time.
pub fn run_benches(root: &Path, ids: &[String]) -> Result<HashMap<String, Measured>> {
    let filter = format!(
        "^({})$",
        ids.iter()
            .map(|id| escape_regex(id))
            .collect::<Vec<_>>()
            .join("|")
    );
    let mut child = Command::new("sh")
        .current_dir(root)
        .arg("-c")
        .arg("exec \"$0\" bench -p launch --bench models -- \"$1\" 2>&1")
        .arg(cargo_program())
        .arg(&filter)
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run cargo bench")?;
    let stdout = child.stdout.take().context("no output from cargo bench")?;
    let started = Instant::now();
    let mut texts: HashMap<String, String> = HashMap::new();
    // When criterion announced each id (`Benchmarking <id>: …`), and when
    // it printed its result (a line starting with the id), in run order.
    let mut announced: Vec<(String, Instant)> = Vec::new();
    let mut finished: Vec<(String, Instant)> = Vec::new();
    let mut current: Option<String> = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo bench")?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("Benchmarking ") {
            let id = rest.split(':').next().unwrap_or("");
            if ids.iter().any(|i| i == id) && announced.last().is_none_or(|(last, _)| last != id) {
                announced.push((id.to_owned(), Instant::now()));
            }
            continue;
        }
        let result_of = ids.iter().find(|id| {
            line.strip_prefix(id.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        });
        if let Some(id) = result_of {
            finished.push((id.clone(), Instant::now()));
            current = Some(id.clone());
        }
        let keep = result_of.is_some()
            || line.trim_start().starts_with("time:")
            || line.trim_start().starts_with("thrpt:");
        if let (true, Some(id)) = (keep, &current) {
            let text = texts.entry(id.clone()).or_default();
            text.push_str(&line);
            text.push('\n');
        }
    }
    let status = child.wait().context("waiting for cargo bench")?;
    if !status.success() {
        bail!("cargo bench failed ({status})");
    }
    let ended = Instant::now();
    // An id's time: from its announcement to the next one's (or the end);
    // without announcements, from the previous result to its own.
    let mut took: HashMap<String, f64> = HashMap::new();
    if announced.len() == finished.len() {
        for (i, (id, at)) in announced.iter().enumerate() {
            let next = announced.get(i + 1).map_or(ended, |(_, next)| *next);
            took.insert(id.clone(), (next - *at).as_secs_f64());
        }
    } else {
        let mut previous = started;
        for (id, at) in &finished {
            took.insert(id.clone(), (*at - previous).as_secs_f64());
            previous = *at;
        }
    }
    Ok(texts
        .into_iter()
        .map(|(id, text)| {
            let took_s = took.get(&id).copied().unwrap_or(0.0);
            (id, Measured { text, took_s })
        })
        .collect())
}

fn escape_regex(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// Runs one reliability unit (`slow-clients/03-async-tokio`, `fuzz`).
pub fn run_reliability(root: &Path, id: &str) -> Result<Measured> {
    let started = Instant::now();
    if id == "fuzz" {
        let output = cargo_test(
            root,
            "protocol",
            "fuzz",
            &[],
            &[("PROPTEST_CASES", FUZZ_CASES.to_string())],
        )?;
        let result = output
            .lines()
            .find(|l| l.starts_with("test result"))
            .unwrap_or("")
            .to_owned();
        let took = started.elapsed().as_secs_f64();
        return Ok(Measured {
            text: format!(
                "{result}\n{FUZZ_CASES} inputs in {took:.0} s, no failure (a failure stops the refresh)\n"
            ),
            took_s: took,
        });
    }
    let (check, model) = id
        .split_once('/')
        .context("a reliability id is CHECK/MODEL")?;
    let server = registry::find(model)?;
    let package = package_of(server);
    let output = match check {
        "slow-clients" => cargo_test(
            root,
            package,
            "conformance",
            &["slow_clients", "--skip", "large_pool"],
            &[("CONFORMANCE_STALLED", STALLED.to_string())],
        )?,
        "floods" => cargo_test(root, package, "conformance", &["flood"], &[])?,
        "shutdown" => cargo_test(
            root,
            package,
            "binary",
            &["shutdown_under_load"],
            &[("CONFORMANCE_LOAD_CONNECTIONS", LOAD.to_string())],
        )?,
        other => bail!("no reliability check is called {other}"),
    };
    let text: String = output
        .lines()
        .filter_map(|line| line.find("RELIABILITY").map(|at| &line[at..]))
        .map(|line| format!("{line}\n"))
        .collect();
    if text.is_empty() {
        bail!("{id} printed no RELIABILITY line");
    }
    Ok(Measured {
        text,
        took_s: started.elapsed().as_secs_f64(),
    })
}

/// `cargo test --release -p PACKAGE --test TEST FILTER… -- --nocapture`,
/// one test at a time; its output, or an error when a test failed.
fn cargo_test(
    root: &Path,
    package: &str,
    test: &str,
    filter: &[&str],
    env: &[(&str, String)],
) -> Result<String> {
    let mut command = Command::new(cargo_program());
    command
        .current_dir(root)
        .args(["test", "--release", "-p", package, "--test", test, "--"])
        .args(filter)
        .args(["--nocapture", "--test-threads", "1"]);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().context("cannot run cargo test")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("cargo test -p {package} --test {test} failed:\n{text}");
    }
    Ok(text)
}

/// Traces one request of one server (`syscalls/05-event-loop`) with the
/// script, which needs python3 and strace.
pub fn run_syscalls(root: &Path, built: &Built, id: &str) -> Result<Measured> {
    run_server_script(root, built, id, "syscalls/", TRACER)
        .context("the tracing script needs python3 and strace")
}

/// Runs one server at a million connections (`million/05-event-loop`)
/// with the script, which needs python3 and root (for /proc/slabinfo).
pub fn run_million(root: &Path, built: &Built, id: &str) -> Result<Measured> {
    run_server_script(root, built, id, "million/", MILLION)
        .context("the million script needs python3 and root")
}

/// Runs `script` as `python3 SCRIPT SERVER -- SERVER_COMMAND…` for the
/// server the id names (`PREFIX` + server), with the release load tester
/// in `$LOADTEST`, and keeps what it prints.
fn run_server_script(
    root: &Path,
    built: &Built,
    id: &str,
    prefix: &str,
    script: &str,
) -> Result<Measured> {
    let started = Instant::now();
    let name = id
        .strip_prefix(prefix)
        .with_context(|| format!("an id here is {prefix}SERVER, not {id}"))?;
    let server = registry::find(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let command = server
        .command(&built.target, root)
        .map_err(|e| anyhow::anyhow!("{}: {e}", server.name))?;
    let output = Command::new("python3")
        .arg(root.join(script))
        .arg(server.name)
        .arg("--")
        .arg(command.get_program())
        .args(command.get_args())
        .env("LOADTEST", built.target.join("release/loadtest"))
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run python3 {script}"))?;
    if !output.status.success() {
        bail!("{script} failed on {name} ({})", output.status);
    }
    Ok(Measured {
        text: String::from_utf8_lossy(&output.stdout).into_owned(),
        took_s: started.elapsed().as_secs_f64(),
    })
}

/// Runs anatomy on one model (`anatomy/03-async-tokio`).
pub fn run_anatomy(built: &Built, id: &str) -> Result<Measured> {
    let started = Instant::now();
    let model = id
        .strip_prefix("anatomy/")
        .context("an anatomy id is anatomy/MODEL")?;
    let program = built.target.join("release/anatomy");
    let output = Command::new(&program)
        .args(["--models", model])
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    if !output.status.success() {
        bail!("anatomy failed on {model} ({})", output.status);
    }
    Ok(Measured {
        text: String::from_utf8_lossy(&output.stdout).into_owned(),
        took_s: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bench_id_names_its_model_or_none() {
        assert_eq!(
            model_of_bench("echo/64/03-async-tokio").map(|s| s.name),
            Some("03-async-tokio")
        );
        assert_eq!(
            model_of_bench("handshake/02-per-connection").map(|s| s.name),
            Some("02-per-connection")
        );
        assert!(model_of_bench("protocol/work").is_none());
        let workspace = Workspace::read(&crate::starter::repository_root()).unwrap();
        let others = other_models(Some(&registry::THREAD_PER_CONNECTION), &workspace).unwrap();
        assert!(!others.contains(&"02-thread-pool".to_owned()), "{others:?}");
        assert!(
            !others.contains(&"01-single-thread".to_owned()),
            "02 runs 01's connection code: {others:?}"
        );
        assert!(others.contains(&"03-async-tokio".to_owned()));
        let all = other_models(None, &workspace).unwrap();
        assert!(all.contains(&"01-single-thread".to_owned()), "{all:?}");
    }

    #[test]
    fn bench_ids_are_matched_whole() {
        assert_eq!(
            escape_regex("echo/64/03-async-tokio"),
            "echo/64/03-async-tokio"
        );
        assert_eq!(escape_regex("a.b(c)"), "a\\.b\\(c\\)");
    }
}
