//! The simulated fax transport (SPEC section 3): address type FAX, a registered preprocessor
//! that renders a cover page into the message (and `RemovePreprocessInfo` strips it again),
//! numbers matching a pattern that fail for good, busy lines, and per-recipient latency.

use std::time::Duration;

use super::{Handoff, Preprocessed, RowOutcome, SubmitView, Transport};
use crate::mapi::{Attachment, Message};
use crate::profile::FaxSettings;

/// The cover page's file name; `RemovePreprocessInfo` removes exactly this attachment.
pub const COVER_PAGE: &str = "FaxCoverPage.txt";

/// A fax modem that never dials.
#[derive(Debug)]
pub struct FaxTransport {
    name: String,
    types: Vec<String>,
    settings: FaxSettings,
}

impl FaxTransport {
    /// A fax transport with these settings.
    pub fn new(name: &str, types: &[String], settings: FaxSettings) -> Self {
        Self {
            name: name.to_owned(),
            types: types.to_vec(),
            settings,
        }
    }
}

fn digits(s: &str) -> usize {
    s.chars().filter(char::is_ascii_digit).count()
}

impl Transport for FaxTransport {
    fn remote(&self) -> bool {
        true
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn address_types(&self) -> &[String] {
        &self.types
    }

    fn has_preprocessor(&self) -> bool {
        true
    }

    fn preprocess(&mut self, msg: &mut Message, rows: &[u32]) -> Preprocessed {
        let mut out = Preprocessed::default();
        for row in rows {
            if let Some(r) = msg.recipient(*row)
                && digits(r.email()) < 5
            {
                out.rejected.push((
                    *row,
                    format!("{:?} is not a fax number (fewer than 5 digits)", r.email()),
                ));
            }
        }
        let to: Vec<String> = rows
            .iter()
            .filter_map(|r| msg.recipient(*r))
            .map(crate::mapi::Recipient::label)
            .collect();
        let cover = format!(
            "FAX COVER PAGE\n\nTo: {}\nSubject: {}\nPages: {}\n",
            to.join(", "),
            msg.subject(),
            1 + msg.body.lines().count() / 50
        );
        msg.attachments.retain(|a| a.file_name != COVER_PAGE);
        msg.attachments.push(Attachment {
            file_name: COVER_PAGE.into(),
            mime_type: "text/plain".into(),
            data: cover.into_bytes(),
        });
        out.note = format!("rendered {COVER_PAGE} for {} recipient(s)", rows.len());
        out
    }

    fn remove_preprocess_info(&mut self, msg: &mut Message) -> String {
        let before = msg.attachments.len();
        msg.attachments.retain(|a| a.file_name != COVER_PAGE);
        if msg.attachments.len() < before {
            format!("removed {COVER_PAGE}")
        } else {
            "nothing to remove".into()
        }
    }

    fn submit_message(&mut self, view: &SubmitView<'_>) -> Handoff {
        let mut outcomes = Vec::new();
        for row in &view.rows {
            let Some(r) = view.msg.recipient(*row) else {
                continue;
            };
            if self.settings.latency_ms > 0 {
                std::thread::sleep(Duration::from_millis(self.settings.latency_ms));
            }
            let number = r.email();
            if let Some(pat) = self.settings.fail_numbers.as_deref()
                && !pat.is_empty()
                && number.contains(pat)
            {
                outcomes.push((
                    *row,
                    RowOutcome::Failed(format!(
                        "fax to {number}: number not in service (no carrier)"
                    )),
                ));
                continue;
            }
            // The message's own attempt count decides, so a restart does not reset the line.
            let attempt = view.msg.spool.attempts;
            if attempt < self.settings.busy_times {
                outcomes.push((
                    *row,
                    RowOutcome::Transient(format!(
                        "fax to {number}: line busy (attempt {} of {})",
                        attempt + 1,
                        self.settings.busy_times + 1
                    )),
                ));
                continue;
            }
            outcomes.push((
                *row,
                RowOutcome::Delivered(format!("fax to {number}: transmitted, CSID OK")),
            ));
        }
        Handoff::sent(outcomes)
    }
}
