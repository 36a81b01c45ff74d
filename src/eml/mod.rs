//! RFC 5322 in and out. Rendering (lettre's builder): headers, a text body, attachments as
//! MIME parts, a deterministic Message-ID and a Date. Import (mail-parser): an `.eml` file
//! becomes the parts of a draft, with recipients of address type `SMTP`, decoded encoded
//! words and charsets, and safe attachment file names. Reports (NDR, DR) render as RFC 3464
//! `multipart/report` (report, dsn, mime).

mod dsn;
mod file_name;
mod headers;
mod import;
mod mime;
mod render;
mod report;
#[cfg(test)]
mod tests;

pub use dsn::{SmtpReply, diag_for_smtp, recipient_status, smtp_reply, status_for_diag};
pub use file_name::{
    is_format_control, is_portable_file_name, is_windows_device_name, sanitise_file_name,
};
pub use headers::{clean_header_text, with_ascii_domain};
pub use import::{ImportError, Imported, MAX_IMPORT_BYTES, html_to_text, import};
pub use render::{RenderError, RenderOptions, Rendered, panic_text, render, render_with};
pub use report::{DEFAULT_REPORTING_HOST, is_delivery_report, message_id};
