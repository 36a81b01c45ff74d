//! Reading the timeline back, bounded: segments are read from the newest end backwards, by
//! blocks, and reading stops as soon as `--last` has its spans or `--since` is passed, so a
//! 1.5 GB segment costs what is shown, not 1.5 GB. Lines are never allocated whole: a line
//! longer than [`MAX_LINE`] is skipped and counted (no span is that long), and a run of NUL
//! bytes (a sparse file, the zeros a power cut leaves) separates lines like a newline. On
//! Linux the holes of a sparse file are stepped over without reading them.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use super::{DIR, Span, segments};
use crate::durable::fs::beneath::{Access, Beneath};

/// The longest line read as a span; a longer one is skipped and counted. A span holds at most
/// [`super::MAX_WHO`] names and one reason, a few KiB at most.
pub const MAX_LINE: usize = 64 << 10;

/// Bytes read at a time.
const BLOCK: usize = 256 << 10;

/// `--since` reads back until a span that ended this long before it: spans are written as
/// they end, so nothing written earlier ends later, but for a clock step or a batch written
/// out of order.
const SINCE_SLACK_MICROS: i64 = 60_000_000;

/// How many spans the window loads when it opens the timeline (as many as it keeps).
pub const HISTORY_SPANS: usize = 1_000_000;

/// Which recorded spans to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only spans that end at or after this time (µs since the epoch).
    pub since: Option<i64>,
    /// Only the last this many (after `since`).
    pub last: Option<usize>,
}

/// What [`read`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recorded {
    /// The spans, in the order they were recorded.
    pub spans: Vec<Span>,
    /// Lines that were not spans (a torn last line after a crash, a line over
    /// [`MAX_LINE`]), skipped.
    pub skipped: usize,
}

/// Reads the timeline of the store at `root` (none recorded: empty). Read only: it takes no
/// lock, so another process may read while the spooler records. Memory is in proportion to
/// the spans returned (see the module documentation).
///
/// # Errors
/// When a segment cannot be read (a symbolic link, a FIFO or a device there is refused, never
/// followed or waited on).
pub fn read(root: &Path, filter: Filter) -> std::io::Result<Recorded> {
    let mut reader = Collect {
        filter,
        out: Recorded::default(),
        done: filter.last == Some(0),
    };
    // Through the store's one way in: nothing followed below the root, nothing waited on.
    let store = Beneath::new(root)?;
    for (_, path) in segments(&store, &root.join(DIR))?.iter().rev() {
        if reader.done {
            break;
        }
        let f = match store.open(path, Access::Read) {
            Ok(f) => f,
            // Rotated away while we read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(super::named(path, &e)),
        };
        read_back(f, &mut |line| reader.line(line))?;
    }
    reader.out.spans.reverse();
    Ok(reader.out)
}

/// Takes lines newest first until the filter has what it wants.
struct Collect {
    filter: Filter,
    out: Recorded,
    done: bool,
}

impl Collect {
    /// One line (`None`: over [`MAX_LINE`]); false once enough was read.
    fn line(&mut self, line: Option<&[u8]>) -> bool {
        let Some(line) = line else {
            self.out.skipped += 1;
            return true;
        };
        let Ok(span) = serde_json::from_slice::<Span>(line) else {
            self.out.skipped += 1;
            return true;
        };
        let end = span.end();
        if self.filter.since.is_none_or(|t| end >= t) {
            self.out.spans.push(span);
        }
        let enough = self.filter.last.is_some_and(|n| self.out.spans.len() >= n);
        let passed = self
            .filter
            .since
            .is_some_and(|t| end < t.saturating_sub(SINCE_SLACK_MICROS));
        self.done = enough || passed;
        !self.done
    }
}

/// Calls `each` with the lines of `f` from the last to the first (`None` for a line over
/// [`MAX_LINE`]; empty lines and NUL runs are not lines) until it returns false.
fn read_back(mut f: File, each: &mut dyn FnMut(Option<&[u8]>) -> bool) -> std::io::Result<()> {
    let mut pos = f.seek(SeekFrom::End(0))?;
    let mut buf = vec![0u8; BLOCK];
    // The end of the line being read (its start is in a block not read yet), in order.
    let mut tail: Vec<u8> = Vec::new();
    let mut overlong = false;
    let mut emit = |head: &[u8], tail: &mut Vec<u8>, overlong: &mut bool| -> bool {
        let go_on = if *overlong || head.len() + tail.len() > MAX_LINE {
            each(None)
        } else if head.is_empty() && tail.is_empty() {
            true
        } else if tail.is_empty() {
            each(Some(head))
        } else {
            let mut line = Vec::with_capacity(head.len() + tail.len());
            line.extend_from_slice(head);
            line.extend_from_slice(tail);
            each(Some(&line))
        };
        tail.clear();
        *overlong = false;
        go_on
    };
    while pos > 0 {
        let data_end = data_before(&f, pos);
        if data_end < pos {
            // A hole: zeros, which end the line being read.
            if !emit(&[], &mut tail, &mut overlong) {
                return Ok(());
            }
            pos = data_end;
            continue;
        }
        let n = usize::try_from(pos).unwrap_or(BLOCK).min(BLOCK);
        let start = pos - n as u64;
        f.seek(SeekFrom::Start(start))?;
        let block = &mut buf[..n];
        f.read_exact(block)?;
        let mut end = n;
        while end > 0 {
            let zeros = trailing_zeros(&block[..end]);
            if zeros > 0 {
                if !emit(&[], &mut tail, &mut overlong) {
                    return Ok(());
                }
                end -= zeros;
                continue;
            }
            if let Some(i) = block[..end].iter().rposition(|&b| b == b'\n' || b == 0) {
                if !emit(&block[i + 1..end], &mut tail, &mut overlong) {
                    return Ok(());
                }
                end = i;
            } else {
                // The line began in an earlier block: its end is kept, up to the cap.
                if overlong || end + tail.len() > MAX_LINE {
                    overlong = true;
                    tail.clear();
                } else {
                    tail.splice(0..0, block[..end].iter().copied());
                }
                end = 0;
            }
        }
        pos = start;
    }
    emit(&[], &mut tail, &mut overlong);
    Ok(())
}

/// How many NUL bytes `b` ends with, compared a block at a time (`memcmp`) over long runs.
fn trailing_zeros(b: &[u8]) -> usize {
    const ZEROS: [u8; 4096] = [0; 4096];
    let mut n = 0;
    for chunk in b.rchunks(ZEROS.len()) {
        if chunk == &ZEROS[..chunk.len()] {
            n += chunk.len();
        } else {
            return n + chunk.iter().rev().take_while(|&&x| x == 0).count();
        }
    }
    n
}

/// Where the data before `pos` ends: `pos` itself unless a hole of a sparse file (zeros never
/// written) reaches up to `pos`, found with `SEEK_DATA`/`SEEK_HOLE` without reading it.
#[cfg(target_os = "linux")]
#[allow(
    unsafe_code,
    reason = "lseek(2) with SEEK_DATA/SEEK_HOLE, which std does not offer"
)]
fn data_before(f: &File, pos: u64) -> u64 {
    use std::os::fd::AsRawFd as _;
    let fd = f.as_raw_fd();
    let seek = |at: u64, whence: libc::c_int| -> Option<u64> {
        let at = libc::off_t::try_from(at).ok()?;
        // SAFETY: lseek on a file descriptor this function borrows; no memory is touched.
        let r = unsafe { libc::lseek(fd, at, whence) };
        u64::try_from(r).ok()
    };
    // Is there data in the last block before `pos`? (ENXIO: none after the offset.)
    let probe = pos.saturating_sub(BLOCK as u64);
    if seek(probe, libc::SEEK_DATA).is_some_and(|d| d < pos) {
        return pos;
    }
    // A hole: step back, doubling, until some data lies before `pos`.
    let mut step = BLOCK as u64;
    let mut lo = probe;
    while lo > 0 && seek(lo, libc::SEEK_DATA).is_none_or(|d| d >= pos) {
        step = step.saturating_mul(2);
        lo = pos.saturating_sub(step);
    }
    // The end of the last extent of data before `pos`.
    let mut last_end = 0;
    let mut at = lo;
    while let Some(d) = seek(at, libc::SEEK_DATA).filter(|&d| d < pos) {
        let Some(h) = seek(d, libc::SEEK_HOLE) else {
            return pos;
        };
        if h >= pos {
            return pos;
        }
        last_end = h;
        at = h;
    }
    last_end
}

/// Elsewhere every byte is read (zeros are still stepped over quickly).
#[cfg(not(target_os = "linux"))]
const fn data_before(_f: &File, pos: u64) -> u64 {
    pos
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn lines_back(bytes: &[u8]) -> Vec<Option<String>> {
        let mut f = tempfile::tempfile().unwrap_or_else(|e| panic!("{e}"));
        f.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        read_back(f, &mut |l| {
            out.push(l.map(|l| String::from_utf8_lossy(l).into_owned()));
            true
        })
        .unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn lines_come_back_last_first_across_blocks_with_nul_runs_as_separators() {
        // A line of 60,000 bytes across the boundary of the last block.
        let long = "x".repeat(60_000);
        let filler = "z\n".repeat((BLOCK - 30_000) / 2);
        let text = format!("a\n{long}\n{filler}\0\0\0b\n\nc");
        let got = lines_back(text.as_bytes());
        let zs = (BLOCK - 30_000) / 2;
        assert_eq!(got.len(), zs + 4);
        assert_eq!(got[..2], [Some("c".into()), Some("b".into())]);
        assert!(got[2..2 + zs].iter().all(|l| l.as_deref() == Some("z")));
        assert_eq!(got[2 + zs..], [Some(long), Some("a".into())]);
    }

    #[test]
    fn a_line_over_the_cap_is_skipped_without_being_held() {
        let huge = "y".repeat(MAX_LINE * 5);
        let text = format!("first\n{huge}\nlast\n");
        assert_eq!(
            lines_back(text.as_bytes()),
            vec![Some("last".into()), None, Some("first".into())]
        );
        assert_eq!(trailing_zeros(&[1, 0, 0]), 2);
        assert_eq!(trailing_zeros(&[0u8; 200]), 200);
    }
}
