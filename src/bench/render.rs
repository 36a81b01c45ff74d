//! Render benchmark (not a test): RFC 5322 rendering of a message to 10,000 and 40,000
//! recipients and of a 50 MB body, and the import of a 50 MB HTML-only file.
//! `spoolbox bench render` (issue 16: rendering must be linear in recipients and body size;
//! target 40,000 recipients under 1 s in a release build).

use std::time::Instant;

use anyhow::{Result, anyhow};

use crate::eml;
use crate::mapi::{EntryId, Message, Recipient, RecipientKind};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// A message to `n` recipients, half with plain names, a quarter with names that need
/// quoting, a quarter with names in encoded words.
fn to_many(n: u32) -> Message {
    let mut m = Message::draft(EntryId(1), EntryId(2), "Render benchmark");
    m.body = "Hello,\nthis is the body.\n".into();
    for i in 0..n {
        let name = match i % 4 {
            0 | 1 => format!("Person {i}"),
            2 => format!("Smith, John {i}"),
            _ => format!("Zoë Łódź {i}"),
        };
        let kind = if i % 3 == 0 {
            RecipientKind::Cc
        } else {
            RecipientKind::To
        };
        m.recipients.push(Recipient::new(
            i,
            &name,
            &format!("r{i}@example.com"),
            "SMTP",
            kind,
        ));
    }
    m
}

fn time<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<f64> {
    let mut v = Vec::new();
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        f()?;
        v.push(t0.elapsed().as_secs_f64());
    }
    Ok(median(v))
}

/// Prints the render figures.
///
/// # Errors
/// A message that does not render.
pub fn run(runs: usize) -> Result<()> {
    let runs = runs.max(1);
    let sender = ("Bench".to_owned(), "bench@example.com".to_owned());
    let mut per = Vec::new();
    for n in [10_000u32, 40_000] {
        let m = to_many(n);
        let rows: Vec<u32> = (0..n).collect();
        let mut size = 0;
        let secs = time(runs, || {
            let b = eml::render(&m, &rows, &sender).map_err(|e| anyhow!(e))?;
            size = b.len();
            Ok(())
        })?;
        per.push(secs / f64::from(n));
        println!(
            "render: {n} recipients: {:.0} ms, {:.1} MB (median of {runs}; target 40,000 under 1 s)",
            secs * 1000.0,
            size as f64 / 1e6
        );
    }
    if let [a, b] = per.as_slice() {
        println!(
            "render: time per recipient at 40,000 / at 10,000: {:.2} (1 is linear, 4 quadratic)",
            b / a
        );
    }
    // 50 MB of text in lines of 72 characters.
    let line = "The quick brown fox jumps over the lazy dog, again and again, and again.\n";
    let mut m = Message::draft(EntryId(1), EntryId(2), "Large body");
    m.body = line.repeat(50_000_000 / line.len());
    m.recipients.push(Recipient::new(
        0,
        "Ann",
        "ann@example.com",
        "SMTP",
        RecipientKind::To,
    ));
    let secs = time(runs, || {
        eml::render(&m, &[0], &sender).map_err(|e| anyhow!(e))
    })?;
    println!(
        "render: a {:.0} MB text body: {:.0} ms (median of {runs})",
        m.body.len() as f64 / 1e6,
        secs * 1000.0
    );
    // A 50 MB HTML-only file imported (turned into text) and rendered.
    let mut html = String::from(
        "From: a@example.com\r\nTo: Ann <ann@example.com>\r\nSubject: html\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>\r\n",
    );
    let para = "<div>The quick brown fox jumps over the <b>lazy</b> dog &amp; again.</div>\r\n";
    html.push_str(&para.repeat(50_000_000 / para.len()));
    html.push_str("</body></html>\r\n");
    let mut imported = None;
    let secs = time(runs, || {
        imported = Some(eml::import(html.as_bytes())?);
        Ok(())
    })?;
    println!(
        "import: a {:.0} MB HTML-only file: {:.0} ms (median of {runs})",
        html.len() as f64 / 1e6,
        secs * 1000.0
    );
    let Some(i) = imported else {
        return Ok(());
    };
    let mut m = Message::draft(EntryId(1), EntryId(2), &i.subject);
    m.body = i.body;
    m.recipients = i.recipients;
    let secs = time(runs, || {
        eml::render(&m, &[0], &sender).map_err(|e| anyhow!(e))
    })?;
    println!(
        "render: that HTML-only message ({:.0} MB of text): {:.0} ms (median of {runs})",
        m.body.len() as f64 / 1e6,
        secs * 1000.0
    );
    Ok(())
}
