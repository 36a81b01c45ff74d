//! RFC 5322 in and out. Rendering (lettre's builder): headers, a text body, attachments as
//! MIME parts, a deterministic Message-ID and a Date. Import (mail-parser): an `.eml` file
//! becomes the parts of a draft, with recipients of address type `SMTP`, decoded encoded
//! words and charsets, and safe attachment file names.

mod file_name;
mod headers;
mod import;
mod render;
#[cfg(test)]
mod tests;

pub use file_name::{is_format_control, sanitise_file_name};
pub use headers::clean_header_text;
pub use import::{ImportError, Imported, MAX_IMPORT_BYTES, html_to_text, import};
pub use render::{RenderError, RenderOptions, Rendered, panic_text, render, render_with};
