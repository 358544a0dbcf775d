//! TLS: rustls (ring provider) over each accepted connection, from a PEM certificate chain
//! and private key (uvicorn's `--ssl-certfile` / `--ssl-keyfile`).

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// What a server needs to speak TLS on its connections: set [`Config::tls`](crate::Config::tls).
///
/// HTTP/1.1 is offered through ALPN; TLS 1.2 and 1.3 with rustls' safe defaults. The
/// handshake must finish within the server's header read deadline
/// ([`Config::header_read_timeout`](crate::Config::header_read_timeout)), else the connection
/// is closed.
#[derive(Clone)]
pub struct Tls {
    pub(crate) acceptor: tokio_rustls::TlsAcceptor,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tls(..)")
    }
}

fn invalid(what: impl fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl Tls {
    /// From the PEM files of a certificate chain (leaf first) and of its private key
    /// (PKCS#8, PKCS#1 or SEC1). Errors say which file is wrong and why.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Tls> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let chain = std::fs::read(cert)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", cert.display())))?;
        let secret = std::fs::read(key)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", key.display())))?;
        Tls::from_pem(&chain, &secret)
    }

    /// From PEM text: a certificate chain (leaf first) and its private key.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> io::Result<Tls> {
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(format!("certificate: {e}")))?;
        if chain.is_empty() {
            return Err(invalid("certificate: no PEM certificate found"));
        }
        let key =
            PrivateKeyDer::from_pem_slice(key).map_err(|e| invalid(format!("private key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(invalid)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        })
    }
}
