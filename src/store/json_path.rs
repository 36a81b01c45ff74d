//! Where in a JSON text a parse error stands: the field's path (`profile.transports[0].kind.
//! port`) and the value there, found by one flat walk over the bytes (no recursion, so a
//! value nested 100,000 deep costs a loop, never the stack); and taking one member out of
//! the text, so a `store.json` whose profile holds one unreadable value can be read without
//! it (`doctor --fix`, after asking).
//!
//! `serde_json` says where it stopped (line and column) but not in which field; `store.json`
//! is the user's, and what is wrong in it must be said so it can be found and fixed.

/// One level of nesting: an object (with the key whose value is being read, and where that
/// member starts) or an array (with the index, and where that element starts).
#[derive(Clone, Debug)]
enum Frame {
    Object {
        key: Option<String>,
        /// Where the current member's key starts.
        member_start: usize,
    },
    Array {
        index: usize,
        /// Where the current element starts.
        element_start: usize,
    },
}

/// Where an error stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Spot {
    /// The field's path, cut short when deep (`profile.hooks[0][0]…(127 more)`).
    pub path: String,
    /// The value at the error, as written (cut short), or `[…]`/`{…}` for a container.
    pub value: String,
    /// The innermost member with a key: its span in the text (key to the end of its value),
    /// for [`remove_member`].
    keyed: Option<(usize, usize)>,
    /// The innermost array element or member (the whole value at the path's end).
    innermost: Option<(usize, usize)>,
}

/// The byte offset just after `line`:`column` (both from 1, as `serde_json` counts).
pub(super) fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match bytes[start..].iter().position(|b| *b == b'\n') {
            Some(i) => start += i + 1,
            None => return bytes.len(),
        }
    }
    // The column counts characters; store.json is checked to be UTF-8 before this.
    let rest = std::str::from_utf8(&bytes[start..]).unwrap_or_default();
    let within = rest
        .char_indices()
        .nth(column)
        .map_or(rest.len(), |(i, _)| i);
    (start + within).min(bytes.len())
}

/// The end (exclusive) of the string starting at `i` (a `"`).
fn string_end(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// The end (exclusive) of the value starting at `i`, without recursion.
fn value_end(b: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = string_end(b, i);
                if depth == 0 {
                    return i;
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b',' if depth == 0 => return i,
            c if depth == 0 && c.is_ascii_whitespace() && i > start => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

fn next_non_ws(b: &[u8], mut i: usize) -> Option<u8> {
    while i < b.len() {
        if !b[i].is_ascii_whitespace() {
            return Some(b[i]);
        }
        i += 1;
    }
    None
}

/// The longest path shown in full; deeper ones show their start and how many more levels.
const SHOWN_LEVELS: usize = 8;

/// Where in `b` the byte `at` (exclusive: what was read before the error) stands. For a
/// missing field (`missing`) the place is the object that lacks it, not its last member.
pub(super) fn spot(b: &[u8], at: usize, missing: bool) -> Spot {
    let mut at = at.min(b.len());
    if missing && at > 0 && b[at - 1] == b'}' {
        // `serde_json` stops after the brace of the object lacking the field: that object.
        at -= 1;
    }
    let mut stack: Vec<Frame> = Vec::new();
    // Where each open container starts, beside `stack`.
    let mut opened: Vec<usize> = Vec::new();
    let mut last: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < at {
        match b[i] {
            b'"' => {
                let end = string_end(b, i);
                let is_key = matches!(stack.last(), Some(Frame::Object { .. }))
                    && next_non_ws(b, end) == Some(b':');
                if is_key {
                    if let Some(Frame::Object { key, member_start }) = stack.last_mut() {
                        *key = serde_json::from_slice::<String>(&b[i..end]).ok();
                        *member_start = i;
                    }
                } else {
                    last = Some((i, end));
                }
                i = end;
                continue;
            }
            b'{' => {
                opened.push(i);
                stack.push(Frame::Object {
                    key: None,
                    member_start: i,
                });
                // A container's end is found only if it is shown (see `describe`).
                last = Some((i, usize::MAX));
            }
            b'[' => {
                opened.push(i);
                stack.push(Frame::Array {
                    index: 0,
                    element_start: next_element(b, i + 1),
                });
                last = Some((i, usize::MAX));
            }
            b'}' | b']' => {
                stack.pop();
                // Stopped right after a container: that container is the value.
                last = opened.pop().map(|o| (o, i + 1));
            }
            b',' => {
                if let Some(Frame::Array {
                    index,
                    element_start,
                }) = stack.last_mut()
                {
                    *index += 1;
                    *element_start = next_element(b, i + 1);
                }
                last = None;
            }
            c if c.is_ascii_whitespace() || c == b':' => {}
            _ => {
                let end = value_end(b, i);
                last = Some((i, end));
                i = end.max(i + 1);
                continue;
            }
        }
        i += 1;
    }
    if missing && let Some(Frame::Object { key, .. }) = stack.last_mut() {
        *key = None;
        last = None;
    }
    describe(b, &stack, last)
}

fn next_element(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn describe(b: &[u8], stack: &[Frame], last: Option<(usize, usize)>) -> Spot {
    let parts: Vec<String> = stack
        .iter()
        .filter_map(|f| match f {
            Frame::Object { key: Some(k), .. } => Some(format!(".{k}")),
            Frame::Object { key: None, .. } => None,
            Frame::Array { index, .. } => Some(format!("[{index}]")),
        })
        .collect();
    let mut path = if parts.len() > SHOWN_LEVELS {
        format!(
            "{}…({} more levels)",
            parts[..SHOWN_LEVELS].concat(),
            parts.len() - SHOWN_LEVELS
        )
    } else {
        parts.concat()
    };
    if path.starts_with('.') {
        path.remove(0);
    }
    if path.is_empty() {
        path = "(the whole file)".into();
    }
    let value = last.map_or_else(String::new, |(s, e)| {
        // A container is shown whole when short: its end is looked for that far only.
        let e = if e == usize::MAX {
            let near = &b[..b.len().min(s + 64)];
            value_end(near, s)
        } else {
            e
        };
        let text = String::from_utf8_lossy(&b[s..e.min(b.len())]);
        match text.as_bytes().first() {
            Some(b'{') if text.len() > 40 => "{…}".into(),
            Some(b'[') if text.len() > 40 => "[…]".into(),
            _ if text.chars().count() > 60 => {
                format!("{}…", text.chars().take(60).collect::<String>())
            }
            _ => text.into_owned(),
        }
    });
    let member = |f: &Frame| match f {
        Frame::Object {
            key: Some(_),
            member_start,
        } => Some(*member_start),
        Frame::Array { element_start, .. } => Some(*element_start),
        Frame::Object { key: None, .. } => None,
    };
    let span = |start: usize| {
        let colon_or_start = if b.get(start) == Some(&b'"') {
            let k = string_end(b, start);
            let mut v = k;
            while v < b.len() && (b[v].is_ascii_whitespace() || b[v] == b':') {
                v += 1;
            }
            v
        } else {
            start
        };
        (start, value_end(b, colon_or_start))
    };
    let keyed = stack.iter().rev().find_map(|f| match f {
        Frame::Object {
            key: Some(_),
            member_start,
        } => Some(span(*member_start)),
        _ => None,
    });
    let innermost = stack.iter().rev().find_map(member).map(span);
    Spot {
        path,
        value,
        keyed,
        innermost,
    }
}

/// The value a `serde_json` message quotes (the 70000 of "integer `70000`", the "x" of
/// `string "x"`), as JSON writes it.
fn quoted_value(message: &str) -> Option<String> {
    for kind in ["integer `", "floating point `", "boolean `"] {
        if let Some(rest) = message.split_once(kind).map(|(_, r)| r) {
            return rest.split_once('`').map(|(v, _)| v.to_owned());
        }
    }
    let rest = message.split_once("string \"")?.1;
    rest.split_once('"').map(|(v, _)| format!("\"{v}\""))
}

/// `at` made exact for an error `serde_json` reports after the end of the object it read
/// whole first (an internally tagged enum, like a transport's `kind`, and the braces closed
/// right after it): the nearest value before `end` that is the one `message` quotes.
pub(super) fn refine(b: &[u8], at: Spot, end: usize, message: &str) -> Spot {
    let Some(literal) = quoted_value(message) else {
        return at;
    };
    if at.value == literal {
        return at;
    }
    let lit = literal.as_bytes();
    let end = end.min(b.len());
    let mut i = end.saturating_sub(lit.len());
    loop {
        let after = b.get(i + lit.len()).copied();
        if b[i..].starts_with(lit)
            && matches!(
                b[..i].iter().rev().find(|c| !c.is_ascii_whitespace()),
                Some(b':' | b'[' | b',')
            )
            && after.is_none_or(|c| c.is_ascii_whitespace() || b",}]".contains(&c))
        {
            return spot(b, i + lit.len(), false);
        }
        if i == 0 {
            return at;
        }
        i -= 1;
    }
}

/// `b` without the member or element `span` covers (and the comma that separated it).
fn cut(b: &[u8], (start, end): (usize, usize)) -> Vec<u8> {
    let mut after = end;
    while after < b.len() && b[after].is_ascii_whitespace() {
        after += 1;
    }
    let (from, to) = if b.get(after) == Some(&b',') {
        (start, after + 1)
    } else {
        // The last one: the comma before it goes.
        let mut before = start;
        while before > 0 && b[before - 1].is_ascii_whitespace() {
            before -= 1;
        }
        if before > 0 && b[before - 1] == b',' {
            (before - 1, end)
        } else {
            (start, end)
        }
    };
    let mut out = b[..from].to_vec();
    out.extend_from_slice(&b[to..]);
    out
}

/// `b` without the member the error at `spot` is in: the innermost keyed member (its field
/// then takes its default), or for a missing field the object lacking it (`missing`).
/// `None` when there is nothing to take out.
pub(super) fn remove_member(b: &[u8], spot: &Spot, missing: bool) -> Option<Vec<u8>> {
    let span = if missing { spot.innermost } else { spot.keyed }?;
    (span.1 > span.0).then(|| cut(b, span))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn err_spot(text: &str) -> Spot {
        let e = serde_json::from_str::<serde_json::Value>(text)
            .err()
            .or_else(|| serde_json::from_str::<Typed>(text).err())
            .unwrap();
        let missing = e.to_string().starts_with("missing field");
        spot(
            text.as_bytes(),
            offset_of(text.as_bytes(), e.line(), e.column()),
            missing,
        )
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code, reason = "read only for its errors")]
    struct Typed {
        profile: Inner,
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code, reason = "read only for its errors")]
    struct Inner {
        name: String,
        #[serde(default)]
        list: Vec<Port>,
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code, reason = "read only for its errors")]
    struct Port {
        #[serde(default)]
        port: u16,
    }

    #[test]
    fn an_out_of_range_value_is_found_by_its_path() {
        let text = "{\n  \"profile\": {\n    \"name\": \"a,b\",\n    \"list\": [{\"port\": 1}, {\"port\": 70000}]\n  }\n}";
        let s = err_spot(text);
        assert_eq!(s.path, "profile.list[1].port");
        assert_eq!(s.value, "70000");
        let fixed = remove_member(text.as_bytes(), &s, false).unwrap();
        let t: Typed = serde_json::from_slice(&fixed).unwrap();
        assert_eq!(t.profile.list.len(), 2);
        assert_eq!(t.profile.name, "a,b");
    }

    #[test]
    fn deep_nesting_is_walked_without_recursion_and_cut_out_whole() {
        let depth = 100_000;
        let text = format!(
            "{{\"profile\": {{\"list\": {}{}, \"name\": \"x\"}}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let s = err_spot(&text);
        assert!(s.path.starts_with("profile.list[0][0]"), "{}", s.path);
        assert!(s.path.contains("more levels"), "{}", s.path);
        let fixed = remove_member(text.as_bytes(), &s, false).unwrap();
        let t: Typed = serde_json::from_slice(&fixed).unwrap();
        assert_eq!(t.profile.name, "x");
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code, reason = "read only for its errors")]
    struct Tagged {
        kind: Kind,
    }

    #[derive(serde::Deserialize)]
    #[serde(tag = "type")]
    #[allow(dead_code, reason = "read only for its errors")]
    enum Kind {
        Smtp { port: u16, timeout: u64 },
    }

    #[test]
    fn an_error_reported_at_the_end_of_a_tagged_enum_is_found_in_it() {
        let text = r#"{"kind": {"type": "Smtp", "port": 70000, "timeout": 1800}}"#;
        let e = serde_json::from_str::<Tagged>(text).err().unwrap();
        let end = offset_of(text.as_bytes(), e.line(), e.column());
        let at = spot(text.as_bytes(), end, false);
        let at = refine(text.as_bytes(), at, end, &e.to_string());
        assert_eq!(
            (at.path.as_str(), at.value.as_str()),
            ("kind.port", "70000")
        );
    }

    #[test]
    fn a_missing_field_points_at_the_object_lacking_it() {
        let text = "{\"profile\": {\"list\": []}}";
        let s = err_spot(text);
        assert_eq!(s.path, "profile");
    }
}
