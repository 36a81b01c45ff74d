//! What went over the wire: each hand-off's transcript and its exact bytes.

use super::*;

/// The trace's SMTP hand-offs (calls that carry a transcript).
pub(crate) fn wire_calls(m: &Message) -> Vec<spoolbox::mapi::TraceCall> {
    m.trace
        .iter()
        .filter(|c| c.call == "IXPLogon::SubmitMessage" && !c.transcript.is_empty())
        .cloned()
        .collect()
}

#[test]
fn an_smtp_hand_off_keeps_its_transcript_and_the_exact_bytes_the_server_got() {
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let eid = r.submit(
        "On the wire",
        &["ann@example.com", "reject-bob@example.com"],
    );
    r.run();
    let m = r.load(eid);
    let calls = wire_calls(&m);
    assert_eq!(calls.len(), 1, "one hand-off: {:#?}", m.trace);
    let t = calls[0].transcript.join("\n");
    // Greeting to the reply after the final dot, in order, with the server's words.
    let mut at = 0;
    for want in [
        "connected to 127.0.0.1:",
        "S: 220 ",
        "C: EHLO ",
        "S: 250-",
        "C: MAIL FROM:<sender@spoolbox.test>",
        "C: RCPT TO:<ann@example.com>",
        "C: RCPT TO:<reject-bob@example.com>",
        // Pipelined (the server offers PIPELINING): DATA goes out before the RCPT replies.
        "C: DATA",
        "S: 550 5.1.1",
        "S: 354 ",
        "C: (the message, ",
        "S: 250 ",
    ] {
        let found = t[at..].find(want).unwrap_or_else(|| {
            panic!("{want:?} missing (or out of order) in the transcript:\n{t}")
        });
        at += found + want.len();
    }
    assert!(
        !t.contains("Body of On the wire"),
        "the body is counted, not copied:\n{t}"
    );
    // A delivered recipient's report text is the server's reply to the final dot.
    let ann = m.recipient(0).unwrap();
    assert!(
        ann.report_text().is_some_and(|x| x.starts_with("250")),
        "{:?}",
        ann.report_text()
    );
    // The bytes the server received are kept beside the message, byte for byte.
    let kept = calls[0].bytes.clone().expect("the bytes are kept");
    assert!(kept.starts_with("sent/"), "{kept}");
    let bytes = std::fs::read(r.root().join(&kept)).unwrap();
    let got = srv.messages();
    let data = got[0]["data"].as_str().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&bytes).trim_end(),
        data.trim_end(),
        "the kept bytes are what the server got"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(r.root().join(&kept))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second message on the kept connection says so, and has its own transcript and bytes.
    let eid2 = r.submit("Second on the line", &["ann@example.com"]);
    r.run();
    let m2 = r.load(eid2);
    let c2 = wire_calls(&m2);
    assert_eq!(c2.len(), 1);
    assert!(
        c2[0].transcript[0].starts_with("(on the connection kept from an earlier message"),
        "{:#?}",
        c2[0].transcript
    );
    assert!(!c2[0].transcript.join("\n").contains("C: EHLO"));
    assert_ne!(c2[0].bytes, calls[0].bytes);
    // `spoolbox trace` prints it under the call; `spoolbox export` writes the kept bytes.
    let id = eid.to_string();
    let out_file = r.dir.path().join("exported.eml");
    let out_path = out_file.to_str().unwrap().to_owned();
    r.closed(|root| {
        let trace = ok(&spoolbox(root, &["trace", &id]));
        assert!(trace.contains("| +"), "{trace}");
        assert!(trace.contains("S: 550 5.1.1"), "{trace}");
        assert!(
            trace.contains(&format!("the bytes handed over: {kept}")),
            "{trace}"
        );
        let out = ok(&spoolbox(root, &["export", &id, &out_path]));
        assert!(out.contains("exact bytes"), "{out}");
    });
    assert_eq!(std::fs::read(&out_file).unwrap(), bytes);
}

#[test]
fn the_trace_tab_shows_an_smtp_hand_offs_transcript() {
    use egui_kittest::kittest::Queryable as _;
    let srv = Server::start(&[]);
    let mut r = Rig::new(smtp_profile("127.0.0.1", srv.port));
    let eid = r.submit("Transcript in the window", &["ann@example.com"]);
    r.run();
    assert_eq!(srv.messages().len(), 1);
    let root = r.root();
    drop(r.spooler.take());
    let mut h = crate::ui::app(&root);
    crate::ui::step_until(&mut h, "the store", |a| {
        a.model.summaries.contains_key(&eid)
    });
    let sent = h.state().model.folder_of(FolderKind::SentItems).unwrap();
    h.state_mut().model.folder = Some(sent);
    h.state_mut().model.invalidate_rows();
    h.run_steps(2);
    h.get_by_label("Transcript in the window").click();
    crate::ui::step_until(&mut h, "the detail", |a| {
        a.model.detail.as_ref().is_some_and(|m| m.entry_id == eid)
    });
    h.run_steps(1);
    h.get_by_label("Trace").click();
    h.run_steps(2);
    // Below the fold of the detail pane: scrolled to, then opened.
    h.get_by_label_contains("Transcript of hand-off 1")
        .scroll_to_me();
    h.run_steps(5);
    h.get_by_label_contains("Transcript of hand-off 1").click();
    // The header opens with an animation.
    h.run_steps(20);
    h.get_by_label_contains("S: 220 ");
    h.get_by_label_contains("C: MAIL FROM:<sender@spoolbox.test>");
    assert!(h.query_all_by_label_contains("S: 250 ").count() >= 1);
    h.get_by_label_contains("The bytes handed over are kept as sent/");
    // The Source tab shows those bytes, not a new rendering.
    h.get_by_label("Source").click();
    crate::ui::step_until(&mut h, "the source", |a| {
        a.model.source.as_ref().is_some_and(|s| s.eid == eid)
    });
    h.run_steps(2);
    h.get_by_label_contains("The exact bytes of the last hand-off");
    assert!(!h.state().model.source.as_ref().unwrap().preview);
}
