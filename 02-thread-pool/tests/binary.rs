//! The `02-thread-pool` binary as a user runs it: flags, signals, the exit
//! status, the final counters line, and running out of file descriptors.

conformance::binary_tests!(env!("CARGO_BIN_EXE_02-thread-pool"), registry::THREAD_POOL);
conformance::accept_recovery_tests!(env!("CARGO_BIN_EXE_02-thread-pool"));
// A pool with a worker for every loaded connection (see the Reliability
// chapter for what a smaller pool does).
conformance::shutdown_under_load_tests!(
    env!("CARGO_BIN_EXE_02-thread-pool"),
    "--threads",
    "2048",
    "--queue",
    "2048"
);

/// A pool that cannot start its threads is a failed start, not a server
/// that listens with nobody to serve: exit status 1 and one `error:` line
/// that says why.
#[test]
fn a_pool_that_cannot_start_its_threads_exits_non_zero_with_one_line() {
    use std::os::unix::process::CommandExt as _;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let mut command = Command::new(env!("CARGO_BIN_EXE_02-thread-pool"));
    command
        .args(["--addr", "127.0.0.1:0", "--threads", "4000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // 300 MB of address space: the binary starts, but 4000 thread stacks
    // of 2 MiB each cannot be reserved. (A limit on processes would not
    // do: root, which CI runs as, is exempt from it.)
    let limit = libc::rlimit {
        rlim_cur: 300 << 20,
        rlim_max: 300 << 20,
    };
    // SAFETY: setrlimit is async-signal-safe, and `limit` is a plain value
    // copied into the closure.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("02 kept running without its worker threads");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("cannot start the worker threads"),
        "{stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("final counters"),
        "a failed start prints no final counters"
    );
}
