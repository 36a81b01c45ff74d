//! The recipient checks a client makes before `SubmitMessage` (and the composer as you type),
//! and `ExpandRecips`' list expansion.

use std::collections::HashSet;

use crate::mapi::Recipient;

/// The personal distribution list address type, expanded at submit.
pub const ADDRTYPE_PDL: &str = "MAPIPDL";

/// Checks a recipient row a client is about to submit; `None` when it is fine.
pub fn validate_recipient(r: &Recipient) -> Option<String> {
    let (addr, ty) = (r.email().trim(), r.addrtype().trim());
    if addr.is_empty() {
        return Some(format!("recipient {:?} has no address", r.display_name()));
    }
    if ty.is_empty() {
        return Some(format!(
            "recipient {addr:?} has no address type (PR_ADDRTYPE)"
        ));
    }
    if ty.eq_ignore_ascii_case("SMTP") && !is_smtp_address(addr) {
        return Some(format!(
            "{addr:?} is not a valid SMTP address (expected local-part@domain)"
        ));
    }
    None
}

/// What the composer refuses as you type, beyond [`validate_recipient`] (which is what
/// `SubmitMessage` checks): a FAX number that is not a number would only fail at the fax
/// preprocessor, so the window says so at once.
pub fn compose_problem(r: &Recipient) -> Option<String> {
    if let Some(why) = validate_recipient(r) {
        return Some(format!("MAPI_E_INVALID_PARAMETER: {why}"));
    }
    let addr = r.email().trim();
    if r.addrtype().trim().eq_ignore_ascii_case("FAX") {
        let digits = addr.chars().filter(char::is_ascii_digit).count();
        let odd = addr
            .chars()
            .any(|c| !(c.is_ascii_digit() || " +-()./".contains(c)));
        if odd || digits < 5 {
            return Some(format!(
                "MAPI_E_INVALID_PARAMETER: {addr:?} is not a fax number (digits, spaces and + - ( ) . / only, at least 5 digits)"
            ));
        }
    }
    None
}

/// A conservative check of `local@domain` (no spaces, one `@`, a dotted or `localhost` domain).
pub fn is_smtp_address(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',' || c == ';')
        && !local.contains('@')
        && domain.split('.').all(|p| !p.is_empty())
        && (domain.contains('.') || domain.eq_ignore_ascii_case("localhost"))
}

/// Expands `MAPIPDL` rows and drops duplicates (same address type and address).
///
/// A personal distribution list row keeps its members in `PR_EMAIL_ADDRESS` as
/// `Name=TYPE:address; TYPE:address; ...`.
pub fn expand_recipients(rows: &[Recipient]) -> Vec<Recipient> {
    let mut out: Vec<Recipient> = Vec::new();
    let mut seen = HashSet::new();
    let mut next_row = rows.iter().map(|r| r.row_id + 1).max().unwrap_or(0);
    let mut push = |r: Recipient, out: &mut Vec<Recipient>| {
        let key = (
            r.addrtype().to_ascii_uppercase(),
            r.email().trim().to_ascii_lowercase(),
            r.is_p1(),
        );
        if seen.insert(key) {
            out.push(r);
        }
    };
    for r in rows {
        if r.addrtype().eq_ignore_ascii_case(ADDRTYPE_PDL) {
            for member in r
                .email()
                .split(';')
                .map(str::trim)
                .filter(|m| !m.is_empty())
            {
                let (name, rest) = member
                    .split_once('=')
                    .map_or(("", member), |(n, a)| (n.trim(), a.trim()));
                let (ty, addr) = rest.split_once(':').unwrap_or(("SMTP", rest));
                let mut m = Recipient::new(
                    next_row,
                    if name.is_empty() { addr } else { name },
                    addr,
                    ty.trim(),
                    r.kind(),
                );
                m.props
                    .set_flags(crate::mapi::tags::PR_RECIPIENT_TYPE, r.recipient_type());
                next_row += 1;
                push(m, &mut out);
            }
        } else {
            push(r.clone(), &mut out);
        }
    }
    out
}
