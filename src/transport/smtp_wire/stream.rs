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

    /// Reads what has already arrived, without waiting (the socket non-blocking for this one
    /// read): `Ok(None)` when nothing has. Through TLS, records already received but not yet
    /// decrypted count, and records that carry no data (a session ticket) do not.
    pub(super) fn read_now(&mut self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        let tcp = self
            .tcp()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotConnected))?;
        tcp.set_nonblocking(true)?;
        let r = self.read(buf);
        if let Some(t) = self.tcp() {
            t.set_nonblocking(false)?;
        }
        match r {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
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

/// Why TLS could not be set up for a connection.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The client's settings could not be built.
    #[error("TLS setup: {0}")]
    Setup(rustls::Error),
    /// The host cannot be checked against a certificate.
    #[error("{host} is not a valid host name")]
    HostName {
        /// The host as configured.
        host: String,
    },
    /// rustls refused to start the session.
    #[error("TLS: {0}")]
    Session(rustls::Error),
}

/// A client's TLS settings: the system's roots (`SSL_CERT_FILE` and `SSL_CERT_DIR` honoured,
/// as lettre did) and ring's crypto.
///
/// # Errors
/// [`TlsError::Setup`] saying why TLS could not be set up.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(TlsError::Setup)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `ServerName` for the certificate check.
fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_owned()).map_err(|_| TlsError::HostName {
        host: host.to_owned(),
    })
}

pub(super) fn tls_stream(
    tcp: TcpStream,
    config: &Arc<rustls::ClientConfig>,
    host: &str,
) -> Result<Stream, TlsError> {
    let conn = rustls::ClientConnection::new(Arc::clone(config), server_name(host)?)
        .map_err(TlsError::Session)?;
    Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))))
}
