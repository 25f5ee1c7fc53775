//! The exercises: what each one cuts out of the real sources, the hint the
//! learner finds in its place, and the test file that checks it.
//!
//! The solution of every exercise is the repository's own code, between
//! `// ANCHOR: <region>` and `// ANCHOR_END: <region>` lines (the markers
//! mdBook uses to include code in the book). Each region is a whole
//! function body, so `todo!()` alone is a body that compiles.

/// One piece of code a learner writes.
#[derive(Debug)]
pub struct Region {
    /// The source file, from the repository's root.
    pub file: &'static str,
    /// The anchor around the function body to cut out.
    pub anchor: &'static str,
    /// What the learner finds in place of the body, after `// TODO: `.
    pub hint: &'static str,
}

/// A classic mistake, put in place of one region (the exercise's own, or an
/// earlier exercise's that this one's tests exercise): the exercise's tests
/// must catch it (at least one of them fails), or they prove less than they
/// say.
#[derive(Debug)]
pub struct WrongAnswer {
    /// What the mistake is, for the report.
    pub mistake: &'static str,
    /// The region it replaces, by anchor.
    pub anchor: &'static str,
    /// The wrong body, unindented.
    pub code: &'static str,
}

/// One exercise.
#[derive(Debug)]
pub struct Exercise {
    /// 1 to 9, in the order of the book.
    pub number: u8,
    /// The test file's name in `exercises/tests/`, and the book page's.
    pub slug: &'static str,
    pub title: &'static str,
    /// The code cut out; all of it, for the exercise to be complete.
    pub regions: &'static [Region],
    /// What the book shows as the starter: anchors around the functions the
    /// learner edits, in the order shown, as `(file, anchor)`.
    pub shows: &'static [(&'static str, &'static str)],
    /// Mistakes its tests must catch.
    pub wrong_answers: &'static [WrongAnswer],
}

impl Exercise {
    /// The command that checks this exercise, as the book prints it.
    pub fn test_command(&self) -> String {
        format!("cargo test -p exercises --test {}", self.slug)
    }

    /// `todo!()`'s message: which exercise this hole belongs to.
    pub fn todo_message(&self) -> String {
        format!("exercise {}: {}", self.number, self.title)
    }
}

const FRAMING: &str = "protocol/src/framing.rs";
const SINGLE: &str = "01-single-thread/src/server.rs";
const POOL: &str = "02-thread-pool/src/server.rs";
const TOKIO: &str = "03-async-tokio/src/server.rs";
const HYBRID: &str = "04-hybrid-blocking/src/server.rs";
const EVENT_LOOP: &str = "05-event-loop/src/server.rs";

/// Every exercise, in the order of the book.
///
/// 03 and 04 share their accept loop and shutdown line for line (their diff
/// must show the lesson and nothing else), so 04's copy carries the
/// `ex05`/`ex06` anchors too; the exercises cut them out of 03 only.
pub const EXERCISES: &[Exercise] = &[
    Exercise {
        number: 1,
        slug: "ex01_line_framer",
        title: "the line framer with its length limit",
        regions: &[Region {
            file: FRAMING,
            anchor: "ex01_solution",
            hint: "find the first b'\\n' in the pending bytes, self.buf[self.start..]. \
                   None there: fail with LineTooLong if more than max_line bytes wait, \
                   else call self.release_consumed() and return None. One there: move \
                   self.start past it, fail with LineTooLong if the line (its \\n counted) \
                   is longer than max_line, else return its range without the \\n and \
                   without a \\r right before it.",
        }],
        shows: &[(FRAMING, "next_line")],
        wrong_answers: &[WrongAnswer {
            mistake: "no limit until the newline comes",
            anchor: "ex01_solution",
            code: "\
let pending = &self.buf[self.start..];
let Some(newline) = pending.iter().position(|&b| b == b'\\n') else {
    self.release_consumed();
    return None;
};
let begin = self.start;
self.start += newline + 1;
if newline + 1 > self.max_line {
    return Some(Err(ProtocolError::LineTooLong));
}
let mut end = begin + newline;
if end > begin && self.buf[end - 1] == b'\\r' {
    end -= 1;
}
Some(Ok(begin..end))",
        }],
    },
    Exercise {
        number: 2,
        slug: "ex02_single_thread_loop",
        title: "the 01 loop with its idle timeout",
        regions: &[
            Region {
                file: SINGLE,
                anchor: "ex02_solution_converse",
                hint: "keep a Vec<u8> `out` for replies and a [0u8; READ_CHUNK] read \
                       buffer. Loop: run every session.next_action() (Send: \
                       reply.write_line(&mut out); SendAndClose: write it, send, return Ending::FinalLineSent; \
                       Work: Reply::Done with work_yielding(units); Sleep: send what is ready, \
                       thread::sleep, Reply::Slept). Then send(), session.replies_sent(..). \
                       If the shutdown is triggered: send session.on_shutdown() and end. \
                       Else read_before(stream, &mut chunk, session.deadline()): Some(0) \
                       means the client closed (or the shutdown woke you: go round), \
                       Some(n) goes to session.receive(..), None means the deadline \
                       passed: send session.on_timeout() and end.",
            },
            Region {
                file: SINGLE,
                anchor: "ex02_solution_read_before",
                hint: "turn `deadline` into a read timeout (no deadline: wait for ever; \
                       a deadline already passed: return Ok(None)), set it with \
                       stream.set_read_timeout(..), then stream.read(buf). A timeout \
                       comes back as WouldBlock or TimedOut, a signal as Interrupted: \
                       go round the loop and let the deadline decide.",
            },
        ],
        shows: &[(SINGLE, "converse"), (SINGLE, "read_before")],
        wrong_answers: &[WrongAnswer {
            mistake: "a read that ignores the deadline",
            anchor: "ex02_solution_read_before",
            code: "\
let _ = deadline;
loop {
    match stream.read(buf) {
        Ok(n) => return Ok(Some(n)),
        Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
        Err(error) => return Err(error),
    }
}",
        }],
    },
    Exercise {
        number: 3,
        slug: "ex03_thread_pool",
        title: "a std thread pool: Worker, Job, shutdown through Drop",
        regions: &[
            Region {
                file: POOL,
                anchor: "ex03_solution_new",
                hint: "a bounded channel, mpsc::sync_channel(queue); its receiver shared \
                       as Arc<Mutex<Receiver<Job>>>; `threads` workers (at least one) \
                       started with Worker::start; the sender kept in Some(..).",
            },
            Region {
                file: POOL,
                anchor: "ex03_solution_drop",
                hint: "close the channel by dropping the sender (self.sender.take()), \
                       then join every worker's thread (take it out of its Option).",
            },
            Region {
                file: POOL,
                anchor: "ex03_solution_worker",
                hint: "spawn a named thread (thread::Builder) that loops: lock the \
                       receiver, recv() one job, release the lock *before* serving, \
                       then serve_connection(job.stream, job.session, &shutdown). \
                       recv() failing means the channel closed: return.",
            },
            Region {
                file: POOL,
                anchor: "ex03_solution_execute",
                hint: "never block the acceptor: try_send the job. A full (or closed) \
                       channel hands the job back inside its error: return it as Err(job), \
                       and the caller turns the client away (exercise 4). No sender (the \
                       pool is being dropped): Err(job) too.",
            },
        ],
        shows: &[(POOL, "pool")],
        wrong_answers: &[WrongAnswer {
            mistake: "the worker holds the receiver's lock while it serves",
            anchor: "ex03_solution_worker",
            code: "\
let thread = thread::Builder::new().spawn(move || {
    // The guard lives until the end of the loop's body.
    while let Ok(job) = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv() {
        serve_connection(job.stream, job.session, &shutdown);
    }
})?;
Ok(Worker { id, thread: Some(thread) })",
        }],
    },
    Exercise {
        number: 4,
        slug: "ex04_busy_queue",
        title: "ERR busy at the bound of the pool's queue",
        regions: &[Region {
            file: POOL,
            anchor: "ex04_solution",
            hint: "answer at once: send_final_line(&stream, &busy), then \
                   stream.shutdown(Write) so the client sees the end after the line. Do \
                   not close yet (unread bytes would make the kernel send a reset) and do \
                   not drain here (the acceptor must not wait): try_send the stream, with \
                   the moment its draining ends (now + CLOSE_DRAIN), to self.draining.",
        }],
        shows: &[(POOL, "turn_away")],
        wrong_answers: &[
            WrongAnswer {
                mistake: "the client dropped without an answer",
                anchor: "ex04_solution",
                code: "drop((stream, busy));",
            },
            WrongAnswer {
                mistake: "a blocking send into the full queue",
                anchor: "ex03_solution_execute",
                code: "\
let Some(sender) = &self.sender else {
    return Err(job);
};
sender.send(job).map_err(|error| error.0)",
            },
        ],
    },
    Exercise {
        number: 5,
        slug: "ex05_accept_semaphore",
        title: "the Tokio accept loop with a Semaphore",
        regions: &[Region {
            file: TOKIO,
            anchor: "ex05_solution",
            hint: "an Arc<Semaphore> with max_connections permits. Loop: \
                   listener.accept().await (on an error, sleep for \
                   common::accept::pause_after(&error) and go round); \
                   state.counters.connection_accepted(); then \
                   Arc::clone(&limit).try_acquire_owned(): with a permit, \
                   connections.spawn(serve_connection(stream, state.admit(..), permit, \
                   stop.clone())); without one, connections.spawn(reject(stream, \
                   state.reject())). Never wait for a permit.",
        }],
        shows: &[(TOKIO, "accept_loop")],
        wrong_answers: &[WrongAnswer {
            mistake: "waiting for a permit instead of answering ERR busy",
            anchor: "ex05_solution",
            code: "\
let limit = Arc::new(Semaphore::new(max_connections));
loop {
    let Ok((stream, _peer)) = listener.accept().await else {
        continue;
    };
    state.counters.connection_accepted();
    if let Ok(permit) = Arc::clone(&limit).acquire_owned().await {
        let session = state.admit(std::time::Instant::now());
        connections.spawn(serve_connection(stream, session, permit, stop.clone()));
    }
}",
        }],
    },
    Exercise {
        number: 6,
        slug: "ex06_graceful_shutdown",
        title: "graceful shutdown with a cancellation token",
        regions: &[Region {
            file: TOKIO,
            anchor: "ex06_solution",
            hint: "drop the listener (new connections are refused), stop.cancel() \
                   (every task answers what it read and says BYE), connections.close() \
                   (no task will be added), then await connections.wait() inside \
                   tokio::time::timeout(grace, ..).",
        }],
        shows: &[(TOKIO, "shut_down")],
        wrong_answers: &[WrongAnswer {
            mistake: "waiting for the connections without the grace period",
            anchor: "ex06_solution",
            code: "\
drop(listener);
stop.cancel();
connections.close();
connections.wait().await;",
        }],
    },
    Exercise {
        number: 7,
        slug: "ex07_work_on_rayon",
        title: "WORK on rayon, the answer back over a oneshot",
        regions: &[Region {
            file: HYBRID,
            anchor: "ex07_solution",
            hint: "a oneshot::channel(); rayon::spawn a closure that sends work_yielding(units) \
                   (ignore a failed send: the client may be gone); then .await the \
                   receiver and turn its error into an io::Error.",
        }],
        shows: &[(HYBRID, "work_on_rayon")],
        wrong_answers: &[WrongAnswer {
            mistake: "WORK run inline, on the runtime's thread",
            anchor: "ex07_solution",
            code: "Ok(work(units))",
        }],
    },
    Exercise {
        number: 8,
        slug: "ex08_spawn_blocking",
        title: "spawn_blocking for SLEEP",
        regions: &[Region {
            file: HYBRID,
            anchor: "ex08_solution",
            hint: "run the blocking sleep with task::spawn_blocking and .await the \
                   JoinHandle it returns; its JoinError (the closure panicked) becomes an \
                   io::Error with io::Error::other.",
        }],
        shows: &[(HYBRID, "sleep_on_blocking_pool")],
        wrong_answers: &[WrongAnswer {
            mistake: "SLEEP run inline, on the runtime's thread",
            anchor: "ex08_solution",
            code: "\
std::thread::sleep(Duration::from_millis(ms));
Ok(())",
        }],
    },
    Exercise {
        number: 9,
        slug: "ex09_event_loop",
        title: "one connection in the event loop: read until WouldBlock, partial writes",
        regions: &[
            Region {
                file: EVENT_LOOP,
                anchor: "ex09_solution",
                hint: "loop on self.stage. Serving: write_out first (false: wait); then \
                       answer_lines (true: go round); then replies_sent(now), and BYE via \
                       finish_with if turn.stopping; then read_more: Some(0) closes, Some(_) \
                       goes round, None (WouldBlock, or a short read drained the socket) waits. AwaitingAnswer: write what is \
                       pending, wait. Closing: write_out, then shutdown(Write) and Draining \
                       until now + CLOSE_DRAIN. Draining: discard_input.",
            },
            Region {
                file: EVENT_LOOP,
                anchor: "ex09_write_solution",
                hint: "write from the front of self.out until it is empty, draining what each \
                       write took (a write may take only part); on WouldBlock keep the rest, \
                       want_writable(turn, true) and return Ok(false); Ok(0) is WriteZero; \
                       once empty, free the buffer (Vec::new()), want_writable(turn, false), \
                       Ok(true).",
            },
        ],
        shows: &[(EVENT_LOOP, "advance"), (EVENT_LOOP, "io")],
        wrong_answers: &[
            WrongAnswer {
                mistake: "one read per wake-up instead of reading until WouldBlock",
                anchor: "ex09_solution",
                code: "\
loop {
    match self.stage {
        Stage::Serving => {
            if !self.write_out(turn)? {
                return Ok(Next::Wait);
            }
            if self.answer_lines(turn) {
                continue;
            }
            if let Some(session) = &mut self.session {
                session.replies_sent(Instant::now());
                if turn.stopping {
                    let bye = session.on_shutdown();
                    self.finish_with(bye);
                    continue;
                }
            }
            return match self.read_more(turn.read_buf)? {
                Some(0) => Ok(Next::Close),
                Some(_) => {
                    self.answer_lines(turn);
                    self.write_out(turn)?;
                    Ok(Next::Wait)
                }
                None => Ok(Next::Wait),
            };
        }
        Stage::AwaitingAnswer => {
            self.write_out(turn)?;
            return Ok(Next::Wait);
        }
        Stage::Closing => {
            if !self.write_out(turn)? {
                return Ok(Next::Wait);
            }
            let _ = self.stream.shutdown(Direction::Write);
            let until = Instant::now() + CLOSE_DRAIN;
            self.stage = Stage::Draining { until };
        }
        Stage::Draining { .. } => return self.discard_input(turn.read_buf),
    }
}",
            },
            WrongAnswer {
                mistake: "what a full socket did not take is dropped",
                anchor: "ex09_write_solution",
                code: "\
if !self.out.is_empty() {
    match self.stream.write(&self.out) {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
        Err(error) => return Err(error),
    }
}
self.out = Vec::new();
self.want_writable(turn, false)?;
Ok(true)",
            },
        ],
    },
];

/// The exercises numbered in `numbers`, or an error naming the unknown one.
pub fn select(numbers: &[u8]) -> anyhow::Result<Vec<&'static Exercise>> {
    numbers
        .iter()
        .map(|&number| {
            EXERCISES
                .iter()
                .find(|exercise| exercise.number == number)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "there is no exercise {number}: they are numbered 1 to {}",
                        EXERCISES.len()
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exercises_are_numbered_in_order_with_unique_regions() {
        for (index, exercise) in EXERCISES.iter().enumerate() {
            assert_eq!(usize::from(exercise.number), index + 1);
            assert!(
                exercise
                    .slug
                    .starts_with(&format!("ex{:02}_", exercise.number))
            );
            assert!(!exercise.regions.is_empty() && !exercise.shows.is_empty());
        }
        for exercise in EXERCISES {
            for wrong in exercise.wrong_answers {
                let owner = EXERCISES
                    .iter()
                    .find(|e| e.regions.iter().any(|r| r.anchor == wrong.anchor))
                    .unwrap_or_else(|| panic!("{}: no region {}", exercise.slug, wrong.anchor));
                assert!(
                    owner.number <= exercise.number,
                    "{}: a wrong answer in a later exercise's region",
                    exercise.slug
                );
            }
        }
        let mut anchors: Vec<_> = EXERCISES
            .iter()
            .flat_map(|exercise| exercise.regions.iter().map(|r| (r.file, r.anchor)))
            .collect();
        let count = anchors.len();
        anchors.sort();
        anchors.dedup();
        assert_eq!(anchors.len(), count, "two exercises cut the same region");
    }

    #[test]
    fn select_refuses_an_unknown_number() {
        assert_eq!(select(&[2, 5]).unwrap()[1].number, 5);
        let error = select(&[10]).unwrap_err().to_string();
        assert!(error.contains("no exercise 10"), "{error}");
    }
}
