//! `loadtest probe`: one connection, one of each request, the transcript
//! printed and every answer checked. For a learner checking a server by
//! hand, or a new model against the protocol.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use protocol::Request;
use protocol::client::{Handshake, check_answer};

/// Runs the probe and prints the transcript; fails on the first wrong answer.
pub fn probe(target: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let stream = TcpStream::connect_timeout(&target, timeout)
        .with_context(|| format!("cannot connect to {target}"))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut exchange = |line: &str, expect_answer: bool| -> anyhow::Result<Option<String>> {
        println!("C: {line}");
        // Timed from before the write: on loopback the answer can arrive
        // before `write` even returns.
        let started = Instant::now();
        writer.write_all(format!("{line}\n").as_bytes())?;
        if !expect_answer {
            return Ok(None);
        }
        let mut answer = String::new();
        if reader.read_line(&mut answer)? == 0 {
            bail!("the server closed the connection");
        }
        let answer = answer.trim_end_matches('\n').to_owned();
        println!("S: {answer}    ({} µs)", started.elapsed().as_micros());
        Ok(Some(answer))
    };

    let handshake = Handshake::new(41);
    let answer = exchange(handshake.first_line().trim_end(), true)?.unwrap_or_default();
    handshake.check_answer(&answer).context("handshake")?;
    exchange(handshake.third_line().trim_end(), false)?;
    let echo = Request::Echo("hello from loadtest probe");
    for request in [
        echo,
        Request::Work(1000),
        Request::Sleep(10),
        Request::Stats,
        Request::Quit,
    ] {
        let answer = exchange(&request.to_string(), true)?.unwrap_or_default();
        check_answer(&request, &answer, protocol::work)
            .with_context(|| format!("answer to {request}"))?;
    }
    println!("every answer checked: the server speaks the protocol");
    Ok(())
}
