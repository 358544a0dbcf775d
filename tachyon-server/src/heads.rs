//! Follows the request heads in a connection's plaintext byte stream, to find the requests
//! that carry both `Content-Length` and `Transfer-Encoding`.
//!
//! hyper (1.12) reads such a request by `Transfer-Encoding`, drops its `Content-Length`
//! from the header map and closes the connection after the response; its service cannot
//! tell. The server answers them `400` instead (as uvicorn with httptools or llhttp does), so
//! the connection's IO wrapper hands every byte it reads to a [`HeadTracker`]: heads are
//! parsed with `httparse` (hyper's own parser, with hyper's default configuration), and a
//! `Content-Length` body is skipped by counting bytes. Nothing here frames or rejects a
//! request itself: whenever the stream stops being simple to follow, the tracker turns off
//! and hyper's own handling stands.

use std::mem::MaybeUninit;

/// Header slots kept on the stack; a larger configured maximum parses into a vector.
const STACK_HEADERS: usize = 128;

/// What the tracker expects next in the byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A request head (from the connection's start, and after each body).
    Head,
    /// This many body bytes (a `Content-Length` body) before the next head.
    Skip(u64),
    /// Not following the stream any more: after a chunked body, an upgrade, `CONNECT`, a
    /// head hyper rejects or one past the configured limits.
    Off,
}

/// The request heads of one connection, followed through its bytes. See the module docs.
pub(crate) struct HeadTracker {
    mode: Mode,
    /// A head split across reads, copied here until it is complete; empty otherwise (and
    /// never allocated while every head arrives within one read).
    partial: Vec<u8>,
    /// Complete heads seen so far: the number of the last one, counted from 1 as the
    /// service counts its requests.
    heads: u64,
    max_head: usize,
    max_headers: usize,
}

/// One parse of a head.
enum Parsed {
    /// The head is this many bytes long; `Some(n)` if it is head number `n` and has both
    /// `Content-Length` and `Transfer-Encoding`.
    Complete(usize, Option<u64>),
    /// Not a whole head yet.
    Partial,
    /// Not a head the tracker follows (hyper rejects it, or it ends the tracking).
    Off,
}

impl HeadTracker {
    /// A tracker expecting the first head, with the server's bounds on a head: its size in
    /// bytes and its number of header lines (beyond either, hyper answers `431`).
    pub(crate) fn new(max_head: usize, max_headers: usize) -> Self {
        HeadTracker {
            mode: Mode::Head,
            partial: Vec::new(),
            heads: 0,
            max_head,
            max_headers,
        }
    }

    /// Follows `data`, the next bytes read from the connection. Returns the number of the
    /// request (counted from 1) whose head has both `Content-Length` and `Transfer-Encoding`,
    /// if these bytes complete it; the tracker is off from then on, so that happens at most
    /// once per connection.
    #[inline]
    pub(crate) fn feed(&mut self, data: &[u8]) -> Option<u64> {
        if self.mode == Mode::Off {
            return None;
        }
        self.follow(data)
    }

    fn off(&mut self) -> Option<u64> {
        self.mode = Mode::Off;
        self.partial = Vec::new();
        None
    }

    fn follow(&mut self, mut data: &[u8]) -> Option<u64> {
        loop {
            match self.mode {
                Mode::Off => return None,
                Mode::Skip(n) => {
                    let len = data.len() as u64;
                    if len < n {
                        self.mode = Mode::Skip(n - len);
                        return None;
                    }
                    // `n <= data.len()`, so it fits a usize.
                    data = &data[n as usize..];
                    self.mode = Mode::Head;
                }
                Mode::Head if data.is_empty() => return None,
                Mode::Head if self.partial.is_empty() => match self.parse(data) {
                    // The common case: the whole head within one read, parsed in place.
                    Parsed::Complete(len, smuggled) => {
                        if smuggled.is_some() {
                            return smuggled;
                        }
                        data = &data[len..];
                    }
                    Parsed::Partial if data.len() <= self.max_head => {
                        self.partial.extend_from_slice(data);
                        return None;
                    }
                    Parsed::Partial | Parsed::Off => return self.off(),
                },
                Mode::Head => {
                    // A head split across reads: add what may belong to it (at most one byte
                    // past the limit, enough to know it is over), and parse once the new
                    // bytes hold what may end a head.
                    let old = self.partial.len();
                    let take = data.len().min((self.max_head + 1).saturating_sub(old));
                    self.partial.extend_from_slice(&data[..take]);
                    if !may_end_head(&self.partial, old.saturating_sub(3)) {
                        if self.partial.len() > self.max_head {
                            return self.off();
                        }
                        return None;
                    }
                    let buf = std::mem::take(&mut self.partial);
                    let parsed = self.parse(&buf);
                    self.partial = buf;
                    match parsed {
                        Parsed::Complete(len, smuggled) => {
                            if self.mode == Mode::Off {
                                self.partial = Vec::new();
                            } else {
                                self.partial.clear();
                            }
                            if smuggled.is_some() {
                                return smuggled;
                            }
                            // `len > old`: the head was incomplete before these bytes.
                            data = &data[len - old..];
                        }
                        // Only empty lines before the request line so far.
                        Parsed::Partial if self.partial.len() <= self.max_head => return None,
                        Parsed::Partial | Parsed::Off => return self.off(),
                    }
                }
            }
        }
    }

    /// Parses the head at the start of `buf` and decides what follows it.
    fn parse(&mut self, buf: &[u8]) -> Parsed {
        let mut stack = [MaybeUninit::<httparse::Header<'_>>::uninit(); STACK_HEADERS];
        let mut heap;
        let slots = if self.max_headers <= STACK_HEADERS {
            &mut stack[..self.max_headers]
        } else {
            heap = vec![MaybeUninit::<httparse::Header<'_>>::uninit(); self.max_headers];
            &mut heap[..]
        };
        let mut request = httparse::Request::new(&mut []);
        let len = match request.parse_with_uninit_headers(buf, slots) {
            Ok(httparse::Status::Complete(len)) if len <= self.max_head => len,
            Ok(httparse::Status::Partial) => return Parsed::Partial,
            // Too large (hyper: 431), too many headers (431), malformed (400).
            Ok(httparse::Status::Complete(_)) | Err(_) => return Parsed::Off,
        };
        self.heads += 1;
        let mut content_length = None;
        let mut bad_length = false;
        let mut transfer_encoding = false;
        let mut upgrade = request.method == Some("CONNECT");
        for header in request.headers.iter() {
            let name = header.name.as_bytes();
            if name.eq_ignore_ascii_case(b"content-length") {
                match digits(header.value) {
                    Some(n) if content_length.is_none_or(|c| c == n) => content_length = Some(n),
                    _ => bad_length = true,
                }
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                transfer_encoding = true;
            } else if name.eq_ignore_ascii_case(b"upgrade") {
                upgrade = true;
            }
        }
        if transfer_encoding {
            self.mode = Mode::Off;
            let smuggled = content_length.is_some() || bad_length;
            return Parsed::Complete(len, smuggled.then_some(self.heads));
        }
        match content_length {
            _ if bad_length || upgrade => return Parsed::Off,
            // hyper's bound on a length (`DecodedLength::MAX_LEN`).
            Some(n) if n > u64::MAX - 2 => return Parsed::Off,
            Some(0) | None => self.mode = Mode::Head,
            Some(n) => self.mode = Mode::Skip(n),
        }
        Parsed::Complete(len, None)
    }
}

/// A `Content-Length` value as hyper reads it: decimal digits only, no sign, no list.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| match b {
        b'0'..=b'9' => n.checked_mul(10)?.checked_add(u64::from(b - b'0')),
        _ => None,
    })
}

/// Whether `buf[from..]` holds a blank line (`\r\n\r\n`, `\n\n` or `\n\r\n`), the end of a
/// head (the check hyper makes before it parses a head again).
fn may_end_head(buf: &[u8], from: usize) -> bool {
    let bytes = &buf[from..];
    bytes.iter().enumerate().any(|(i, &b)| match b {
        b'\r' => bytes[i + 1..].starts_with(b"\n\r\n"),
        b'\n' => bytes[i + 1..].starts_with(b"\n") || bytes[i + 1..].starts_with(b"\r\n"),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker() -> HeadTracker {
        HeadTracker::new(1024, 100)
    }

    const CL_TE: &[u8] =
        b"POST /a HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";

    #[test]
    fn a_plain_request_is_fine_and_the_next_head_is_expected() {
        let mut t = tracker();
        assert_eq!(t.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), None);
        assert_eq!((t.mode, t.heads), (Mode::Head, 1));
        assert_eq!(t.feed(CL_TE), Some(2));
        assert_eq!(t.mode, Mode::Off);
    }

    #[test]
    fn both_orders_of_the_two_headers_are_found() {
        let mut t = tracker();
        assert_eq!(t.feed(CL_TE), Some(1));
        let mut t = tracker();
        let te_first =
            b"POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n";
        assert_eq!(t.feed(te_first), Some(1));
    }

    #[test]
    fn a_content_length_body_is_skipped_even_when_it_looks_like_a_head() {
        let mut t = tracker();
        let body = b"x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
        let head = format!("POST /a HTTP/1.1\r\nContent-Length: {}\r\n\r\n", body.len());
        assert_eq!(t.feed(head.as_bytes()), None);
        assert_eq!(t.mode, Mode::Skip(body.len() as u64));
        for byte in body {
            assert_eq!(t.feed(&[*byte]), None);
        }
        assert_eq!((t.mode, t.heads), (Mode::Head, 1));
        assert_eq!(t.feed(CL_TE), Some(2));
    }

    #[test]
    fn a_head_split_into_single_bytes_is_followed() {
        let mut t = tracker();
        let stream = [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".as_slice(), CL_TE].concat();
        let mut found = None;
        for byte in &stream {
            if let Some(n) = t.feed(&[*byte]) {
                found = Some(n);
            }
        }
        assert_eq!(found, Some(2));
    }

    #[test]
    fn empty_lines_before_the_request_line_are_skipped_as_httparse_does() {
        let mut t = tracker();
        assert_eq!(t.feed(b"\r\n\r\n\nGET / HTTP/1.1\r\n\r\n"), None);
        assert_eq!((t.mode, t.heads), (Mode::Head, 1));
        for part in [
            &b"\r\n"[..],
            b"\r\n",
            b"\n",
            b"POST / HTTP/1.1\r\n",
            b"Content-Length: 1\r\n",
        ] {
            assert_eq!(t.feed(part), None);
        }
        assert_eq!(t.feed(b"Transfer-Encoding: chunked\r\n\r\n"), Some(2));
    }

    #[test]
    fn the_tracker_turns_off_where_the_stream_is_not_simple_to_follow() {
        for head in [
            &b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            b"CONNECT x:1 HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"GET / HTTP/1.1\r\nbad header\r\n\r\n",
        ] {
            let mut t = tracker();
            assert_eq!(t.feed(head), None, "{head:?}");
            assert_eq!(t.mode, Mode::Off, "{head:?}");
            assert_eq!(t.feed(CL_TE), None, "{head:?}");
        }
    }

    #[test]
    fn heads_past_the_limits_turn_it_off() {
        let mut t = HeadTracker::new(64, 2);
        assert_eq!(
            t.feed(b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n"),
            None
        );
        assert_eq!(t.mode, Mode::Off);
        let mut t = HeadTracker::new(64, 2);
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(100));
        assert_eq!(t.feed(long.as_bytes()), None);
        assert_eq!(t.mode, Mode::Off);
        let mut t = HeadTracker::new(64, 2);
        for byte in long.as_bytes() {
            t.feed(&[*byte]);
        }
        assert_eq!(t.mode, Mode::Off);
        assert!(t.partial.capacity() == 0);
    }

    #[test]
    fn more_headers_than_fit_on_the_stack_are_parsed() {
        let mut t = HeadTracker::new(1 << 16, 300);
        let mut head = b"POST / HTTP/1.1\r\n".to_vec();
        for i in 0..200 {
            head.extend_from_slice(format!("x-{i}: {i}\r\n").as_bytes());
        }
        head.extend_from_slice(b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(t.feed(&head), Some(1));
    }

    #[test]
    fn content_length_digits_are_read_as_hyper_reads_them() {
        assert_eq!(digits(b"0"), Some(0));
        assert_eq!(digits(b"12345"), Some(12345));
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b"1,1",
            b" 1",
            b"99999999999999999999999",
        ] {
            assert_eq!(digits(bad), None, "{bad:?}");
        }
    }
}
