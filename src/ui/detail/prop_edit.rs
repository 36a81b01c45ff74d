//! The Properties tab's typed editor for one property of a draft: text, a whole number, a
//! boolean, a time, flags as check boxes (and enumerations as a list) where `mapi::flags`
//! names them, hex for binary. What is typed is checked here; a value that does not fit the
//! property's type is refused with the reason, and nothing is saved.

use egui::{RichText, Ui};
use jiff::Timestamp;

use super::super::theme;
use crate::mapi::flags::{
    self, FlagKind, MAPI_P1, MAPI_SUBMITTED, MSGFLAG_READ, MSGFLAG_SUBMIT, MSGFLAG_UNSENT,
};
use crate::mapi::tags::{self, PropTag};
use crate::mapi::{EntryId, PropValue};
use crate::ui::settings::validate::Invalid;

/// The editor's state: the property being edited, if any.
#[derive(Debug, Default)]
pub struct PropsEdit {
    /// What is being edited.
    pub editing: Option<Editing>,
}

/// One property being edited.
#[derive(Clone, Debug, PartialEq)]
pub struct Editing {
    /// The draft.
    pub eid: EntryId,
    /// `None`: a message property; `Some(row)`: that recipient row's.
    pub row: Option<u32>,
    /// The property.
    pub tag: PropTag,
    /// What is typed (text, a number, a time, hex).
    pub text: String,
    /// A boolean's value.
    pub flag: bool,
    /// A flag word's or an enumeration's bits.
    pub bits: u32,
    /// Why the last Save was refused.
    pub error: Option<String>,
}

/// How a property is edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    Boolean,
    Time,
    Double,
    Binary,
    /// Bits with names: a check box each.
    Bits(FlagKind),
    /// One named value of a list.
    Enum(FlagKind),
    /// `PR_RECIPIENT_TYPE`: To, Cc or Bcc, with the `MAPI_P1` and `MAPI_SUBMITTED` bits.
    RecipientType,
}

fn kind_of(tag: PropTag) -> Option<Kind> {
    let flag_kind = tags::lookup(tag).map_or(FlagKind::None, |d| d.flags);
    Some(match tag.prop_type() {
        tags::PT_UNICODE | tags::PT_STRING8 => Kind::Text,
        tags::PT_BOOLEAN => Kind::Boolean,
        tags::PT_SYSTIME => Kind::Time,
        tags::PT_DOUBLE => Kind::Double,
        tags::PT_BINARY => Kind::Binary,
        tags::PT_SHORT | tags::PT_I8 => Kind::Integer,
        tags::PT_LONG => match flag_kind {
            FlagKind::None => Kind::Integer,
            FlagKind::RecipientType => Kind::RecipientType,
            FlagKind::ResourceType
            | FlagKind::NdrReason
            | FlagKind::Priority
            | FlagKind::DeferredSendUnits
            | FlagKind::ObjectType => Kind::Enum(flag_kind),
            k => Kind::Bits(k),
        },
        _ => return None,
    })
}

/// Why this property of a draft cannot be edited here, if it cannot.
pub fn fixed(tag: PropTag) -> Option<String> {
    let why = match tag {
        t if t == tags::PR_ENTRYID || t == tags::PR_PARENT_ENTRYID => "set by the store",
        t if t == tags::PR_SUBMIT_FLAGS => "the spooler's: set on submit, absent on a draft",
        t if t == tags::PR_ROWID => "the row's number in the recipient table",
        t if kind_of(t).is_none() => {
            return Some(format!("no editor for {}", tags::type_name(t.prop_type())));
        }
        _ => return None,
    };
    Some(why.to_owned())
}

/// A time as the editor shows and reads it.
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

impl Editing {
    /// Starts editing `tag` (of the message, or of recipient `row`) at its value.
    pub fn start(eid: EntryId, row: Option<u32>, tag: PropTag, value: &PropValue) -> Self {
        let text = match value {
            PropValue::Unicode(s) | PropValue::String8(s) => s.clone(),
            PropValue::Short(n) => n.to_string(),
            PropValue::Long(n) => n.to_string(),
            PropValue::I8(n) => n.to_string(),
            PropValue::Double(n) => n.to_string(),
            PropValue::SysTime(t) => t.strftime(TIME_FORMAT).to_string(),
            PropValue::Binary(b) => crate::mapi::value::hex(b),
            other => other.to_string(),
        };
        Self {
            eid,
            row,
            tag,
            text,
            flag: matches!(value, PropValue::Boolean(true)),
            bits: value.as_u32().unwrap_or(0),
            error: None,
        }
    }

    /// The value to save, or why what is typed is refused.
    ///
    /// # Errors
    /// [`Invalid`]: a sentence naming what is wrong and what is expected.
    pub fn value(&self) -> Result<PropValue, Invalid> {
        self.parse_value().map_err(Invalid)
    }

    fn parse_value(&self) -> Result<PropValue, String> {
        let ty = tags::type_name(self.tag.prop_type());
        let t = self.text.trim();
        Ok(match kind_of(self.tag) {
            None => return Err(format!("no editor for {ty}")),
            Some(Kind::Text) if self.tag.prop_type() == tags::PT_STRING8 => {
                PropValue::String8(self.text.clone())
            }
            Some(Kind::Text) => PropValue::Unicode(self.text.clone()),
            Some(Kind::Boolean) => PropValue::Boolean(self.flag),
            Some(Kind::Bits(_) | Kind::Enum(_) | Kind::RecipientType) => {
                PropValue::Long(self.bits.cast_signed())
            }
            Some(Kind::Integer) => {
                let n = parse_integer(t)?;
                let range = |lo: i64, hi: i64| {
                    if (lo..=hi).contains(&n) {
                        Ok(n)
                    } else {
                        Err(format!("{n} does not fit {ty} ({lo} to {hi})"))
                    }
                };
                match self.tag.prop_type() {
                    tags::PT_SHORT => PropValue::Short(
                        i16::try_from(range(i64::from(i16::MIN), i64::from(i16::MAX))?)
                            .unwrap_or(0),
                    ),
                    tags::PT_LONG => {
                        // Flag words above 0x7FFFFFFF are written as unsigned numbers too.
                        let n = range(i64::from(i32::MIN), i64::from(u32::MAX))?;
                        PropValue::Long(
                            i32::try_from(n)
                                .unwrap_or_else(|_| u32::try_from(n).unwrap_or(0).cast_signed()),
                        )
                    }
                    _ => PropValue::I8(n),
                }
            }
            Some(Kind::Double) => match t.parse::<f64>() {
                Ok(x) if x.is_finite() => PropValue::Double(x),
                _ => return Err(format!("\"{t}\" is not a number (such as 2.5)")),
            },
            Some(Kind::Time) => PropValue::SysTime(parse_time(t)?),
            Some(Kind::Binary) => {
                let digits: String = t
                    .trim_start_matches("0x")
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let bytes =
                    crate::mapi::value::unhex(&digits.to_ascii_uppercase()).ok_or_else(|| {
                        "not hex: give an even number of digits 0-9 and A-F".to_owned()
                    })?;
                PropValue::Binary(bytes)
            }
        })
    }
}

/// A whole number, decimal or `0x` hex.
fn parse_integer(t: &str) -> Result<i64, String> {
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => t.parse::<i64>().ok(),
    };
    parsed.ok_or_else(|| format!("\"{t}\" is not a whole number (such as 42 or 0x2A)"))
}

/// A time in UTC: "2025-01-31 14:05:00", or RFC 3339 with an offset.
fn parse_time(t: &str) -> Result<Timestamp, String> {
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    jiff::civil::DateTime::strptime(TIME_FORMAT, t)
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| format!("\"{t}\" is not a time: write it as 2025-01-31 14:05:00 (UTC)"))
}

/// What the editor asks for: save the value, or stop editing.
#[derive(Debug, PartialEq)]
pub enum Done {
    /// Save this value.
    Save(PropValue),
    /// Stop editing.
    Cancel,
}

/// Draws the editor for `e` (in the Value cell of its row): the value's widget with Save
/// and Cancel beside it, and why the last Save was refused below.
pub fn editor_ui(ui: &mut Ui, e: &mut Editing) -> Option<Done> {
    let mut done = None;
    ui.vertical(|ui| {
        let kind = kind_of(e.tag);
        if let Some(Kind::Bits(k)) = kind {
            bits_ui(ui, e, k);
        }
        ui.horizontal(|ui| {
            match kind {
                Some(Kind::Boolean) => {
                    ui.checkbox(&mut e.flag, "TRUE");
                }
                Some(Kind::Bits(_)) => {
                    ui.label(RichText::new(format!("0x{:08X}", e.bits)).color(theme::muted(ui)));
                }
                Some(Kind::Enum(k)) => enum_ui(ui, e, k),
                Some(Kind::RecipientType) => recipient_type_ui(ui, e),
                Some(k) => {
                    let label = ui.label("New value");
                    let hint = match k {
                        Kind::Time => "2025-01-31 14:05:00 (UTC)",
                        Kind::Binary => "hex, such as 0000000000000003",
                        Kind::Integer => "a whole number",
                        _ => "",
                    };
                    ui.add(
                        egui::TextEdit::singleline(&mut e.text)
                            .hint_text(hint)
                            .desired_width(240.0),
                    )
                    .labelled_by(label.id);
                }
                None => {}
            }
            if ui.button("Save property").clicked() {
                match e.value() {
                    Ok(v) => done = Some(Done::Save(v)),
                    Err(why) => e.error = Some(why.0),
                }
            }
            if ui.button("Cancel").clicked() {
                done = Some(Done::Cancel);
            }
        });
        if let Some(why) = &e.error {
            ui.label(RichText::new(format!("Not saved: {why}")).color(theme::bad(ui)));
        }
    });
    done
}

/// A check box per named bit, three to a row; bits the store keeps on a draft are shown, not
/// changed.
fn bits_ui(ui: &mut Ui, e: &mut Editing, k: FlagKind) {
    let store_owned = if e.tag == tags::PR_MESSAGE_FLAGS {
        MSGFLAG_SUBMIT | MSGFLAG_UNSENT | MSGFLAG_READ
    } else {
        0
    };
    egui::Grid::new(("prop-bits", e.tag.0, e.row))
        .num_columns(3)
        .show(ui, |ui| {
            for (i, &(bit, name)) in flags::names(k).iter().enumerate() {
                let mut on = e.bits & bit != 0;
                let owned = store_owned & bit != 0;
                let r = ui.add_enabled(!owned, egui::Checkbox::new(&mut on, name));
                let r = match flags::flag_doc(name) {
                    Some(doc) => r.on_hover_text(doc),
                    None => r,
                };
                r.on_disabled_hover_text(
                    "Set by the store: a draft keeps MSGFLAG_UNSENT; MSGFLAG_SUBMIT and MSGFLAG_READ come with submitting and sending",
                );
                if on {
                    e.bits |= bit;
                } else {
                    e.bits &= !bit;
                }
                if i % 3 == 2 {
                    ui.end_row();
                }
            }
        });
}

/// One value of an enumeration.
fn enum_ui(ui: &mut Ui, e: &mut Editing, k: FlagKind) {
    egui::ComboBox::from_id_salt(("prop-enum", e.tag.0, e.row))
        .selected_text(flags::decode(k, e.bits))
        .show_ui(ui, |ui| {
            for &(v, name) in flags::names(k) {
                ui.selectable_value(&mut e.bits, v, name);
            }
        });
}

/// To, Cc or Bcc (or the originator), and the resend bits.
fn recipient_type_ui(ui: &mut Ui, e: &mut Editing) {
    let bits = MAPI_P1 | MAPI_SUBMITTED;
    let mut low = e.bits & !bits;
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt(("prop-rtype", e.row))
            .selected_text(flags::decode(FlagKind::RecipientType, low))
            .show_ui(ui, |ui| {
                for &(v, name) in flags::names(FlagKind::RecipientType)
                    .iter()
                    .filter(|(v, _)| v & bits == 0)
                {
                    ui.selectable_value(&mut low, v, name);
                }
            });
        for (bit, name) in [(MAPI_P1, "MAPI_P1"), (MAPI_SUBMITTED, "MAPI_SUBMITTED")] {
            let mut on = e.bits & bit != 0;
            let r = ui.checkbox(&mut on, name);
            if let Some(doc) = flags::flag_doc(name) {
                r.on_hover_text(doc);
            }
            e.bits = if on { e.bits | bit } else { e.bits & !bit };
        }
    });
    e.bits = (e.bits & bits) | low;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    fn typed(tag: PropTag, text: &str) -> Result<PropValue, String> {
        let mut e = Editing::start(EntryId(1), None, tag, &PropValue::Long(0));
        e.text = text.into();
        e.value().map_err(|e| e.0)
    }

    #[test]
    fn integers_times_and_hex_are_checked() {
        let n = tags::PR_DEFERRED_SEND_NUMBER;
        assert_eq!(typed(n, " 42 "), Ok(PropValue::Long(42)));
        assert_eq!(typed(n, "0x10"), Ok(PropValue::Long(16)));
        assert!(typed(n, "12x").unwrap_err().contains("not a whole number"));
        assert!(
            typed(n, "99999999999")
                .unwrap_err()
                .contains("does not fit PT_LONG")
        );
        let t = typed(tags::PR_DEFERRED_SEND_TIME, "2031-02-03 04:05:06").unwrap();
        assert_eq!(
            t,
            PropValue::SysTime("2031-02-03T04:05:06Z".parse().unwrap())
        );
        assert!(typed(tags::PR_DEFERRED_SEND_TIME, "tomorrow").is_err());
        assert_eq!(
            typed(tags::PR_SENTMAIL_ENTRYID, "00 00 00 00 00 00 00 03"),
            Ok(PropValue::Binary(vec![0, 0, 0, 0, 0, 0, 0, 3]))
        );
        assert!(typed(tags::PR_SENTMAIL_ENTRYID, "ABC").is_err());
    }

    #[test]
    fn store_and_spooler_properties_are_not_edited() {
        assert!(fixed(tags::PR_ENTRYID).is_some());
        assert!(fixed(tags::PR_SUBMIT_FLAGS).is_some());
        assert!(fixed(tags::PR_SUBJECT).is_none());
        assert!(fixed(PropTag::new(0x6A00, tags::PT_MV_LONG)).is_some());
    }
}
