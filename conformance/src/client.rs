//! A blocking test client that speaks raw bytes and reads lines.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use protocol::CounterSnapshot;
use protocol::client::parse_stats;
use socket2::SockRef;

/// Longest wait for any line: far above any timeout a case configures, so
/// it only fires when the server hangs.
pub const READ_LIMIT: Duration = Duration::from_secs(15);

/// One client connection.
#[derive(Debug)]
pub struct TestClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl TestClient {
    /// Connects to the server.
    pub fn connect(addr: SocketAddr) -> TestClient {
        TestClient::try_connect(addr).expect("connect to the server")
    }

    /// Connects to the server, or says why it could not (a server that is
    /// shutting down refuses new connections).
    pub fn try_connect(addr: SocketAddr) -> io::Result<TestClient> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_LIMIT))?;
        let writer = stream.try_clone()?;
        Ok(TestClient {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Connects and completes the handshake from `x`.
    pub fn handshaked(addr: SocketAddr, x: u64) -> TestClient {
        let mut client = TestClient::connect(addr);
        client.handshake(x);
        client
    }

    /// Sends raw bytes in one write.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.writer
            .write_all(bytes.as_ref())
            .expect("send to the server");
    }

    /// Sends bytes without failing: the server may already have closed.
    pub fn send_lossy(&mut self, bytes: impl AsRef<[u8]>) -> io::Result<()> {
        self.writer.write_all(bytes.as_ref())
    }

    /// The next line, without its `\n`; `None` if the server closed.
    pub fn try_line(&mut self) -> io::Result<Option<String>> {
        let mut line = Vec::new();
        let n = self.reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(None);
        }
        assert_eq!(
            line.pop(),
            Some(b'\n'),
            "the server closed mid-line: {line:?}"
        );
        Ok(Some(
            String::from_utf8(line).expect("the server sent UTF-8"),
        ))
    }

    /// The next line; fails the test if the connection ends first.
    pub fn line(&mut self) -> String {
        match self.try_line() {
            Ok(Some(line)) => line,
            Ok(None) => panic!("the server closed the connection instead of answering"),
            Err(error) => panic!("no answer from the server: {error}"),
        }
    }

    /// Whether an answer has already arrived (without waiting for one).
    pub fn has_line_waiting(&mut self) -> bool {
        if !self.reader.buffer().is_empty() {
            return true;
        }
        let stream = self.reader.get_ref();
        stream.set_nonblocking(true).expect("nonblocking");
        let mut byte = [0u8; 1];
        let waiting = matches!(stream.peek(&mut byte), Ok(n) if n > 0);
        stream.set_nonblocking(false).expect("blocking");
        waiting
    }

    /// Asserts that the next line is `want`.
    #[track_caller]
    pub fn expect(&mut self, want: &str) {
        assert_eq!(self.line(), want);
    }

    /// Sends `request` (a line without `\n`) and asserts the answer.
    #[track_caller]
    pub fn exchange(&mut self, request: &str, want: &str) {
        self.send(format!("{request}\n"));
        self.expect(want);
    }

    /// Completes the handshake from `x`.
    #[track_caller]
    pub fn handshake(&mut self, x: u64) {
        self.exchange(&format!("HELLO {x}"), &format!("HELLO {}", x + 1));
        self.send(format!("HELLO {}\n", x + 2));
    }

    /// Asserts that the server closes the connection with nothing more to
    /// say (a reset after the last line counts as closed too).
    #[track_caller]
    pub fn expect_closed(&mut self) {
        match self.try_line() {
            Ok(None) => {}
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => {}
            Ok(Some(line)) => panic!("expected the connection to close, got {line:?}"),
            Err(error) => panic!("expected the connection to close: {error}"),
        }
    }

    /// Asserts `want` as the final line, then the close.
    #[track_caller]
    pub fn expect_final(&mut self, want: &str) {
        self.expect(want);
        self.expect_closed();
    }

    /// Sends `STATS` and parses the answer.
    pub fn stats(&mut self) -> CounterSnapshot {
        self.send("STATS\n");
        let line = self.line();
        parse_stats(&line).unwrap_or_else(|error| panic!("bad STATS answer: {error}"))
    }

    /// Polls `STATS` until `done` holds (the server closes sockets on its
    /// own schedule), and returns the last answer. Fails after 10 s.
    pub fn stats_until(&mut self, done: impl Fn(&CounterSnapshot) -> bool) -> CounterSnapshot {
        let start = Instant::now();
        loop {
            let stats = self.stats();
            if done(&stats) {
                return stats;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "counters never settled: {stats}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Half-closes: sends FIN, keeps reading.
    pub fn half_close(&mut self) {
        self.writer
            .shutdown(Shutdown::Write)
            .expect("shutdown(Write)");
    }

    /// A second handle on the socket, for writing from another thread.
    pub fn writer_clone(&self) -> TcpStream {
        self.writer.try_clone().expect("clone the stream")
    }

    /// Aborts the connection with a reset (SO_LINGER 0, then close).
    pub fn reset(self) {
        let socket = SockRef::from(&self.writer);
        socket
            .set_linger(Some(Duration::ZERO))
            .expect("SO_LINGER 0");
    }
}
