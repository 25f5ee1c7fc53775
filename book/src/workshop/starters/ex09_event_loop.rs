// 05-event-loop/src/server.rs
/// Does everything that can be done without waiting.
fn advance(&mut self, turn: &mut Turn<'_>) -> io::Result<Next> {
    // TODO: A connection is a small state machine (self.stage). In Serving, what goes
    //       first: writing what is pending, answering the lines read, or reading more?
    //       When do you wait for the next event, and when go round? mio is
    //       edge-triggered: what becomes of bytes left in the socket (the chapter's two
    //       rules)? How does a connection end: Closing, Draining, until when?
    todo!("exercise 9: one connection in the event loop: read until WouldBlock, partial writes")
}

/// Writes as much of `out` as the socket takes. Returns whether all of
/// it went; if not, registers for writability (once) to be told when
/// the socket has room.
fn write_out(&mut self, turn: &Turn<'_>) -> io::Result<bool> {
    // TODO: A write may take part of the buffer, or nothing (WouldBlock). What do you
    //       keep, and how will you learn that the socket has room again
    //       (want_writable)? What should an empty output buffer cost an idle
    //       connection?
    todo!("exercise 9: one connection in the event loop: read until WouldBlock, partial writes")
}

/// Changes the readiness this connection is registered for.
fn want_writable(&mut self, turn: &Turn<'_>, writable: bool) -> io::Result<()> {
    if self.wants_writable != writable {
        let interest = if writable {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let token = Token(turn.key);
        turn.registry
            .reregister(&mut self.stream, token, interest)?;
        self.wants_writable = writable;
    }
    Ok(())
}

/// What a readiness event says about reading.
fn note_readiness(&mut self, event: &mio::event::Event) {
    if event.is_readable() || event.is_read_closed() || event.is_error() {
        self.readable = true;
    }
    self.read_closed |= event.is_read_closed();
}

/// Reads once into the loop's buffer and hands the bytes to the session:
/// `Some(n)` bytes (0: the client closed its side), `None` on
/// `WouldBlock` (the kernel will say when there is more).
///
/// The refinement (what Tokio does on Linux, `poll_evented.rs`): a read
/// that comes back *short*, fewer bytes than the buffer holds, has
/// emptied the socket's queue. With edge-triggered readiness, the next
/// byte to arrive raises a new event, so the read that would only say
/// `WouldBlock` can be skipped: `readable` goes false and the next call
/// returns `None` without a system call, until an event sets it again.
/// Not after an event said the client closed: its FIN is already queued
/// and raises no new event, so the reading goes on to the end.
fn read_more(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
    if !self.readable {
        return Ok(None); // drained by a short read, and no event since
    }
    loop {
        match self.stream.read(buf) {
            Ok(n) => {
                if n > 0 && n < buf.len() && !self.read_closed {
                    self.readable = false;
                }
                if let Some(session) = &mut self.session {
                    session.receive(&buf[..n]);
                }
                return Ok(Some(n));
            }
            Err(error) if would_block(&error) => {
                self.readable = false;
                return Ok(None);
            }
            Err(error) if interrupted(&error) => {}
            Err(error) => return Err(error),
        }
    }
}

/// Reads and throws away until `WouldBlock` (wait for more), or until
/// the client closes or the socket fails (close).
fn discard_input(&mut self, buf: &mut [u8]) -> io::Result<Next> {
    loop {
        match self.stream.read(buf) {
            Ok(0) => return Ok(Next::Close),
            Ok(_) => {}
            Err(error) if would_block(&error) => return Ok(Next::Wait),
            Err(error) if interrupted(&error) => {}
            Err(_) => return Ok(Next::Close),
        }
    }
}
