//! Attachment file names safe to write anywhere.

/// True for the invisible characters that reorder or shape text (bidirectional embeddings,
/// overrides and isolates, directional marks, zero-width joiners, the BOM): a right-to-left
/// override makes `evil\u{202e}fdp.exe` read as `evilexe.pdf`.
pub fn is_format_control(c: char) -> bool {
    matches!(c,
        '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
            | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// A file name safe to write anywhere: the last path component only (either slash), no
/// control characters (nor bidirectional or other invisible format ones), no leading dots (so never `..` or a hidden file), no `..` inside,
/// at most 200 characters; `fallback` when nothing is left.
pub fn sanitise_file_name(name: &str, fallback: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut s: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_format_control(*c))
        .map(|c| {
            if matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    while s.contains("..") {
        s = s.replace("..", ".");
    }
    let s = s.trim().trim_start_matches('.').trim();
    let s: String = s.chars().take(200).collect();
    if s.is_empty() { fallback.to_owned() } else { s }
}
