//! The socket, plain or encrypted (rustls), and the client's TLS settings.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::ServerName;

/// The socket, plain or encrypted.
pub(super) enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    /// Only while switching to TLS.
    Gone,
}

impl Stream {
    pub(super) fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Self::Plain(s) => Some(s),
            Self::Tls(s) => Some(s.get_ref()),
            Self::Gone => None,
        }
    }

    pub(super) fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            Self::Tls(s) => s.read(buf),
            Self::Gone => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    pub(super) fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
            Self::Gone => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    pub(super) fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
            Self::Gone => Ok(()),
        }
    }
}

/// A client's TLS settings: the system's roots (`SSL_CERT_FILE` and `SSL_CERT_DIR` honoured,
/// as lettre did) and ring's crypto.
///
/// # Errors
/// A text saying why TLS could not be set up.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `ServerName` for the certificate check.
fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_owned()).map_err(|_| format!("{host} is not a valid host name"))
}

pub(super) fn tls_stream(
    tcp: TcpStream,
    config: &Arc<rustls::ClientConfig>,
    host: &str,
) -> Result<Stream, String> {
    let conn = rustls::ClientConnection::new(Arc::clone(config), server_name(host)?)
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))))
}
