//! The out-of-step check through TLS: a record that carries no data (a key update) is not
//! input, though its bytes wait on the socket; a reply nobody asked for, arriving as a TLS
//! record, is.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{Conn, Limits};

/// A CA and a certificate for 127.0.0.1 it signed (openssl, as the integration tests do).
fn certs(dir: &Path) {
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (scripts/test.sh installs it)");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    let ec: Vec<&str> = ec.split(' ').collect();
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=Wire Test CA"];
    ca.extend(&ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    run(&ca);
    let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
    csr.extend(&ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    run(&csr);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
}

#[test]
fn input_waiting_is_seen_through_tls_and_a_key_update_is_not_input() {
    let dir = tempfile::tempdir().unwrap();
    certs(dir.path());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.path().join("server.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(dir.path().join("server.key")).unwrap();
    let server = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    );
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(dir.path().join("ca.pem")).unwrap())
        .unwrap();
    let client = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let srv = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let conn = rustls::ServerConnection::new(server).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        tls.write_all(b"220 tls.test ESMTP\r\n").unwrap();
        tls.flush().unwrap();
        // A record without data (TLS 1.3 KeyUpdate): bytes on the socket, no input.
        go_rx.recv().unwrap();
        tls.conn.refresh_traffic_keys().unwrap();
        tls.flush().unwrap();
        done_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        tls.write_all(b"554 5.0.0 unasked\r\n").unwrap();
        tls.flush().unwrap();
        // Until the client closes.
        let mut rest = Vec::new();
        let _ = tls.read_to_end(&mut rest);
    });
    let mut c = Conn::connect(&[addr], Limits::default(), Some((&client, "127.0.0.1"))).unwrap();
    assert!(c.is_encrypted());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(c.unasked_input(), None, "a quiet TLS connection");
    go_tx.send(()).unwrap();
    done_rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(c.unasked_input(), None, "a KeyUpdate is no input");
    assert!(!c.has_broken());
    // The connection still works after it: the next reply reads.
    go_tx.send(()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let why = c.unasked_input().expect("the reply nobody asked for");
    assert!(
        why.contains("554 5.0.0 unasked") && why.contains("out of step"),
        "{why}"
    );
    assert!(c.has_broken(), "the connection is not used again");
    drop(c);
    srv.join().unwrap();
}
