//! Every server this repository can measure, written once.
//!
//! The suite (`loadtest suite`), the benchmarks, the workshop's exercises and
//! the conformance tests of each binary all need the same facts about a
//! server: its name, the book chapter that explains it, how to start it, its
//! default address, whether it can run as several processes on one port, and
//! which measurements it takes part in (and why it sits the others out).
//! Written in each of those places, the lists drifted; here they are one
//! table, [`SERVERS`], and adding a server is one entry in it.
//!
//! This crate depends on nothing, so that the load tester can read the
//! table without linking the servers themselves.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One server that can be measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    /// Its name in tables, file names and `--only`: the binary's name for
    /// the Rust models (`03-async-tokio`).
    pub name: &'static str,
    /// The book page that explains it, relative to `book/src/`.
    pub chapter: &'static str,
    /// What it is, in a few words, for tables and `--help`.
    pub summary: &'static str,
    /// How to start it.
    pub launch: Launch,
    /// Flags it always runs with in the suite, before the common ones.
    pub flags: &'static [&'static str],
    /// Where it listens when `--addr` is not given.
    pub default_addr: &'static str,
    /// The port the suite runs it on: its default port plus 100, so that a
    /// server a reader left running does not get in the way.
    pub suite_port: u16,
    /// Whether it takes `--reuse-port` and so can run as several processes
    /// on one port (how 03 and 04 pass one process's open-file limit).
    pub reuse_port: bool,
    /// The suite's steps it sits out, each with the reason the results give.
    pub sits_out: &'static [(Step, &'static str)],
    /// The most connections it serves at once whatever the load (01: one,
    /// 02's pool: its threads); `None`: as many as memory and the
    /// open-file limit allow.
    pub serves_at_once: Option<usize>,
    /// The folder holding its code, from the repository's root. What a
    /// measurement of it measured is its fingerprint (the `fingerprint`
    /// crate): for a Rust model the files its binary compiles, for a peer
    /// this whole folder.
    pub dir: &'static str,
}

/// How a server is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// A binary of this workspace, built by `cargo build --release`.
    Cargo {
        /// The binary's name (`[[bin]] name`).
        binary: &'static str,
        /// The package it belongs to.
        package: &'static str,
    },
    /// A program built by `cargo xtask peers` into `target/peers/`.
    Peer {
        /// Its file name in `target/peers/`.
        file: &'static str,
        /// The toolchain that builds it, for the message when it is missing.
        toolchain: &'static str,
    },
    /// A script of this repository run by an interpreter found on `PATH`.
    Script {
        /// The interpreter (`node`).
        interpreter: &'static str,
        /// The script, relative to the repository's root.
        script: &'static str,
    },
}

/// The measurements of `loadtest suite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// 1 to 100k connections at a fixed request rate.
    Staircase,
    /// 90% ECHO, 10% WORK of about a millisecond.
    MixedWork,
    /// 95% ECHO, 5% SLEEP of 10 ms.
    MixedSleep,
    /// Closed-loop ECHO at 64 connections: the most each server answers.
    Throughput,
    /// The same with up to 16 requests in flight per connection
    /// (pipelining): what the server does when a read brings many lines.
    Pipelined,
    /// The server frozen for a second mid-run (SIGSTOP), measured open and
    /// closed loop: coordinated omission, shown.
    Stalled,
    /// An open-loop sweep of offered ECHO rates until p99 passes its bound:
    /// the most each server takes.
    Capacity,
    /// The same sweep with 10% `WORK`: where moving CPU work off the I/O
    /// threads pays.
    CapacityMixed,
    /// 03 with 1, 2, 4 and 8 worker threads: what the worker count buys.
    Workers,
    /// A batch of CPU-bound requests at once, timed until the last answer.
    CpuBatch,
    /// A million idle handshaked connections, then ECHO open loop: the
    /// servers of the lightest connections only, and only when asked for
    /// (`--steps million`): it takes minutes and most of the memory.
    Million,
}

impl Step {
    /// The steps the suite runs unless told which, in the order it runs
    /// them.
    pub const ALL: [Step; 10] = [
        Step::Staircase,
        Step::MixedWork,
        Step::MixedSleep,
        Step::Throughput,
        Step::Pipelined,
        Step::Stalled,
        Step::Capacity,
        Step::CapacityMixed,
        Step::Workers,
        Step::CpuBatch,
    ];

    /// The steps the suite runs only when `--steps` names them.
    pub const OPT_IN: [Step; 1] = [Step::Million];

    /// Every step: the default ones, then the opt-in ones.
    pub fn every() -> impl Iterator<Item = Step> {
        Step::ALL.into_iter().chain(Step::OPT_IN)
    }

    /// The servers a step is for, when it is not for all, and why the
    /// others sit it out.
    pub fn only_for(self) -> Option<(&'static [&'static str], &'static str)> {
        const RUST_WAYS: &[&str] = &[
            "02-thread-pool",
            "03-async-tokio",
            "04-hybrid-blocking",
            "05-event-loop",
        ];
        match self {
            Step::CapacityMixed | Step::CpuBatch => Some((
                RUST_WAYS,
                "compares the places a Rust server can run WORK: a pool thread (02), \
                 the Tokio worker itself (03), rayon (04), a hand-written pool (05)",
            )),
            Step::Workers => Some((
                &["03-async-tokio"],
                "the worker count is a Tokio runtime setting, and 03 runs every request on its workers",
            )),
            Step::Million => Some((
                &["03-async-tokio", "04-hybrid-blocking", "05-event-loop"],
                "a million connections take most of this machine's memory: the three Rust models \
                 with the lightest connections run it, and the book works out what the others \
                 would take",
            )),
            _ => None,
        }
    }

    /// The name used in files, tables and `--steps`.
    pub fn name(self) -> &'static str {
        match self {
            Step::Staircase => "staircase",
            Step::MixedWork => "mixed-work",
            Step::MixedSleep => "mixed-sleep",
            Step::Throughput => "throughput",
            Step::Pipelined => "pipelined",
            Step::Stalled => "stalled",
            Step::Capacity => "capacity",
            Step::CapacityMixed => "capacity-mixed",
            Step::Workers => "workers",
            Step::CpuBatch => "cpu-batch",
            Step::Million => "million",
        }
    }

    /// The step with this name.
    pub fn named(name: &str) -> Option<Step> {
        Step::every().find(|step| step.name() == name)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const ONE_STALL: &str = "one server shows what a stall does to the figures, and 03 is the one";

const ONE_AT_A_TIME: &str = "serves one connection at a time: a workload over many \
                             connections at once would measure the listen backlog, not the model";

/// Model 01.
pub const SINGLE_THREAD: Server = Server {
    name: "01-single-thread",
    chapter: "01-single-thread.md",
    summary: "one thread, blocking std I/O, one connection at a time",
    launch: Launch::Cargo {
        binary: "01-single-thread",
        package: "single-thread",
    },
    flags: &[],
    default_addr: "127.0.0.1:7801",
    suite_port: 7901,
    reuse_port: false,
    sits_out: &[
        (Step::MixedWork, ONE_AT_A_TIME),
        (Step::MixedSleep, ONE_AT_A_TIME),
        (Step::Throughput, ONE_AT_A_TIME),
        (Step::Pipelined, ONE_AT_A_TIME),
        (Step::Stalled, ONE_STALL),
        (Step::Capacity, ONE_AT_A_TIME),
    ],
    serves_at_once: Some(1),
    dir: "01-single-thread",
};

/// Model 02, with its pool.
pub const THREAD_POOL: Server = Server {
    name: "02-thread-pool",
    chapter: "02-thread-pool.md",
    summary: "a std-only pool of 128 threads, a connection per job",
    launch: Launch::Cargo {
        binary: "02-thread-pool",
        package: "thread-pool",
    },
    flags: &[],
    default_addr: "127.0.0.1:7802",
    suite_port: 7902,
    reuse_port: false,
    sits_out: &[(Step::Stalled, ONE_STALL)],
    serves_at_once: Some(128),
    dir: "02-thread-pool",
};

/// Model 02 without its pool: a thread for every connection.
pub const THREAD_PER_CONNECTION: Server = Server {
    name: "02-per-connection",
    chapter: "02-thread-pool.md",
    summary: "02-thread-pool --per-connection: a thread for every connection",
    launch: Launch::Cargo {
        binary: "02-thread-pool",
        package: "thread-pool",
    },
    flags: &["--per-connection"],
    default_addr: "127.0.0.1:7802",
    suite_port: 7905,
    reuse_port: false,
    sits_out: &[(Step::Stalled, ONE_STALL)],
    serves_at_once: None,
    dir: "02-thread-pool",
};

/// Model 03.
pub const ASYNC_TOKIO: Server = Server {
    name: "03-async-tokio",
    chapter: "03-async-tokio.md",
    summary: "a Tokio task per connection, WORK and SLEEP inline",
    launch: Launch::Cargo {
        binary: "03-async-tokio",
        package: "async-tokio",
    },
    flags: &[],
    default_addr: "127.0.0.1:7803",
    suite_port: 7903,
    reuse_port: true,
    sits_out: &[],
    serves_at_once: None,
    dir: "03-async-tokio",
};

/// Model 04.
pub const HYBRID_BLOCKING: Server = Server {
    name: "04-hybrid-blocking",
    chapter: "04-hybrid-blocking.md",
    summary: "Tokio for I/O, WORK on rayon, SLEEP on spawn_blocking",
    launch: Launch::Cargo {
        binary: "04-hybrid-blocking",
        package: "hybrid-blocking",
    },
    flags: &[],
    default_addr: "127.0.0.1:7804",
    suite_port: 7904,
    reuse_port: true,
    sits_out: &[(Step::Stalled, ONE_STALL)],
    serves_at_once: None,
    dir: "04-hybrid-blocking",
};

/// Model 05.
pub const EVENT_LOOP: Server = Server {
    name: "05-event-loop",
    chapter: "05-event-loop.md",
    summary: "the event loop by hand (mio), WORK and SLEEP on a pool",
    launch: Launch::Cargo {
        binary: "05-event-loop",
        package: "event-loop",
    },
    flags: &[],
    default_addr: "127.0.0.1:7805",
    suite_port: 7908,
    reuse_port: true,
    sits_out: &[(Step::Stalled, ONE_STALL)],
    serves_at_once: None,
    dir: "05-event-loop",
};

/// The Go peer: what a reader might write in Go instead.
pub const GO_PEER: Server = Server {
    name: "go-peer",
    chapter: "peers.md",
    summary: "Go, a goroutine per connection, standard library only",
    launch: Launch::Peer {
        file: "go-peer",
        toolchain: "go",
    },
    flags: &[],
    default_addr: "127.0.0.1:7806",
    suite_port: 7906,
    reuse_port: true,
    sits_out: &[(Step::Stalled, ONE_STALL)],
    serves_at_once: None,
    dir: "peers/go",
};

/// The Node peer: one event loop, like 03 on one worker.
pub const NODE_PEER: Server = Server {
    name: "node-peer",
    chapter: "peers.md",
    summary: "Node.js, the net module on one event loop",
    launch: Launch::Script {
        interpreter: "node",
        script: "peers/node/server.js",
    },
    flags: &[],
    default_addr: "127.0.0.1:7807",
    suite_port: 7907,
    reuse_port: false,
    sits_out: &[(Step::Stalled, ONE_STALL)],
    serves_at_once: None,
    dir: "peers/node",
};

/// The C peer: one epoll loop and nothing else, the floor of what a
/// request costs.
pub const C_PEER: Server = Server {
    name: "c-peer",
    chapter: "peers.md",
    summary: "C, one thread and one epoll loop: the floor, what the kernel alone costs",
    launch: Launch::Peer {
        file: "c-peer",
        toolchain: "cc",
    },
    flags: &[],
    default_addr: "127.0.0.1:7809",
    suite_port: 7909,
    reuse_port: true,
    sits_out: &[
        (Step::MixedWork, FLOOR_WORK),
        (Step::MixedSleep, FLOOR_IS_FOR_ECHO),
        (Step::Stalled, ONE_STALL),
    ],
    serves_at_once: None,
    dir: "peers/c",
};

const FLOOR_IS_FOR_ECHO: &str = "the floor is here for what an ECHO costs the kernel, not for \
                                 how a model waits";

const FLOOR_WORK: &str = "the floor is here for what an ECHO costs; it computes WORK on its one \
                          loop, holding every other connection meanwhile, as 01 would";

/// Everything the suite measures, in the order of the book.
pub const SERVERS: [Server; 9] = [
    SINGLE_THREAD,
    THREAD_POOL,
    THREAD_PER_CONNECTION,
    ASYNC_TOKIO,
    HYBRID_BLOCKING,
    EVENT_LOOP,
    GO_PEER,
    NODE_PEER,
    C_PEER,
];

/// The server called `name`, or an error that lists the names there are.
pub fn find(name: &str) -> Result<&'static Server, UnknownServer> {
    SERVERS
        .iter()
        .find(|server| server.name == name)
        .ok_or_else(|| UnknownServer(name.to_owned()))
}

/// A name that is not in [`SERVERS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownServer(pub String);

impl fmt::Display for UnknownServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = SERVERS.iter().map(|s| s.name).collect();
        write!(
            f,
            "no server is called {:?}; the servers are {}",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownServer {}

/// Why a server cannot be started on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

impl Server {
    /// Whether it takes part in `step`, or why not.
    pub fn takes_part_in(&self, step: Step) -> Result<(), &'static str> {
        if let Some((_, why)) = self.sits_out.iter().find(|(s, _)| *s == step) {
            return Err(why);
        }
        match step.only_for() {
            Some((servers, why)) if !servers.contains(&self.name) => Err(why),
            _ => Ok(()),
        }
    }

    /// Whether it serves `connections` at once (02's pool does not serve
    /// 10k: its 128 threads do).
    pub fn serves(&self, connections: usize) -> bool {
        self.serves_at_once.is_none_or(|most| connections <= most)
    }

    /// Whether it is one of this workspace's Rust models (not a peer).
    pub fn is_rust_model(&self) -> bool {
        matches!(self.launch, Launch::Cargo { .. })
    }

    /// The command that starts it, with its registry flags, before any
    /// `--addr`: `target` is Cargo's target folder (the one holding
    /// `release/`), `root` the repository's root.
    pub fn command(&self, target: &Path, root: &Path) -> Result<Command, Unavailable> {
        let mut command = match self.launch {
            Launch::Cargo { binary, .. } => {
                let path = target.join("release").join(binary);
                if !path.is_file() {
                    return Err(Unavailable(format!(
                        "{} is missing: build the servers first with `cargo build --release`",
                        path.display()
                    )));
                }
                Command::new(path)
            }
            Launch::Peer { file, toolchain } => {
                let path = target.join("peers").join(file);
                if !path.is_file() {
                    return Err(Unavailable(format!(
                        "{} is missing: build it with `cargo xtask peers` (needs `{toolchain}` on PATH)",
                        path.display()
                    )));
                }
                Command::new(path)
            }
            Launch::Script {
                interpreter,
                script,
            } => {
                let interpreter = on_path(interpreter).ok_or_else(|| {
                    Unavailable(format!("`{interpreter}` is not installed (not on PATH)"))
                })?;
                let mut command = Command::new(interpreter);
                command.arg(root.join(script));
                command
            }
        };
        command.args(self.flags);
        Ok(command)
    }
}

/// The repository's root (this crate sits one folder below it).
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The full path of `program` if it is on `PATH`.
pub fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ports_are_unique() {
        for (i, a) in SERVERS.iter().enumerate() {
            for b in &SERVERS[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.suite_port, b.suite_port, "{} and {}", a.name, b.name);
            }
        }
    }

    #[test]
    fn every_chapter_exists_in_the_book() {
        if !repository_root().join("book").is_dir() {
            // The workshop's copy of the repository has no book.
            return;
        }
        for server in SERVERS {
            let page = repository_root().join("book/src").join(server.chapter);
            assert!(page.is_file(), "{}: no {}", server.name, page.display());
        }
    }

    #[test]
    fn find_names_the_servers_on_a_typo() {
        assert_eq!(find("03-async-tokio"), Ok(&ASYNC_TOKIO));
        let error = find("03-async").unwrap_err().to_string();
        assert!(error.contains("\"03-async\"") && error.contains("04-hybrid-blocking"));
    }

    #[test]
    fn sitting_out_gives_the_reason() {
        assert!(SINGLE_THREAD.takes_part_in(Step::Staircase).is_ok());
        let why = SINGLE_THREAD.takes_part_in(Step::MixedWork).unwrap_err();
        assert!(why.contains("one connection at a time"));
        assert_eq!(Step::named("mixed-sleep"), Some(Step::MixedSleep));
        assert_eq!(Step::named("nap"), None);
    }

    #[test]
    fn a_step_for_some_servers_names_why_the_others_sit_out() {
        assert!(ASYNC_TOKIO.takes_part_in(Step::Workers).is_ok());
        let why = HYBRID_BLOCKING.takes_part_in(Step::Workers).unwrap_err();
        assert!(why.contains("Tokio runtime setting"), "{why}");
        assert!(THREAD_POOL.takes_part_in(Step::CpuBatch).is_ok());
        assert!(GO_PEER.takes_part_in(Step::CapacityMixed).is_err());
        assert!(SINGLE_THREAD.takes_part_in(Step::Capacity).is_err());
        assert!(THREAD_POOL.serves(100) && !THREAD_POOL.serves(10_000));
        assert!(ASYNC_TOKIO.serves(100_000));
        for step in Step::every() {
            assert_eq!(Step::named(step.name()), Some(step));
        }
        assert!(!Step::ALL.contains(&Step::Million), "opt-in");
        assert!(EVENT_LOOP.takes_part_in(Step::Million).is_ok());
        assert!(ASYNC_TOKIO.takes_part_in(Step::Million).is_ok());
        assert!(HYBRID_BLOCKING.takes_part_in(Step::Million).is_ok());
        assert!(GO_PEER.takes_part_in(Step::Million).is_err());
        assert!(THREAD_PER_CONNECTION.takes_part_in(Step::Million).is_err());
    }

    #[test]
    fn every_folder_exists_and_holds_its_package() {
        if !repository_root().join("book").is_dir() {
            return; // the workshop's copy has no peers
        }
        for server in SERVERS {
            let dir = repository_root().join(server.dir);
            assert!(dir.is_dir(), "{}: no {}", server.name, server.dir);
            if let Launch::Cargo { package, .. } = server.launch {
                let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
                assert!(
                    manifest.contains(&format!("name = \"{package}\"")),
                    "{}: {} is not package {package}",
                    server.name,
                    server.dir
                );
            }
        }
    }

    #[test]
    fn a_missing_program_says_how_to_get_it() {
        let nowhere = Path::new("/nonexistent-target");
        let error = ASYNC_TOKIO
            .command(nowhere, nowhere)
            .unwrap_err()
            .to_string();
        assert!(error.contains("cargo build --release"), "{error}");
        let error = GO_PEER.command(nowhere, nowhere).unwrap_err().to_string();
        assert!(error.contains("cargo xtask peers"), "{error}");
    }

    #[test]
    fn registry_flags_follow_the_script() {
        let server = Server {
            launch: Launch::Script {
                interpreter: "sh",
                script: "peers/x.sh",
            },
            flags: &["--per-connection"],
            ..THREAD_POOL
        };
        let root = Path::new("/repo");
        let command = server.command(Path::new("/t"), root).unwrap();
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, ["/repo/peers/x.sh", "--per-connection"]);
        assert!(command.get_program().to_string_lossy().ends_with("/sh"));
    }
}
