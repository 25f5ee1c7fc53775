//! Start a Rust model of the registry by its name, in this process.
//!
//! The benchmarks, the load tester's tests and `anatomy` all need "start
//! `03-async-tokio` on this listener and give me a handle to stop it".
//! Each model's `spawn` takes its own knobs (02 a pool size, 03 and 04
//! worker threads, 05 a pool for `WORK` and `SLEEP`), so the one `match`
//! from a registry name to a `spawn` call lives here, once; a model added
//! to the registry but not here fails loudly with its name.
//!
//! The `benches/` beside this file are the criterion benchmarks (`cargo
//! bench`): the models side by side.

use std::net::TcpListener;

use anyhow::{Context as _, bail};
use common::{Background, CommonArgs};
use registry::Server;

/// How large to make each model's threads, where it has a choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// 02's pool: worker threads, and as many waiting connections.
    pub pool: usize,
    /// 03's and 04's Tokio worker threads.
    pub workers: usize,
    /// 05's threads for `WORK` and `SLEEP`.
    pub work_threads: usize,
}

impl Default for Sizes {
    /// Small enough for a test, large enough that no test waits for a
    /// thread: 16 pool threads, 2 workers (the machine's cores here).
    fn default() -> Sizes {
        Sizes {
            pool: 16,
            workers: 2,
            work_threads: 16,
        }
    }
}

/// Starts `server` on `listener` with `args`, in this process.
pub fn start(
    server: &Server,
    listener: TcpListener,
    args: &CommonArgs,
    sizes: Sizes,
) -> anyhow::Result<Background> {
    let started = match server.name {
        "01-single-thread" => single_thread::spawn(listener, args),
        "02-thread-pool" => {
            let mode = thread_pool::Mode::Pool {
                threads: sizes.pool,
                queue: sizes.pool,
            };
            thread_pool::spawn(listener, args, mode)
        }
        "02-per-connection" => {
            thread_pool::spawn(listener, args, thread_pool::Mode::ThreadPerConnection)
        }
        "03-async-tokio" => async_tokio::spawn(listener, args, sizes.workers),
        "04-hybrid-blocking" => hybrid_blocking::spawn(listener, args, sizes.workers),
        "05-event-loop" => event_loop::spawn(vec![listener], args, sizes.work_threads),
        other => bail!(
            "{other} is in the registry but cannot be started in-process: add it to launch::start"
        ),
    };
    started.with_context(|| format!("cannot start {}", server.name))
}

/// Starts the registry's server called `name` on a free loopback port.
pub fn start_named(name: &str, sizes: Sizes) -> anyhow::Result<Background> {
    let server = registry::find(name)?;
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1:0")?;
    start(server, listener, &CommonArgs::default(), sizes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::TcpStream;

    use super::*;

    #[test]
    fn every_rust_model_of_the_registry_starts_and_answers() {
        for server in registry::SERVERS.iter().filter(|s| s.is_rust_model()) {
            let running = start_named(server.name, Sizes::default()).unwrap();
            let mut stream = TcpStream::connect(running.addr()).unwrap();
            stream.write_all(b"HELLO 1\n").unwrap();
            let mut line = String::new();
            BufReader::new(&stream).read_line(&mut line).unwrap();
            assert_eq!(line, "HELLO 2\n", "{}", server.name);
            drop(stream);
            let mut running = running;
            running.begin_stop();
            running.join().unwrap();
        }
        assert!(start_named("go-peer", Sizes::default()).is_err());
    }

    #[test]
    fn the_registry_says_how_many_02_serves_at_once_as_its_binary_does() {
        // The suite skips sweeps 02 cannot serve from the registry's
        // figure; the binary's default pool is what actually runs.
        assert_eq!(
            registry::THREAD_POOL.serves_at_once,
            Some(thread_pool::DEFAULT_THREADS.get())
        );
        assert!(
            registry::THREAD_POOL
                .summary
                .contains(&format!("{} threads", thread_pool::DEFAULT_THREADS))
        );
    }
}
