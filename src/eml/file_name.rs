//! Attachment file names safe to write anywhere.

/// True for the invisible characters that reorder or shape text (bidirectional embeddings,
/// overrides and isolates, directional marks, zero-width joiners, the BOM): a right-to-left
/// override makes `evil\u{202e}fdp.exe` read as `evilexe.pdf`.
pub fn is_format_control(c: char) -> bool {
    matches!(c,
        '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
            | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// True for a name Windows reserves for a device, whatever its extension or case: `CON`,
/// `PRN`, `AUX`, `NUL`, `COM0`-`COM9`, `LPT0`-`LPT9` (and the superscript digits ¹²³ Windows
/// treats as digits there), so `aux.eml` or `Con.txt` open the device, not a file. Windows
/// also ignores spaces before the extension (`NUL .txt`).
pub fn is_windows_device_name(name: &str) -> bool {
    let stem = name
        .split('.')
        .next()
        .unwrap_or_default()
        .trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => {
            let (Some(head), Some(tail)) = (upper.get(..3), upper.get(3..)) else {
                return false;
            };
            matches!(head, "COM" | "LPT")
                && matches!(tail.chars().collect::<Vec<_>>().as_slice(),
                    [c] if c.is_ascii_digit() || matches!(c, '¹' | '²' | '³'))
        }
    }
}

/// A file name safe to write anywhere, on every platform (so a store or a folder of saved
/// attachments can be copied to Windows): the last path component only (either slash), no
/// control characters (nor bidirectional or other invisible format ones), none of Windows'
/// `<>:"|?*` (each becomes `_`), no leading dots (so never `..` or a hidden file), no `..`
/// inside, no trailing dot or space (Windows drops them, so `a.txt.` would be `a.txt`), never
/// a Windows device name (`aux.eml` becomes `_aux.eml`), at most 200 characters; `fallback`
/// when nothing is left.
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
    let s = s.trim_end_matches(['.', ' ']);
    if s.is_empty() {
        fallback.to_owned()
    } else if is_windows_device_name(s) {
        format!("_{s}")
    } else {
        s.to_owned()
    }
}

/// True when `name` can be created as is on Windows, Linux and macOS: what
/// [`sanitise_file_name`] leaves unchanged.
pub fn is_portable_file_name(name: &str) -> bool {
    !name.is_empty() && sanitise_file_name(name, "") == name
}
