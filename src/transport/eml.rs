//! RFC 5322 rendering of a message for the offered recipients (lettre's builder): headers,
//! a text body, attachments as MIME parts, a deterministic Message-ID and a Date.

use std::time::SystemTime;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::mapi::{Message, RecipientKind};

/// Renders `msg` for the rows `rows`, from `sender` (name, address).
///
/// # Errors
/// A text naming the address or part that could not be built.
pub fn render(msg: &Message, rows: &[u32], sender: &(String, String)) -> Result<Vec<u8>, String> {
    let from_addr = sender
        .1
        .parse()
        .map_err(|e| format!("sender address {:?}: {e}", sender.1))?;
    let from = Mailbox::new(Some(sender.0.clone()).filter(|n| !n.is_empty()), from_addr);
    let mut b = lettre::Message::builder()
        .from(from)
        .subject(msg.subject())
        .date(SystemTime::now())
        .message_id(Some(format!("<spoolbox.{}@spoolbox.local>", msg.entry_id)));
    let mut any = false;
    for row in rows {
        let Some(r) = msg.recipient(*row) else {
            continue;
        };
        let addr = r
            .email()
            .parse()
            .map_err(|e| format!("recipient address {:?}: {e}", r.email()))?;
        let name = Some(r.display_name().to_owned()).filter(|n| !n.is_empty() && n != r.email());
        let mb = Mailbox::new(name, addr);
        b = match r.kind() {
            RecipientKind::To => b.to(mb),
            RecipientKind::Cc => b.cc(mb),
            RecipientKind::Bcc => b.bcc(mb),
        };
        any = true;
    }
    if !any {
        return Err("no recipient to address".into());
    }
    let email = if msg.attachments.is_empty() {
        b.header(ContentType::TEXT_PLAIN).body(msg.body.clone())
    } else {
        let mut mp = MultiPart::mixed().singlepart(SinglePart::plain(msg.body.clone()));
        for a in &msg.attachments {
            let ct = ContentType::parse(&a.mime_type).unwrap_or(ContentType::TEXT_PLAIN);
            mp = mp.singlepart(Attachment::new(a.file_name.clone()).body(a.data.clone(), ct));
        }
        b.multipart(mp)
    }
    .map_err(|e| format!("could not build the message: {e}"))?;
    Ok(email.formatted())
}
