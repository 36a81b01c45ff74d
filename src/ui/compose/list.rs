//! Lists of addresses typed or pasted into a recipient row.

use super::RowEdit;
use crate::mapi::RecipientKind;

/// Splits a pasted list (`a@x, "B" <b@y>; c@z` or one per line) into rows; `None` when the
/// text is a single address.
pub fn split_pasted(text: &str) -> Option<Vec<RowEdit>> {
    if !text.contains([',', ';', '\n']) {
        return None;
    }
    let rows = parse_list(text);
    (rows.len() > 1).then_some(rows)
}

/// The recipients in a list of addresses (`a@x.org, "B" <b@y.org>; c@z.org`), one row each.
pub fn parse_list(text: &str) -> Vec<RowEdit> {
    let mut rows = Vec::new();
    let mut quoted = false;
    let mut item = String::new();
    let mut items = Vec::new();
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                item.push(c);
            }
            ',' | ';' | '\n' | '\r' if !quoted => items.push(std::mem::take(&mut item)),
            _ => item.push(c),
        }
    }
    items.push(item);
    for it in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let (name, addr) = match (it.rfind('<'), it.rfind('>')) {
            (Some(a), Some(b)) if a < b => (
                it[..a].trim().trim_matches('"').trim().to_owned(),
                it[a + 1..b].trim().to_owned(),
            ),
            _ => (String::new(), it.to_owned()),
        };
        rows.push(RowEdit {
            name,
            address: addr,
            addrtype: "SMTP".into(),
            kind: Some(RecipientKind::To),
            got_original: None,
        });
    }
    rows
}
