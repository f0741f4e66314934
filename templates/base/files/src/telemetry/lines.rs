//! Where log lines go: stdout, through a buffer per runtime thread.
//!
//! A worker thread of the async runtime keeps the lines it logs and writes
//! them in one system call when it goes idle ([`write_buffered_lines`], which
//! the runtime calls before it parks the thread), when [`FLUSH_BYTES`] have
//! piled up, and when the thread stops. Every other thread (the main thread,
//! the blocking pool's) writes each line as it comes. A line is never split:
//! every write holds stdout's lock.
//!
//! Under load that is one write per few dozen lines, made by the thread that
//! logged them, with no other thread to wake; idle, a line is written as soon
//! as its request is answered. Lines of one thread keep their order; lines of
//! different threads may interleave out of timestamp order by the few
//! milliseconds a busy thread holds them. When the process stops, the
//! runtime's threads write what they hold as they stop.
//!
//! (What this replaced, a thread of its own writing whatever the others
//! queued, was switched in and out thousands of times per second under load,
//! and took a core from a worker often enough to raise the service's p99
//! latency by a fifth to a half on a 2-core machine.)

use std::cell::RefCell;
use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// How many bytes of lines a worker thread holds before writing them anyway.
const FLUSH_BYTES: usize = 32 * 1024;

/// The most buffer a thread keeps between writes; a burst of long lines that
/// grew it further gives the memory back.
const KEPT_BYTES: usize = 4 * FLUSH_BYTES;

thread_local! {
    static PENDING: ThreadLines = ThreadLines::default();
}

/// A thread's [`Pending`] lines, written when the thread stops.
#[derive(Debug, Default)]
struct ThreadLines(RefCell<Pending>);

impl Drop for ThreadLines {
    fn drop(&mut self) {
        let _ = self.0.get_mut().flush(&mut write_stdout);
    }
}

/// The log layer's writer: each line goes to stdout, buffered on the
/// runtime's worker threads (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct BufferedStdout;

impl<'a> MakeWriter<'a> for BufferedStdout {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

impl Write for BufferedStdout {
    /// Takes one whole line (the log layers write each line at once).
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let buffered = PENDING.try_with(|pending| {
            pending
                .0
                .try_borrow_mut()
                .map(|mut pending| pending.push(line, &mut write_stdout))
        });
        match buffered {
            Ok(Ok(written)) => written?,
            // The thread is stopping (its buffer is gone) or, in a write to
            // stdout that logged, busy: written directly.
            Ok(Err(_)) | Err(_) => write_stdout(line)?,
        }
        Ok(line.len())
    }

    /// Nothing: a worker thread's lines are written when it goes idle.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the lines this thread holds, and from then on buffers what it logs.
///
/// For the runtime's worker threads only: the binary's runtime calls it each
/// time one goes idle (`on_thread_park`) and when one stops
/// (`on_thread_stop`). A thread that never calls it writes each line at once.
pub fn write_buffered_lines() {
    // Failing to write a log line has no one left to tell.
    let _ = PENDING.try_with(|pending| {
        if let Ok(mut pending) = pending.0.try_borrow_mut() {
            pending.buffering = true;
            let _ = pending.flush(&mut write_stdout);
        }
    });
}

/// One write of whole lines to stdout, under its lock.
fn write_stdout(lines: &[u8]) -> io::Result<()> {
    io::stdout().lock().write_all(lines)
}

/// The lines one thread has logged and not written yet.
#[derive(Debug, Default)]
struct Pending {
    lines: Vec<u8>,
    /// Whether this thread buffers: set by [`write_buffered_lines`].
    buffering: bool,
}

impl Pending {
    /// Takes `line`: held if this thread buffers, until [`FLUSH_BYTES`] are;
    /// otherwise written with `write` at once.
    fn push(
        &mut self,
        line: &[u8],
        write: &mut impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        if !self.buffering {
            return write(line);
        }
        self.lines.extend_from_slice(line);
        if self.lines.len() >= FLUSH_BYTES {
            self.flush(write)
        } else {
            Ok(())
        }
    }

    /// Writes what is held with `write`, in one call; held no longer, even if
    /// the write fails (a stdout that refuses lines would otherwise grow the
    /// buffer without end).
    fn flush(&mut self, write: &mut impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let written = write(&self.lines);
        self.lines.clear();
        if self.lines.capacity() > KEPT_BYTES {
            self.lines = Vec::new();
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread's lines once it buffers.
    fn buffering() -> Pending {
        Pending {
            lines: Vec::new(),
            buffering: true,
        }
    }

    /// Each call `write` made, in order.
    fn recorder(calls: &mut Vec<Vec<u8>>) -> impl FnMut(&[u8]) -> io::Result<()> + '_ {
        |bytes| {
            calls.push(bytes.to_vec());
            Ok(())
        }
    }

    #[test]
    fn a_thread_that_does_not_buffer_writes_each_line_at_once() {
        let mut calls = Vec::new();
        let mut pending = Pending::default();
        pending.push(b"one\n", &mut recorder(&mut calls)).unwrap();
        pending.push(b"two\n", &mut recorder(&mut calls)).unwrap();
        assert_eq!(calls, [b"one\n".to_vec(), b"two\n".to_vec()]);
        assert!(pending.lines.is_empty());
    }

    #[test]
    fn a_buffering_thread_writes_its_lines_in_one_call_when_flushed() {
        let mut calls = Vec::new();
        let mut pending = buffering();
        pending.push(b"one\n", &mut recorder(&mut calls)).unwrap();
        pending.push(b"two\n", &mut recorder(&mut calls)).unwrap();
        assert!(calls.is_empty(), "held until flushed");
        pending.flush(&mut recorder(&mut calls)).unwrap();
        pending.flush(&mut recorder(&mut calls)).unwrap();
        assert_eq!(
            calls,
            [b"one\ntwo\n".to_vec()],
            "one write, none when empty"
        );
    }

    #[test]
    fn a_buffering_thread_writes_once_enough_has_piled_up() {
        let mut calls = Vec::new();
        let mut pending = buffering();
        let line = [b'x'; 1000];
        let lines = FLUSH_BYTES.div_ceil(line.len());
        for _ in 0..lines {
            pending.push(&line, &mut recorder(&mut calls)).unwrap();
        }
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].len(), lines * line.len());
        assert!(pending.lines.is_empty());
    }

    #[test]
    fn a_failed_write_drops_the_lines_and_reports_the_error() {
        let mut pending = buffering();
        pending
            .push(b"one\n", &mut |_: &[u8]| Ok(()))
            .expect("held, not written");
        let failed = pending.flush(&mut |_: &[u8]| Err(io::ErrorKind::BrokenPipe.into()));
        assert_eq!(failed.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert!(pending.lines.is_empty());
    }

    #[test]
    fn a_burst_of_long_lines_gives_its_memory_back() {
        let mut pending = buffering();
        let long = vec![b'x'; 2 * KEPT_BYTES];
        pending.push(&long, &mut |_: &[u8]| Ok(())).unwrap();
        assert!(pending.lines.capacity() <= KEPT_BYTES);
    }

    /// Whether the calling thread buffers its lines.
    fn buffers() -> bool {
        PENDING.with(|pending| pending.0.borrow().buffering)
    }

    #[test]
    fn the_runtime_hook_turns_buffering_on_for_its_thread_only() {
        std::thread::spawn(|| {
            assert!(!buffers());
            write_buffered_lines();
            assert!(buffers());
        })
        .join()
        .unwrap();
        std::thread::spawn(|| assert!(!buffers())).join().unwrap();
    }
}
