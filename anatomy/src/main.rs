//! `anatomy`: where the bytes of one idle connection go.
//!
//! The suite measures what an idle connection adds to a server's resident
//! memory (the RSS slope). This command says what those bytes *are*, for
//! 03, 04 and 05: it runs each server in a process of its own with a
//! counting global allocator, opens `--connections` idle handshaked
//! connections to it from the same process (plain blocking sockets, which
//! allocate nothing), and sorts the memory that appeared by what asked for
//! it: the task (03, 04) or slab entry (05), Tokio's socket registration,
//! the deadline set, malloc's rounding and headers. `size_of` names the
//! parts inside (the future, the `Session`). Beside it, the same process's
//! RSS slope, which the items must add up to, and the kernel's part (its
//! socket slabs, from `/proc/slabinfo`).
//!
//!     cargo run --release -p anatomy -- --out book/src/results/bytes.md

mod counting;

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use clap::builder::TypedValueParser as _;
use counting::{Counting, Growth, Snapshot};
use serde::{Deserialize, Serialize};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The models whose connections are taken apart.
const MODELS: [&str; 3] = ["03-async-tokio", "04-hybrid-blocking", "05-event-loop"];

/// Where the bytes of one idle connection go, for 03, 04 and 05.
///
/// Runs each server in a child process with a counting allocator, opens
/// idle handshaked connections to it, and writes a table: each item of a
/// connection's memory, what malloc adds, the RSS slope they add up to, and
/// the kernel's part, to standard output. Takes about ten seconds.
/// `cargo xtask results refresh` stores it for the book (book/src/results/bytes.md),
/// with the fingerprint of what it measured.
#[derive(Debug, Parser)]
#[command(name = "anatomy", version)]
struct Args {
    /// Idle connections to open per server (two sockets each in this
    /// process: keep it under half the open-file limit)
    #[arg(long, value_name = "N", default_value_t = 4096,
          value_parser = clap::value_parser!(u64).range(256..=9000).map(|n| n as usize))]
    connections: usize,

    /// Only these models (e.g. --models 03-async-tokio,05-event-loop)
    /// [default: 03, 04 and 05]
    #[arg(long, value_delimiter = ',', value_name = "MODELS", value_parser = parse_model)]
    models: Vec<String>,

    /// Measure one model and print its figures as JSON (what the parent
    /// process runs in each child)
    #[arg(long, value_name = "MODEL", hide = true)]
    model: Option<String>,
}

/// One model's connection, taken apart: what one child prints.
#[derive(Debug, Serialize, Deserialize)]
struct Anatomy {
    model: String,
    connections: usize,
    /// The items, bytes per connection, largest first.
    items: Vec<Item>,
    /// What malloc handed out beyond the requests, per connection.
    rounding: f64,
    /// malloc's 8-byte header per block, per connection.
    headers: f64,
    /// Free space malloc holds between the blocks (what aligning a block
    /// leaves before it), per connection.
    free_gaps: f64,
    /// The process's RSS growth, per connection.
    rss_slope: f64,
    /// The kernel's socket slabs, this server's half, per connection.
    kernel: Option<f64>,
}

/// One line of the table.
#[derive(Debug, Serialize, Deserialize)]
struct Item {
    what: String,
    bytes: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    common::limits::raise_fd_limit();
    if let Some(model) = &args.model {
        let anatomy = measure(model, args.connections)?;
        println!("{}", serde_json::to_string(&anatomy)?);
        return Ok(());
    }
    let models: Vec<&str> = if args.models.is_empty() {
        MODELS.to_vec()
    } else {
        args.models.iter().map(String::as_str).collect()
    };
    let mut anatomies = Vec::new();
    for model in models {
        eprintln!("anatomy: {model}, {} idle connections…", args.connections);
        anatomies.push(measure_in_child(model, args.connections)?);
    }
    print!("{}", render(&anatomies));
    Ok(())
}

/// `--models`: one of [`MODELS`].
fn parse_model(name: &str) -> Result<String, String> {
    if MODELS.contains(&name) {
        Ok(name.to_owned())
    } else {
        Err(format!("anatomy takes apart {}", MODELS.join(", ")))
    }
}

/// Each model in a fresh process: memory one server freed would otherwise
/// be reused by the next, and its RSS slope would read zero.
fn measure_in_child(model: &str, connections: usize) -> anyhow::Result<Anatomy> {
    let exe = std::env::current_exe().context("cannot find this program")?;
    let output = Command::new(exe)
        .args(["--model", model, "--connections", &connections.to_string()])
        .output()
        .context("cannot start the measuring process")?;
    if !output.status.success() {
        bail!(
            "measuring {model} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).with_context(|| format!("reading {model}'s figures"))
}

/// Starts `model` in this process, opens `connections` idle handshaked
/// connections, and sorts what they cost.
fn measure(model: &str, connections: usize) -> anyhow::Result<Anatomy> {
    let sizes = Sizes::of(model)?;
    let server = start(model)?;
    // The first connections build what every later one shares (buffers,
    // thread caches): open and close a few before counting.
    drop(open_idle(server.addr(), 64)?);
    std::thread::sleep(Duration::from_millis(300));

    let mut clients = Vec::with_capacity(connections);
    let before = (Snapshot::take(), rss_bytes()?, kernel_bytes());
    let free_before = malloc_free_bytes();
    open_idle_into(server.addr(), connections, &mut clients)?;
    // Let the server finish what the last handshakes started.
    std::thread::sleep(Duration::from_millis(500));
    let after = (Snapshot::take(), rss_bytes()?, kernel_bytes());
    let free_after = malloc_free_bytes();

    // Calibrated after counting: the nodes it frees would otherwise be
    // reused by the server's, and hide them.
    let btree_sizes = btree_node_sizes();
    let n = connections as f64;
    let grown = after.0.growth_since(&before.0);
    let mut items = label(&grown, &sizes, &btree_sizes, n);
    let large = after.0.large_bytes_since(&before.0);
    if large > 0 {
        items.push(sizes.large_item(large, connections));
    }
    items.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
    let requested: f64 = grown
        .iter()
        .map(|g| g.size as f64 * g.blocks as f64)
        .sum::<f64>()
        + large as f64;
    let usable = after.0.usable_bytes_since(&before.0) as f64;
    let blocks = after.0.blocks_since(&before.0) as f64;
    drop(clients);
    Ok(Anatomy {
        model: model.to_owned(),
        connections,
        items,
        rounding: (usable - requested) / n,
        headers: 8.0 * blocks / n,
        // Negative when new blocks went into space freed earlier (05's
        // slab leaves its old, smaller copies behind as it doubles): no
        // gap, and no RSS growth for those blocks either.
        free_gaps: ((free_after as f64 - free_before as f64) / n).max(0.0),
        rss_slope: (after.1 as f64 - before.1 as f64) / n,
        // Both ends of each connection are in this machine's slabs.
        kernel: before
            .2
            .zip(after.2)
            .map(|(b, a)| (a as f64 - b as f64) / 2.0 / n),
    })
}

/// What `size_of` says about a model's connection.
#[derive(Debug)]
struct Sizes {
    model: String,
    /// 03/04: the connection's future; 05: its `Connection`.
    state: usize,
    session: usize,
    framer: usize,
}

impl Sizes {
    fn of(model: &str) -> anyhow::Result<Sizes> {
        let state = match model {
            "05-event-loop" => event_loop::server::CONNECTION_BYTES,
            _ => future_size(model)?,
        };
        Ok(Sizes {
            model: model.to_owned(),
            state,
            session: size_of::<protocol::Session>(),
            framer: size_of::<protocol::LineFramer>(),
        })
    }

    /// 05's slab is the one large block: a `Vec` of entries that doubles.
    /// Only the entries written are resident, so its share per connection
    /// is one entry.
    fn large_item(&self, bytes: i64, connections: usize) -> Item {
        if self.model == "05-event-loop" {
            // The `Vec` doubles: its capacity is the next power of two,
            // and the part past the last entry is never touched.
            let capacity = connections.next_power_of_two().max(4);
            Item {
                what: format!(
                    "slab entry: a `Connection` of {} B (its `Session` {} B, of which the line \
                     framer {} B; output buffer 24 B; stage and deadline 32 B; socket 4 B)",
                    self.state, self.session, self.framer
                ),
                bytes: bytes as f64 / capacity as f64,
            }
        } else {
            Item {
                what: "tables that grow with the connections (amortized)".to_owned(),
                bytes: bytes as f64 / connections as f64,
            }
        }
    }
}

/// Sorts the blocks that appeared into the items of a connection.
fn label(grown: &[Growth], sizes: &Sizes, btree_sizes: &[usize], n: f64) -> Vec<Item> {
    let mut items = Vec::new();
    let mut btree = 0.0;
    for growth in grown.iter().filter(|g| g.blocks > 0) {
        let per_connection = growth.blocks as f64 / n;
        let bytes = growth.size as f64 * per_connection;
        let what = if sizes.model != "05-event-loop"
            && growth.size >= sizes.state
            && per_connection > 0.9
        {
            format!(
                "task ({} B, aligned to 128 B): the connection's future, {} B (the `Session` in it: \
                 {} B), then Tokio's header and trailer and the padding up to a multiple of 128: {} B",
                growth.size,
                sizes.state,
                sizes.session,
                growth.size - sizes.state
            )
        } else if growth.over_aligned {
            format!(
                "socket registration: Tokio's `ScheduledIo` in an `Arc` ({} B, aligned to 128 B)",
                growth.size
            )
        } else if sizes.model == "05-event-loop" && btree_sizes.contains(&growth.size) {
            btree += bytes;
            continue;
        } else {
            format!("other: {per_connection:.2} blocks of {} B", growth.size)
        };
        items.push(Item { what, bytes });
    }
    if btree > 0.0 {
        items.push(Item {
            what: "deadline set: its share of the B-tree's nodes".to_owned(),
            bytes: btree,
        });
    }
    items
}

/// The sizes of the blocks a `BTreeSet<(Instant, usize)>` (05's deadline
/// set) allocates: its leaf and inner nodes.
fn btree_node_sizes() -> Vec<usize> {
    let before = Snapshot::take();
    let now = Instant::now();
    let set: std::collections::BTreeSet<(Instant, usize)> = (0..1000).map(|i| (now, i)).collect();
    let sizes = Snapshot::take()
        .growth_since(&before)
        .iter()
        .filter(|g| g.blocks > 0)
        .map(|g| g.size)
        .collect();
    drop(set);
    sizes
}

/// The size of 03's or 04's connection future, as spawned.
fn future_size(model: &str) -> anyhow::Result<usize> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let _client = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
        let (stream, _) = listener.accept().await?;
        let state = protocol::ServerState::new(protocol::SessionConfig::default());
        let session = state.admit(Instant::now());
        let permit = Arc::new(tokio::sync::Semaphore::new(1)).try_acquire_owned()?;
        let stop = tokio_util::sync::CancellationToken::new();
        Ok(match model {
            "03-async-tokio" => size_of_val(&async_tokio::serve_connection(
                stream, session, permit, stop,
            )),
            _ => size_of_val(&hybrid_blocking::serve_connection(
                stream, session, permit, stop,
            )),
        })
    })
}

/// Starts a model in this process, as its tests do (05 with a pool of 2:
/// idle connections never reach it).
fn start(model: &str) -> anyhow::Result<common::Background> {
    let sizes = launch::Sizes {
        work_threads: 2,
        ..launch::Sizes::default()
    };
    launch::start_named(model, sizes)
}

fn open_idle(addr: SocketAddr, count: usize) -> anyhow::Result<Vec<TcpStream>> {
    let mut clients = Vec::with_capacity(count);
    open_idle_into(addr, count, &mut clients)?;
    Ok(clients)
}

/// Opens `count` connections and completes each handshake; pushes them on
/// `clients`, which must have room (growing it would be counted).
fn open_idle_into(
    addr: SocketAddr,
    count: usize,
    clients: &mut Vec<TcpStream>,
) -> anyhow::Result<()> {
    for x in 0..count as u64 {
        let mut stream = TcpStream::connect(addr).context("cannot connect")?;
        stream.set_nodelay(true)?;
        let mut hello = [0u8; 64];
        let mut cursor = std::io::Cursor::new(&mut hello[..]);
        write!(cursor, "HELLO {x}\nHELLO {}\n", x + 2)?;
        let written = cursor.position() as usize;
        stream.write_all(&hello[..written])?;
        // The second line is the only answer: `HELLO x+1`.
        let mut reply = [0u8; 64];
        let mut got = 0;
        while !reply[..got].contains(&b'\n') {
            let n = stream.read(&mut reply[got..])?;
            if n == 0 {
                bail!("the server closed connection {x} during the handshake");
            }
            got += n;
        }
        clients.push(stream);
    }
    Ok(())
}

fn rss_bytes() -> anyhow::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .context("cannot read /proc/self/statm")?;
    Ok(pages * 4096)
}

/// Bytes malloc holds free inside its heaps, every arena.
fn malloc_free_bytes() -> usize {
    // SAFETY: mallinfo2 only reads malloc's own statistics.
    unsafe { libc::mallinfo2() }.fordblks
}

fn kernel_bytes() -> Option<u64> {
    common::procfs::kernel_slab_bytes()
}

/// The book's table: a section per model.
fn render(anatomies: &[Anatomy]) -> String {
    let mut out = String::new();
    for anatomy in anatomies {
        let _ = writeln!(
            out,
            "\n**{}**, {} idle handshaked connections:\n\n| what one connection holds | bytes |\n|---|---:|",
            anatomy.model, anatomy.connections
        );
        for item in &anatomy.items {
            let _ = writeln!(out, "| {} | {:.0} |", item.what, item.bytes);
        }
        let counted: f64 = anatomy.items.iter().map(|i| i.bytes).sum::<f64>()
            + anatomy.rounding
            + anatomy.headers
            + anatomy.free_gaps;
        let share = counted / anatomy.rss_slope * 100.0;
        let _ = writeln!(
            out,
            "| malloc's rounding up of those requests | {:.0} |\n\
             | malloc's header, 8 B per block | {:.0} |\n\
             | free space malloc keeps in its heaps (the pieces aligning a block leaves around it) | {:.0} |\n\
             | **counted** | **{counted:.0}** |\n\
             | **RSS slope, measured in the same process** | **{:.0}** |\n\
             | counted, as a share of the RSS slope | {share:.0}% |\n\
             | the kernel's part: socket, inode, file, epoll entry (slab pages) | {} |",
            anatomy.rounding,
            anatomy.headers,
            anatomy.free_gaps,
            anatomy.rss_slope,
            anatomy
                .kernel
                .map_or("not readable here".to_owned(), |k| format!("{k:.0}")),
        );
    }
    out
}
