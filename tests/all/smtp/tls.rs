//! TLS: STARTTLS and implicit TLS, with the certificate checked.

use super::*;

/// A CA and a server certificate for 127.0.0.1 signed by it (openssl), in `dir`.
pub(crate) fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let o = Proc::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("openssl: {e}; scripts/test.sh installs it"));
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=Spoolbox Test CA",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    run(&ca);
    let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    run(&csr);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
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
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

#[test]
fn starttls_and_implicit_tls_deliver_and_an_untrusted_certificate_is_refused() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certs(certs.path());
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    for (mode, flag) in [("starttls", "--starttls"), ("implicit", "--implicit-tls")] {
        let srv = Server::start(&[flag, cert, key]);
        let dir = fast_tempdir();
        let store = dir.path().join("store");
        let port = srv.port.to_string();
        ok(&spoolbox(
            &store,
            &[
                "profile",
                "set-smtp",
                "--host",
                "127.0.0.1",
                "--port",
                &port,
                "--tls",
                mode,
            ],
        ));
        // Roots that do not include the test CA (the system's, or here none at all): nothing
        // is sent, the message waits and says why, and there is no fallback to plain text.
        let empty = certs.path().join("no-roots.pem");
        std::fs::write(&empty, "").unwrap();
        let out = ok(&spoolbox_with(
            &store,
            &["send", "--all"],
            &[("SSL_CERT_FILE", empty.as_path())],
            None,
        ));
        assert!(
            out.contains("MAPI_E_NETWORK_ERROR") && out.to_lowercase().contains("certificate"),
            "{mode}: {out}"
        );
        assert!(srv.messages().is_empty(), "{mode}");
        // Trusting the test CA, the same queue goes out encrypted.
        let out = ok(&spoolbox_with(
            &store,
            &["send", "--all"],
            &[("SSL_CERT_FILE", ca.as_path())],
            None,
        ));
        let got = srv.messages();
        assert!(
            got.iter().any(|m| m["subject"] == "Quarterly report"),
            "{mode}: {out}\n{got:#?}"
        );
    }
}
