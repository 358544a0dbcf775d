//! HTTP/1.1 behaviour over real sockets with a fake dispatcher.

mod support;

use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::Duration;

use support::{Client, MARGIN, TestServer, eventually, short};
use tachyon_server::Config;

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = TestServer::start(Config::default());
    let mut client = server.client();
    for i in 0..5 {
        let resp = client.get(&format!("/n{i}"));
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), format!("hello /n{i}"));
        assert_eq!(resp.header("connection"), None);
    }
    assert_eq!(server.shared.paths(), ["/n0", "/n1", "/n2", "/n3", "/n4"]);
}

#[test]
fn head_sends_the_headers_without_the_body() {
    let server = TestServer::start(Config::default());
    let mut client = server.client();
    client.send(b"HEAD /page HTTP/1.1\r\nhost: test\r\n\r\n");
    let head = client.read_response(true).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("11"));
    // No body bytes follow: the next response starts right away.
    let next = client.get("/next");
    assert_eq!(next.text(), "hello /next");
    assert!(client.leftover().is_empty());
}

#[test]
fn chunked_request_body_is_decoded() {
    let server = TestServer::start(Config::default());
    let mut client = server.client();
    client.send(b"POST /collect HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    let resp = client.read_response(false).unwrap();
    let sum: u32 = b"abcde".iter().map(|&b| u32::from(b)).sum();
    assert_eq!(resp.text(), format!("len=5 sum={sum}"));
    // The connection stays usable.
    assert_eq!(client.get("/after").text(), "hello /after");
}

#[test]
fn streamed_response_is_chunked() {
    let server = TestServer::start(Config::default());
    let mut client = server.client();
    let resp = client.get("/stream/3");
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.header("content-length"), None);
    assert_eq!(resp.text(), "chunk0;chunk1;chunk2;");
    assert_eq!(client.get("/after").text(), "hello /after");
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let server = TestServer::start(Config::default());
    let mut client = server.client();
    client.send(b"POST /collect HTTP/1.1\r\nhost: test\r\ncontent-length: 4\r\nexpect: 100-continue\r\n\r\n");
    let interim = client.read_response(false).unwrap();
    assert_eq!(interim.status, 100);
    client.send(b"wxyz");
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 200);
    let sum: u32 = b"wxyz".iter().map(|&b| u32::from(b)).sum();
    assert_eq!(resp.text(), format!("len=4 sum={sum}"));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start(Config::default());
    let mut client = server.client();
    let paths = ["/a", "/pending/80", "/b", "/pending/1", "/pending/30", "/c"];
    let mut batch = String::new();
    for path in paths {
        batch.push_str(&format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n"));
    }
    client.send(batch.as_bytes());
    for path in paths {
        let resp = client.read_response(false).unwrap();
        let expected = if path.starts_with("/pending/") {
            path.to_owned()
        } else {
            format!("hello {path}")
        };
        assert_eq!(resp.text(), expected);
    }
    assert_eq!(server.shared.paths(), paths);
}

#[test]
fn pipelined_requests_with_pipeline_flush_are_answered_in_order() {
    let server = TestServer::start(Config {
        pipeline_flush: true,
        ..Config::default()
    });
    let mut client = server.client();
    client.send(b"GET /pending/20 HTTP/1.1\r\nhost: t\r\n\r\nGET /x HTTP/1.1\r\nhost: t\r\n\r\n");
    assert_eq!(client.read_response(false).unwrap().text(), "/pending/20");
    assert_eq!(client.read_response(false).unwrap().text(), "hello /x");
}

#[test]
fn large_upload_is_streamed_to_the_dispatcher() {
    let server = TestServer::start(Config {
        max_body_size: 16 * 1024 * 1024,
        ..Config::default()
    });
    let mut client = server.client();
    let len = 8 * 1024 * 1024;
    client.send(
        format!("POST /count HTTP/1.1\r\nhost: test\r\ncontent-length: {len}\r\n\r\n").as_bytes(),
    );
    let chunk = vec![7u8; 64 * 1024];
    for _ in 0..len / chunk.len() {
        client.stream.write_all(&chunk).unwrap();
    }
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 200);
    let text = resp.text();
    assert!(text.starts_with(&format!("len={len} frames=")), "{text}");
    let frames: usize = text.rsplit('=').next().unwrap().parse().unwrap();
    assert!(
        frames > 1,
        "the body came in {frames} frame(s): not streamed"
    );
    // And collected whole, under the limit.
    client.send(
        format!("POST /collect HTTP/1.1\r\nhost: test\r\ncontent-length: {len}\r\n\r\n").as_bytes(),
    );
    for _ in 0..len / chunk.len() {
        client.stream.write_all(&chunk).unwrap();
    }
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.text(), format!("len={len} sum={}", 7 * len));
}

#[test]
fn declared_body_over_the_limit_is_answered_413_without_dispatch() {
    let server = TestServer::start(Config {
        max_body_size: 1024,
        ..short()
    });
    let mut client = server.client();
    client.send(b"POST /collect HTTP/1.1\r\nhost: test\r\ncontent-length: 1025\r\n\r\n");
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 413);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(client.closed_within(MARGIN));
    assert!(server.shared.paths().is_empty());
}

#[test]
fn declared_body_over_the_limit_with_expect_is_refused_before_it_is_sent() {
    let server = TestServer::start(Config {
        max_body_size: 1024,
        ..short()
    });
    let mut client = server.client();
    client.send(b"POST /collect HTTP/1.1\r\nhost: test\r\ncontent-length: 5000\r\nexpect: 100-continue\r\n\r\n");
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 413);
}

#[test]
fn chunked_body_growing_past_the_limit_is_answered_413() {
    let server = TestServer::start(Config {
        max_body_size: 100_000,
        ..short()
    });
    let mut client = server.client();
    client.send(b"POST /collect HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n");
    let chunk = format!("{:x}\r\n{}\r\n", 10_000, "z".repeat(10_000));
    // 11 chunks of 10,000 bytes: past the limit; the body is never finished.
    for _ in 0..11 {
        client.send(chunk.as_bytes());
    }
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 413);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(client.closed_within(MARGIN));
    assert_eq!(server.shared.paths(), ["/collect"]);
}

#[test]
fn client_disconnect_mid_response_drops_the_stream() {
    let server = TestServer::start(Config::default());
    let mut client = server.client();
    client.send(b"GET /forever HTTP/1.1\r\nhost: test\r\n\r\n");
    let mut first = [0u8; 1024];
    std::io::Read::read_exact(&mut client.stream, &mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200 OK\r\n"));
    drop(client);
    assert!(eventually(MARGIN, || server
        .shared
        .streams_dropped
        .load(Ordering::SeqCst)
        == 1));
    // The server goes on serving.
    assert_eq!(server.client().get("/ok").text(), "hello /ok");
}

#[test]
fn client_disconnect_while_the_reply_is_pending_drops_it() {
    let server = TestServer::start(Config::default());
    let mut client = server.client();
    client.send(b"GET /pending/60000 HTTP/1.1\r\nhost: test\r\n\r\n");
    assert!(eventually(MARGIN, || server.shared.paths().len() == 1));
    drop(client);
    assert!(eventually(MARGIN, || server
        .shared
        .pending_dropped
        .load(Ordering::SeqCst)
        == 1));
    assert_eq!(server.client().get("/ok").text(), "hello /ok");
}

#[test]
fn a_dispatcher_panic_closes_only_its_connection() {
    let server = TestServer::start(Config::default());
    let mut other = server.client();
    assert_eq!(other.get("/before").status, 200);
    let mut client = server.client();
    client.send(b"GET /panic HTTP/1.1\r\nhost: test\r\n\r\n");
    assert!(client.read_response(false).is_err(), "a response was sent");
    assert_eq!(other.get("/after").text(), "hello /after");
    assert_eq!(server.client().get("/new").text(), "hello /new");
}

#[test]
fn keep_alive_connection_idle_past_its_timeout_is_closed() {
    let server = TestServer::start(Config {
        keep_alive_timeout: Duration::from_millis(200),
        ..Config::default()
    });
    let mut client = server.client();
    assert_eq!(client.get("/x").status, 200);
    assert!(client.closed_within(Duration::from_millis(200) + MARGIN));
}

#[test]
fn connections_beyond_the_cap_wait_until_one_closes() {
    let server = TestServer::start(Config {
        max_connections: 1,
        ..Config::default()
    });
    let mut first = server.client();
    assert_eq!(first.get("/first").status, 200);
    let mut second = Client::connect(server.addr);
    second.send(b"GET /second HTTP/1.1\r\nhost: test\r\n\r\n");
    // Not served while the first connection is open ...
    second
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let waited = second.read_response(false).unwrap_err();
    assert!(matches!(
        waited.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    assert_eq!(server.shared.paths(), ["/first"]);
    // ... and served once it closes.
    drop(first);
    second
        .stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(second.read_response(false).unwrap().text(), "hello /second");
}

#[test]
fn graceful_shutdown_finishes_the_request_in_flight() {
    let server = TestServer::start(Config::default());
    let mut idle = server.client();
    assert_eq!(idle.get("/idle").status, 200);
    let mut busy = server.client();
    busy.send(b"GET /pending/300 HTTP/1.1\r\nhost: test\r\n\r\n");
    assert!(eventually(MARGIN, || server.shared.paths().len() == 2));
    let addr = server.addr;
    server.shutdown.shutdown();
    let resp = busy.read_response(false).unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "/pending/300");
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(busy.closed_within(MARGIN));
    assert!(idle.closed_within(MARGIN));
    server.stop();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn graceful_shutdown_closes_what_is_still_running_at_its_deadline() {
    let server = TestServer::start(Config {
        shutdown_timeout: Duration::from_millis(200),
        ..Config::default()
    });
    let mut busy = server.client();
    busy.send(b"GET /pending/60000 HTTP/1.1\r\nhost: test\r\n\r\n");
    assert!(eventually(MARGIN, || server.shared.paths().len() == 1));
    let took = server.stop();
    assert!(
        took < Duration::from_millis(200) + MARGIN,
        "shutdown took {took:?}"
    );
    assert!(busy.closed_within(MARGIN));
    assert!(busy.leftover().is_empty(), "a response was sent");
}
