//! Hostile clients, each cut off within its configured deadline while the server keeps
//! serving another client.

mod support;

use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use support::{MARGIN, TestServer, eventually, short};
use tachyon_server::Config;

/// Another client is served while (and after) the hostile one is handled.
fn still_serving(server: &TestServer) {
    let mut other = server.client();
    assert_eq!(other.get("/other").text(), "hello /other");
}

#[test]
fn slowloris_headers_are_cut_off_at_the_header_deadline() {
    let server = TestServer::start(short());
    let mut slow = server.client();
    let started = Instant::now();
    slow.send(b"GET / HTTP/1.1\r\n");
    let mut closed = false;
    // One header byte every 50 ms: never a complete head.
    for _ in 0..100 {
        if slow.stream.write_all(b"x").is_err() {
            closed = true;
            break;
        }
        still_serving(&server);
        if slow.closed_within(Duration::from_millis(50)) {
            closed = true;
            break;
        }
    }
    assert!(closed, "the slow client was never cut off");
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(200) + MARGIN,
        "cut off after {took:?}"
    );
    assert!(server.shared.paths().iter().all(|p| p == "/other"));
    still_serving(&server);
}

#[test]
fn a_connection_that_sends_nothing_is_cut_off_at_the_header_deadline() {
    let server = TestServer::start(short());
    let mut silent = server.client();
    still_serving(&server);
    assert!(silent.closed_within(Duration::from_millis(200) + MARGIN));
}

#[test]
fn a_stalled_body_is_answered_408_at_the_body_deadline() {
    let server = TestServer::start(short());
    let mut slow = server.client();
    let started = Instant::now();
    slow.send(b"POST /collect HTTP/1.1\r\nhost: test\r\ncontent-length: 100\r\n\r\n0123456789");
    still_serving(&server);
    let resp = slow.read_response(false).unwrap();
    assert_eq!(resp.status, 408);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(slow.closed_within(MARGIN));
    assert!(started.elapsed() < Duration::from_millis(200) + MARGIN);
    still_serving(&server);
}

#[test]
fn a_client_that_never_reads_is_cut_off_at_the_write_deadline() {
    let server = TestServer::start(short());
    let mut deaf = server.client();
    deaf.send(b"GET /forever HTTP/1.1\r\nhost: test\r\n\r\n");
    // It never reads: the socket buffers fill, the write stalls, the connection is closed and
    // the streamed body dropped.
    still_serving(&server);
    assert!(eventually(Duration::from_millis(200) + MARGIN, || {
        server.shared.streams_dropped.load(Ordering::SeqCst) == 1
    }));
    still_serving(&server);
    drop(deaf);
}

#[test]
fn oversized_headers_are_answered_431() {
    let server = TestServer::start(Config {
        max_header_size: 4096,
        ..short()
    });
    let mut client = server.client();
    client.send(
        format!(
            "GET / HTTP/1.1\r\nhost: test\r\nx-big: {}\r\n\r\n",
            "a".repeat(8192)
        )
        .as_bytes(),
    );
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 431);
    assert!(client.closed_within(MARGIN));
    assert!(server.shared.paths().is_empty());
    // Headers under the limit pass.
    let mut fine = server.client();
    fine.send(
        format!(
            "GET /fine HTTP/1.1\r\nhost: test\r\nx-big: {}\r\n\r\n",
            "a".repeat(3000)
        )
        .as_bytes(),
    );
    assert_eq!(fine.read_response(false).unwrap().text(), "hello /fine");
}

#[test]
fn too_many_headers_are_answered_431() {
    let server = TestServer::start(Config {
        max_headers: 10,
        ..short()
    });
    let mut client = server.client();
    let mut request = String::from("GET / HTTP/1.1\r\nhost: test\r\n");
    for i in 0..20 {
        request.push_str(&format!("x-h{i}: v\r\n"));
    }
    request.push_str("\r\n");
    client.send(request.as_bytes());
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 431);
    assert!(client.closed_within(MARGIN));
    assert!(server.shared.paths().is_empty());
    still_serving(&server);
}

#[test]
fn cl_te_smuggling_is_400_and_never_serves_the_smuggled_request() {
    let server = TestServer::start(short());
    let mut client = server.client();
    // Content-Length says the body runs past the smuggled request; Transfer-Encoding ends
    // it at once. The server refuses the request (as uvicorn does) and closes the
    // connection, so the bytes after it are never read as a request (more in smuggling.rs).
    let smuggled = "GET /smuggled HTTP/1.1\r\nhost: test\r\n\r\n";
    let body = format!("0\r\n\r\n{smuggled}");
    client.send(
        format!(
            "POST /collect HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\ntransfer-encoding: chunked\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 400, "{resp:?}");
    assert!(client.closed_within(MARGIN), "the connection stayed open");
    assert!(client.leftover().is_empty(), "a second response was sent");
    assert!(server.shared.paths().is_empty());
    still_serving(&server);
}

#[test]
fn a_transfer_encoding_that_is_not_chunked_is_answered_400() {
    let server = TestServer::start(short());
    let mut client = server.client();
    client.send(b"POST /collect HTTP/1.1\r\nhost: test\r\ntransfer-encoding: gzip\r\ncontent-length: 5\r\n\r\nhello");
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 400);
    assert!(server.shared.paths().is_empty());
}

#[test]
fn differing_content_lengths_are_answered_400() {
    let server = TestServer::start(short());
    let mut client = server.client();
    client.send(b"POST /collect HTTP/1.1\r\nhost: test\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!");
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 400);
    assert!(server.shared.paths().is_empty());
}

#[test]
fn an_invalid_request_line_is_answered_400() {
    let server = TestServer::start(short());
    for line in [
        "GET / HTTP/1.1 extra",
        "G E T / HTTP/1.1",
        "GET /\x01 HTTP/1.1",
        "NOT-HTTP",
    ] {
        let mut client = server.client();
        client.send(format!("{line}\r\nhost: test\r\n\r\n").as_bytes());
        let resp = client.read_response(false).unwrap();
        assert_eq!(resp.status, 400, "{line:?}");
        assert!(client.closed_within(MARGIN));
    }
    assert!(server.shared.paths().is_empty());
    still_serving(&server);
}

#[test]
fn a_malformed_chunked_body_is_answered_400() {
    let server = TestServer::start(short());
    for body in [
        // Not a hexadecimal size.
        &b"zz\r\nhello\r\n0\r\n\r\n"[..],
        // A chunk longer than its declared size.
        &b"3\r\nhello\r\n0\r\n\r\n"[..],
    ] {
        let mut client = server.client();
        let mut request =
            b"POST /collect HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        request.extend_from_slice(body);
        client.send(&request);
        let resp = client.read_response(false).unwrap();
        assert_eq!(resp.status, 400, "{:?}", String::from_utf8_lossy(body));
        assert_eq!(resp.header("connection"), Some("close"));
        assert!(client.closed_within(MARGIN));
    }
    still_serving(&server);
}
