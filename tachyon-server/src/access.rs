//! Access logging: one record per response the dispatcher gives.

use http::{Method, Request, StatusCode, Uri, Version};

use crate::body::RequestBody;
use crate::dispatch::{Dispatch, Peer, Reply};
use crate::proxy::Forwarded;
use crate::ws::WebSocket;

/// What an access log line says about one request: uvicorn's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRecord {
    /// The client as `host:port` (after proxy headers, see [`Forwarded`]); empty on a Unix
    /// socket.
    pub client: String,
    /// The request method.
    pub method: Method,
    /// The request target as received (path and query).
    pub uri: Uri,
    /// The HTTP version.
    pub version: Version,
    /// The response status.
    pub status: StatusCode,
}

/// Where access records go (a logger).
pub trait AccessSink: 'static {
    /// Records one answered request.
    fn log(&self, record: &AccessRecord);
}

impl<F: Fn(&AccessRecord) + 'static> AccessSink for F {
    fn log(&self, record: &AccessRecord) {
        self(record)
    }
}

/// A [`Dispatch`] that hands an [`AccessRecord`] to a sink for every response the inner
/// dispatcher gives, when it gives it (a pending response when it completes; one whose
/// client went away first is not recorded). Responses the server makes itself (400, 408,
/// 413, 431), including those that replace the dispatcher's when reading the body failed, are
/// not recorded, as under uvicorn. With no sink it costs one branch.
#[derive(Debug)]
pub struct AccessLog<D, S> {
    inner: D,
    sink: Option<std::rc::Rc<S>>,
}

impl<D, S> AccessLog<D, S> {
    /// Wraps `inner`; `sink` `None` turns access logging off.
    pub fn new(inner: D, sink: Option<S>) -> Self {
        AccessLog {
            inner,
            sink: sink.map(std::rc::Rc::new),
        }
    }
}

/// `host:port` of the request's client: a [`Forwarded`] client if any, else the peer.
fn client(request: &Request<RequestBody>, peer: &Peer) -> String {
    if let Some((host, port)) = request
        .extensions()
        .get::<Forwarded>()
        .and_then(|f| f.client.as_ref())
    {
        return format!("{host}:{port}");
    }
    match peer.remote {
        Some(addr) => format!("{}:{}", addr.ip(), addr.port()),
        None => String::new(),
    }
}

impl<D: Dispatch, S: AccessSink> Dispatch for AccessLog<D, S> {
    fn accepts_websockets(&self) -> bool {
        self.inner.accepts_websockets()
    }

    /// WebSocket handshakes are not logged (uvicorn logs them through its error logger).
    fn dispatch_websocket(&self, request: Request<()>, peer: &Peer, socket: WebSocket) {
        self.inner.dispatch_websocket(request, peer, socket)
    }

    fn dispatch(&self, request: Request<RequestBody>, peer: &Peer) -> Reply {
        let Some(sink) = &self.sink else {
            return self.inner.dispatch(request, peer);
        };
        let mut record = AccessRecord {
            client: client(&request, peer),
            method: request.method().clone(),
            uri: request.uri().clone(),
            version: request.version(),
            status: StatusCode::OK,
        };
        // A request whose body fails is answered by the server, not by this response.
        let faulted = request.body().watch_fault();
        match self.inner.dispatch(request, peer) {
            Reply::Ready(response) => {
                record.status = response.status();
                if !faulted() {
                    sink.log(&record);
                }
                Reply::Ready(response)
            }
            Reply::Pending(pending) => {
                let sink = sink.clone();
                Reply::pending(async move {
                    let response = pending.await;
                    record.status = response.status();
                    if !faulted() {
                        sink.log(&record);
                    }
                    response
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use http::Response;

    use super::*;
    use crate::body::ResponseBody;
    use crate::proxy::{ProxyHeaders, TrustedHosts};

    fn request(uri: &str, headers: &[(&'static str, &'static str)]) -> Request<RequestBody> {
        let mut builder = Request::get(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(RequestBody::empty()).unwrap()
    }

    #[test]
    fn records_ready_responses_with_the_forwarded_client() {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let sink = {
            let seen = seen.clone();
            move |r: &AccessRecord| seen.borrow_mut().push(r.clone())
        };
        let inner = |_: Request<RequestBody>, _: &Peer| {
            let mut response = Response::new(ResponseBody::from("x"));
            *response.status_mut() = StatusCode::CREATED;
            Reply::Ready(response)
        };
        let dispatch = ProxyHeaders::new(
            AccessLog::new(inner, Some(sink)),
            Some(TrustedHosts::parse("127.0.0.1")),
        );
        let peer = Peer {
            remote: Some("127.0.0.1:5000".parse().unwrap()),
            local: None,
        };
        let _ = dispatch.dispatch(request("/a?b=1", &[]), &peer);
        let _ = dispatch.dispatch(request("/c", &[("x-forwarded-for", "1.2.3.4")]), &peer);
        let seen = seen.borrow();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].client, "127.0.0.1:5000");
        assert_eq!(seen[0].uri, "/a?b=1");
        assert_eq!(seen[0].status, StatusCode::CREATED);
        assert_eq!(seen[1].client, "1.2.3.4:0");
    }
}
