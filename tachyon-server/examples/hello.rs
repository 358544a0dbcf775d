//! Serves a constant `hello, world` on 127.0.0.1:8000 (or the address given as the first
//! argument) until SIGTERM or SIGINT: the target of wrk runs.
//!
//! `cargo run --release --example hello -p tachyon-server -- 127.0.0.1:8000`

use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Request, Response};
use tachyon_server::{Config, Listener, Peer, Reply, RequestBody, ResponseBody, TcpOptions};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let addr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = Listener::bind_tcp(addr, TcpOptions::default())?;
    let dispatch = |_request: Request<RequestBody>, _peer: &Peer| {
        let mut response = Response::new(ResponseBody::from("hello, world"));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Reply::Ready(response)
    };
    eprintln!("serving on http://{addr}");
    tachyon_server::serve(listener, dispatch, Config::default())
}
