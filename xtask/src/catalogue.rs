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
            hint: "Where does the next line end, if it has arrived at all? (Look in self.buf[self.start..].) PROTOCOL.md's \"Length limit\" gives two cases: a line still unfinished, and a complete one, its \\n counted. What must the range leave out? What does release_consumed() do for an idle connection's memory? The tests name the case you miss.",
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
                hint: "Each turn: answer every complete line (what does each Action of session.next_action() ask of you? the protocol crate's docs say), send the answers in one write, then wait for bytes, no longer than session.deadline(). Which Action ends the conversation? When must a shutdown say BYE? read_before is your wait: what do its Some(0), Some(n) and None mean?",
            },
            Region {
                file: SINGLE,
                anchor: "ex02_solution_read_before",
                hint: "A deadline is an instant; a socket takes a timeout (TcpStream::set_read_timeout). What if there is no deadline, or it has passed? Which io::ErrorKind values mean \"the time ran out\" or \"a signal came\", and should either end the connection?",
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
                hint: "What bounds the queue (mpsc::sync_channel)? Many workers must share one receiver: how, when Receiver is not Sync? How many workers if `threads` is 0? Keep the sender where drop can take it.",
            },
            Region {
                file: POOL,
                anchor: "ex03_solution_drop",
                hint: "How does a worker blocked in recv() learn that the pool is going away? What must drop wait for before it returns?",
            },
            Region {
                file: POOL,
                anchor: "ex03_solution_worker",
                hint: "What does a worker do between jobs? How long may it hold the receiver's lock: what happens to the other workers if it serves a connection with the lock held? What does a failed recv() mean?",
            },
            Region {
                file: POOL,
                anchor: "ex03_solution_execute",
                hint: "The acceptor must never wait here: which send does not block (mpsc::SyncSender)? When the queue is full, who turns the client away, and how does the job get back to them?",
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
            hint: "What should a client over the limit see, and how soon (PROTOCOL.md, ERR busy)? After the line, how does the client learn that nothing more comes, without a reset (TcpStream::shutdown)? The acceptor must not wait: who drains the connection, and until when (CLOSE_DRAIN)?",
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
            hint: "What counts the connections served at once (tokio::sync::Semaphore, try_acquire_owned)? What would waiting for a permit do to the clients over the limit? An accept can fail (EMFILE): what then (common::accept::pause_after)? Every accept is counted (state.counters), and a connection is admitted or rejected through `state`; each is a task in `connections`: what must an admitted one hold until it ends?",
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
            hint: "In which order: stop accepting, tell every task (the CancellationToken), wait for them, but not for ever (tokio::time::timeout, the grace)? What does TaskTracker::close change about wait()?",
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
            hint: "The worker must stay free while the digest is computed: where does the WORK run (rayon::spawn), and how does the digest come back to an async task (tokio::sync::oneshot)? What if the receiver is gone by then? The tests send ECHOs while WORKs run.",
        }],
        shows: &[(HYBRID, "work_on_rayon")],
        wrong_answers: &[WrongAnswer {
            mistake: "WORK run inline, on the runtime's thread",
            anchor: "ex07_solution",
            code: "Ok(work_yielding(units))",
        }],
    },
    Exercise {
        number: 8,
        slug: "ex08_spawn_blocking",
        title: "spawn_blocking for SLEEP",
        regions: &[Region {
            file: HYBRID,
            anchor: "ex08_solution",
            hint: "SLEEP blocks a thread: which of Tokio's threads may block (tokio::task::spawn_blocking)? What does awaiting its JoinHandle give you, and what is its error when the closure panicked?",
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
                hint: "A connection is a small state machine (self.stage). In Serving, what goes first: writing what is pending, answering the lines read, or reading more? When do you wait for the next event, and when go round? mio is edge-triggered: what becomes of bytes left in the socket (the chapter's two rules)? How does a connection end: Closing, Draining, until when?",
            },
            Region {
                file: EVENT_LOOP,
                anchor: "ex09_write_solution",
                hint: "A write may take part of the buffer, or nothing (WouldBlock). What do you keep, and how will you learn that the socket has room again (want_writable)? What should an empty output buffer cost an idle connection?",
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
