//! Requests with both `Content-Length` and `Transfer-Encoding` (request smuggling) are
//! answered `400` with `connection: close`, without calling the dispatcher, wherever they
//! come in a keep-alive connection that has sent only requests without a chunked body.

mod support;

use support::{Client, MARGIN, TestServer, short};

const CL_TE: &str = "POST /collect HTTP/1.1\r\nhost: test\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n";
const TE_CL: &str = "POST /collect HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n";

/// Reads the `400` the server answers a CL+TE request with, and the close that follows.
fn refused(client: &mut Client) {
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 400, "{resp:?}");
    assert_eq!(resp.header("connection"), Some("close"));
    assert_eq!(resp.text(), "Bad Request");
    assert!(client.closed_within(MARGIN), "the connection stayed open");
    assert!(client.leftover().is_empty(), "more was sent after the 400");
}

#[test]
fn content_length_before_transfer_encoding_is_400() {
    let server = TestServer::start(short());
    let mut client = server.client();
    client.send(CL_TE.as_bytes());
    refused(&mut client);
    assert!(
        server.shared.paths().is_empty(),
        "the dispatcher was called"
    );
}

#[test]
fn transfer_encoding_before_content_length_is_400() {
    let server = TestServer::start(short());
    let mut client = server.client();
    client.send(TE_CL.as_bytes());
    refused(&mut client);
    assert!(
        server.shared.paths().is_empty(),
        "the dispatcher was called"
    );
}

#[test]
fn pipelined_after_a_get_the_get_is_answered_then_400() {
    let server = TestServer::start(short());
    let mut client = server.client();
    client.send(format!("GET /first HTTP/1.1\r\nhost: test\r\n\r\n{CL_TE}").as_bytes());
    let first = client.read_response(false).unwrap();
    assert_eq!((first.status, first.text()), (200, "hello /first"));
    refused(&mut client);
    assert_eq!(server.shared.paths(), ["/first"]);
}

#[test]
fn pipelined_after_a_content_length_post_the_post_is_answered_then_400() {
    let server = TestServer::start(short());
    let mut client = server.client();
    client.send(
        format!("POST /collect HTTP/1.1\r\nhost: test\r\ncontent-length: 5\r\n\r\nhello{TE_CL}")
            .as_bytes(),
    );
    let first = client.read_response(false).unwrap();
    assert_eq!((first.status, first.text()), (200, "len=5 sum=532"));
    refused(&mut client);
    assert_eq!(server.shared.paths(), ["/collect"]);
}

#[test]
fn heads_sent_one_byte_at_a_time_are_followed() {
    let server = TestServer::start(short());
    let mut client = server.client();
    client.stream.set_nodelay(true).unwrap();
    let stream = format!(
        "\r\nGET /first HTTP/1.1\r\nhost: test\r\n\r\nPOST /collect HTTP/1.1\r\nhost: test\r\ncontent-length: 3\r\n\r\nabc{CL_TE}"
    );
    for byte in stream.as_bytes() {
        client.send(&[*byte]);
    }
    let first = client.read_response(false).unwrap();
    assert_eq!((first.status, first.text()), (200, "hello /first"));
    let second = client.read_response(false).unwrap();
    assert_eq!((second.status, second.text()), (200, "len=3 sum=294"));
    refused(&mut client);
    assert_eq!(server.shared.paths(), ["/first", "/collect"]);
}

#[test]
fn a_body_that_reads_like_a_cl_te_head_is_only_a_body() {
    let server = TestServer::start(short());
    let mut client = server.client();
    let body = "POST /x HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
    let sum: u32 = body.bytes().map(u32::from).sum();
    for split in [false, true] {
        let request = format!(
            "POST /collect HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if split {
            // The body in pieces that each begin like a head.
            let (head, rest) = request.split_at(request.len() - body.len());
            client.send(head.as_bytes());
            for piece in rest.split_inclusive("\r\n") {
                client.send(piece.as_bytes());
            }
        } else {
            client.send(request.as_bytes());
        }
        let resp = client.read_response(false).unwrap();
        assert_eq!(resp.status, 200, "{resp:?}");
        assert_eq!(resp.text(), format!("len={} sum={sum}", body.len()));
        assert_eq!(resp.header("connection"), None);
    }
    // The connection is still open and serving.
    assert_eq!(client.get("/after").text(), "hello /after");
    assert_eq!(server.shared.paths(), ["/collect", "/collect", "/after"]);
}

#[test]
fn after_a_chunked_request_a_cl_te_request_is_read_by_transfer_encoding_then_closed() {
    // The documented limit: a chunked body is not followed, so a later CL+TE request on the
    // same connection is hyper's to handle (read by Transfer-Encoding, then the connection
    // is closed). Nothing is smuggled either way.
    let server = TestServer::start(short());
    let mut client = server.client();
    let smuggled = "GET /smuggled HTTP/1.1\r\nhost: test\r\n\r\n";
    client.send(
        format!(
            "POST /collect HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
             POST /collect HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}",
            5 + smuggled.len()
        )
        .as_bytes(),
    );
    let first = client.read_response(false).unwrap();
    assert_eq!((first.status, first.text()), (200, "len=3 sum=294"));
    let second = client.read_response(false).unwrap();
    assert_eq!((second.status, second.text()), (200, "len=0 sum=0"));
    assert!(client.closed_within(MARGIN), "the connection stayed open");
    assert!(client.leftover().is_empty(), "a third response was sent");
    assert_eq!(server.shared.paths(), ["/collect", "/collect"]);
}

#[test]
fn a_head_past_the_size_limit_is_still_431() {
    let server = TestServer::start(tachyon_server::Config {
        max_header_size: 1024,
        ..short()
    });
    let mut client = server.client();
    let big = "a".repeat(2000);
    client.send(
        format!("GET / HTTP/1.1\r\nhost: test\r\nx-big: {big}\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n")
            .as_bytes(),
    );
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 431, "{resp:?}");
}
