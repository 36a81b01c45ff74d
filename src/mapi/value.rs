//! Property values and the property bag that messages, recipients and the store keep.
//!
//! On disk a bag is a JSON object keyed by canonical name (`"PR_SUBJECT"`), or by the hex tag
//! for properties the catalogue does not know (`"0x6A01001F"`), so unknown properties survive
//! a round trip. The JSON value's shape follows the tag's property type, which keeps the files
//! readable: numbers for `PT_LONG`, `true`/`false` for `PT_BOOLEAN`, RFC 3339 text for
//! `PT_SYSTIME`, upper-case hex for `PT_BINARY`.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;

use super::tags::{self, PropTag};

/// Why a property value or a property set could not be read from its JSON form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The JSON has another shape than the property type wants.
    #[error("expected a {} value, found {found}", tags::type_name(*.ty))]
    Shape {
        /// The property type.
        ty: u16,
        /// The JSON found.
        found: String,
    },
    /// A `PT_SYSTIME` text that is not a time.
    #[error("expected a {} value, found {found}: {reason}", tags::type_name(*.ty))]
    Time {
        /// The property type.
        ty: u16,
        /// The JSON found.
        found: String,
        /// Why it is not a time.
        reason: String,
    },
    /// A property type this build does not read.
    #[error("property type 0x{0:04X} is not supported")]
    UnsupportedType(u16),
    /// A property set that is not a JSON object.
    #[error("a property set must be a JSON object")]
    NotAnObject,
    /// A key that is neither a catalogue name nor a hex tag.
    #[error("unknown property name {0:?}")]
    UnknownName(String),
    /// One property of a set has a value of the wrong shape.
    #[error("{key}: {error}")]
    Property {
        /// The property's key.
        key: String,
        /// What is wrong with its value.
        error: Box<ValueError>,
    },
}

/// One typed MAPI property value.
#[derive(Clone, Debug, PartialEq)]
pub enum PropValue {
    /// `PT_SHORT`
    Short(i16),
    /// `PT_LONG` (flags are read as `u32` through [`PropValue::as_u32`]).
    Long(i32),
    /// `PT_DOUBLE`
    Double(f64),
    /// `PT_ERROR`: an `SCODE` standing in for a value that could not be read.
    Error(u32),
    /// `PT_BOOLEAN`
    Boolean(bool),
    /// `PT_I8`
    I8(i64),
    /// `PT_STRING8`
    String8(String),
    /// `PT_UNICODE`
    Unicode(String),
    /// `PT_SYSTIME`
    SysTime(Timestamp),
    /// `PT_CLSID`
    Clsid([u8; 16]),
    /// `PT_BINARY`
    Binary(Vec<u8>),
    /// `PT_MV_LONG`
    MvLong(Vec<i32>),
    /// `PT_MV_UNICODE`
    MvUnicode(Vec<String>),
    /// `PT_MV_BINARY`
    MvBinary(Vec<Vec<u8>>),
}

impl PropValue {
    /// The `PT_*` type code this value has.
    pub fn prop_type(&self) -> u16 {
        match self {
            Self::Short(_) => tags::PT_SHORT,
            Self::Long(_) => tags::PT_LONG,
            Self::Double(_) => tags::PT_DOUBLE,
            Self::Error(_) => tags::PT_ERROR,
            Self::Boolean(_) => tags::PT_BOOLEAN,
            Self::I8(_) => tags::PT_I8,
            Self::String8(_) => tags::PT_STRING8,
            Self::Unicode(_) => tags::PT_UNICODE,
            Self::SysTime(_) => tags::PT_SYSTIME,
            Self::Clsid(_) => tags::PT_CLSID,
            Self::Binary(_) => tags::PT_BINARY,
            Self::MvLong(_) => tags::PT_MV_LONG,
            Self::MvUnicode(_) => tags::PT_MV_UNICODE,
            Self::MvBinary(_) => tags::PT_MV_BINARY,
        }
    }

    /// The bits of a `PT_LONG`, as MAPI's flag properties are unsigned.
    #[expect(clippy::cast_sign_loss, reason = "flag properties are bit patterns")]
    pub fn as_u32(&self) -> Option<u32> {
        match self {
            Self::Long(v) => Some(*v as u32),
            _ => None,
        }
    }

    /// Converts the value to its JSON form (see the module docs).
    pub fn to_json(&self) -> Json {
        match self {
            Self::Short(v) => Json::from(*v),
            Self::Long(v) => Json::from(*v),
            Self::Double(v) => Json::from(*v),
            Self::Error(v) => Json::from(format!("0x{v:08X}")),
            Self::Boolean(v) => Json::from(*v),
            Self::I8(v) => Json::from(*v),
            Self::String8(v) | Self::Unicode(v) => Json::from(v.as_str()),
            Self::SysTime(v) => Json::from(v.to_string()),
            Self::Clsid(v) => Json::from(hex(v)),
            Self::Binary(v) => Json::from(hex(v)),
            Self::MvLong(v) => Json::from(v.clone()),
            Self::MvUnicode(v) => Json::from(v.clone()),
            Self::MvBinary(v) => Json::Array(v.iter().map(|b| Json::from(hex(b))).collect()),
        }
    }

    /// Reads a value of property type `ty` from its JSON form.
    ///
    /// # Errors
    /// [`ValueError::Shape`] naming the expected type when the JSON has another shape.
    pub fn from_json(ty: u16, json: &Json) -> Result<Self, ValueError> {
        let want = || ValueError::Shape {
            ty,
            found: json.to_string(),
        };
        let int = || json.as_i64().ok_or_else(want);
        let text = || json.as_str().map(str::to_owned).ok_or_else(want);
        Ok(match ty {
            tags::PT_SHORT => Self::Short(i16::try_from(int()?).map_err(|_| want())?),
            // Flag values above 0x7FFFFFFF are written by older tools as unsigned numbers.
            tags::PT_LONG => Self::Long(long_from_i64(int()?).ok_or_else(want)?),
            tags::PT_DOUBLE => Self::Double(json.as_f64().ok_or_else(want)?),
            tags::PT_ERROR => Self::Error(parse_hex_u32(&text()?).ok_or_else(want)?),
            tags::PT_BOOLEAN => Self::Boolean(json.as_bool().ok_or_else(want)?),
            tags::PT_I8 => Self::I8(int()?),
            tags::PT_STRING8 => Self::String8(text()?),
            tags::PT_UNICODE => Self::Unicode(text()?),
            tags::PT_SYSTIME => {
                Self::SysTime(text()?.parse().map_err(|e: jiff::Error| ValueError::Time {
                    ty,
                    found: json.to_string(),
                    reason: e.to_string(),
                })?)
            }
            tags::PT_CLSID => {
                let bytes = unhex(&text()?).ok_or_else(want)?;
                Self::Clsid(bytes.try_into().map_err(|_| want())?)
            }
            tags::PT_BINARY => Self::Binary(unhex(&text()?).ok_or_else(want)?),
            tags::PT_MV_LONG => Self::MvLong(
                json.as_array()
                    .ok_or_else(want)?
                    .iter()
                    .map(|v| v.as_i64().and_then(long_from_i64).ok_or_else(want))
                    .collect::<Result<_, _>>()?,
            ),
            tags::PT_MV_UNICODE => Self::MvUnicode(
                json.as_array()
                    .ok_or_else(want)?
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned).ok_or_else(want))
                    .collect::<Result<_, _>>()?,
            ),
            tags::PT_MV_BINARY => Self::MvBinary(
                json.as_array()
                    .ok_or_else(want)?
                    .iter()
                    .map(|v| v.as_str().and_then(unhex).ok_or_else(want))
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(ValueError::UnsupportedType(other)),
        })
    }
}

impl fmt::Display for PropValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String8(v) | Self::Unicode(v) => write!(f, "{v}"),
            Self::Boolean(v) => f.write_str(if *v { "TRUE" } else { "FALSE" }),
            Self::Binary(v) => {
                write!(f, "cb: {} lpb: {}", v.len(), hex(v))
            }
            Self::SysTime(t) => write!(f, "{}", t.strftime("%Y-%m-%d %H:%M:%S UTC")),
            other => write!(f, "{}", other.to_json()),
        }
    }
}

fn long_from_i64(v: i64) -> Option<i32> {
    i32::try_from(v)
        .ok()
        .or_else(|| u32::try_from(v).ok().map(u32::cast_signed))
}

fn parse_hex_u32(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim_start_matches("0x").trim_start_matches("0X"), 16).ok()
}

/// Upper-case hex, as MFCMAPI shows binary values.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// The inverse of [`hex`]; `None` on odd length or a non-hex digit.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}

/// A set of properties keyed by tag, kept in tag order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PropBag(BTreeMap<PropTag, PropValue>);

impl PropBag {
    /// An empty bag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a property, replacing any earlier value.
    pub fn set(&mut self, tag: PropTag, value: PropValue) {
        self.0.insert(tag, value);
    }

    /// Removes a property, returning what it held.
    pub fn remove(&mut self, tag: PropTag) -> Option<PropValue> {
        self.0.remove(&tag)
    }

    /// The value of a property, if set.
    pub fn value(&self, tag: PropTag) -> Option<&PropValue> {
        self.0.get(&tag)
    }

    /// Whether the property is set.
    pub fn has(&self, tag: PropTag) -> bool {
        self.0.contains_key(&tag)
    }

    /// All properties in tag order.
    pub fn iter(&self) -> impl Iterator<Item = (PropTag, &PropValue)> {
        self.0.iter().map(|(t, v)| (*t, v))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no property is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A text property (`PT_UNICODE` or `PT_STRING8`).
    pub fn text(&self, tag: PropTag) -> Option<&str> {
        match self.0.get(&tag) {
            Some(PropValue::Unicode(s) | PropValue::String8(s)) => Some(s),
            _ => None,
        }
    }

    /// A text property, or "" when absent.
    pub fn text_or_empty(&self, tag: PropTag) -> &str {
        self.text(tag).unwrap_or("")
    }

    /// Sets a `PT_UNICODE` property.
    pub fn set_text(&mut self, tag: PropTag, value: impl Into<String>) {
        self.set(tag, PropValue::Unicode(value.into()));
    }

    /// A `PT_BOOLEAN` property.
    pub fn boolean(&self, tag: PropTag) -> Option<bool> {
        match self.0.get(&tag) {
            Some(PropValue::Boolean(b)) => Some(*b),
            _ => None,
        }
    }

    /// Sets a `PT_BOOLEAN` property.
    pub fn set_bool(&mut self, tag: PropTag, value: bool) {
        self.set(tag, PropValue::Boolean(value));
    }

    /// A `PT_LONG` property as its bits; 0 when absent (MAPI treats a missing flag set as 0).
    pub fn flags(&self, tag: PropTag) -> u32 {
        self.0.get(&tag).and_then(PropValue::as_u32).unwrap_or(0)
    }

    /// A `PT_LONG` property, if set.
    pub fn long(&self, tag: PropTag) -> Option<i32> {
        match self.0.get(&tag) {
            Some(PropValue::Long(v)) => Some(*v),
            _ => None,
        }
    }

    /// Sets a `PT_LONG` property from its bits.
    pub fn set_flags(&mut self, tag: PropTag, bits: u32) {
        self.set(tag, PropValue::Long(bits.cast_signed()));
    }

    /// Sets the given bits of a `PT_LONG` flag property.
    pub fn add_flags(&mut self, tag: PropTag, bits: u32) {
        let now = self.flags(tag);
        self.set_flags(tag, now | bits);
    }

    /// Clears the given bits of a `PT_LONG` flag property.
    pub fn clear_flags(&mut self, tag: PropTag, bits: u32) {
        let now = self.flags(tag);
        self.set_flags(tag, now & !bits);
    }

    /// A `PT_SYSTIME` property.
    pub fn time(&self, tag: PropTag) -> Option<Timestamp> {
        match self.0.get(&tag) {
            Some(PropValue::SysTime(t)) => Some(*t),
            _ => None,
        }
    }

    /// Sets a `PT_SYSTIME` property.
    pub fn set_time(&mut self, tag: PropTag, t: Timestamp) {
        self.set(tag, PropValue::SysTime(t));
    }

    /// A `PT_BINARY` property.
    pub fn binary(&self, tag: PropTag) -> Option<&[u8]> {
        match self.0.get(&tag) {
            Some(PropValue::Binary(b)) => Some(b),
            _ => None,
        }
    }

    /// Reads a bag from its JSON object form.
    ///
    /// # Errors
    /// A [`ValueError`] naming the property that is unknown or has the wrong shape.
    pub fn from_json(json: &Json) -> Result<Self, ValueError> {
        let obj = json.as_object().ok_or(ValueError::NotAnObject)?;
        let mut bag = Self::new();
        for (key, value) in obj {
            let tag = tag_from_key(key).ok_or_else(|| ValueError::UnknownName(key.clone()))?;
            let v =
                PropValue::from_json(tag.prop_type(), value).map_err(|e| ValueError::Property {
                    key: key.clone(),
                    error: Box::new(e),
                })?;
            bag.set(tag, v);
        }
        Ok(bag)
    }

    /// The JSON object form (see the module docs).
    pub fn to_json(&self) -> Json {
        Json::Object(
            self.0
                .iter()
                .map(|(tag, v)| (key_for_tag(*tag), v.to_json()))
                .collect(),
        )
    }
}

/// The JSON key for a tag: canonical name when the catalogue knows it, else the hex tag.
pub fn key_for_tag(tag: PropTag) -> String {
    tags::lookup(tag).map_or_else(|| tag.hex(), |def| def.name.to_owned())
}

/// The tag for a JSON key written by [`key_for_tag`].
pub fn tag_from_key(key: &str) -> Option<PropTag> {
    tags::lookup_name(key)
        .map(|d| d.tag)
        .or_else(|| PropTag::parse_hex(key))
}

impl Serialize for PropBag {
    /// Straight to the serializer, without building a `serde_json::Value` first: message
    /// files and journal records are written for every step, so this is the hot path.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (tag, v) in &self.0 {
            match tags::lookup(*tag) {
                Some(def) => map.serialize_entry(def.name, &ValueOut(v))?,
                None => map.serialize_entry(&tag.hex(), &ValueOut(v))?,
            }
        }
        map.end()
    }
}

/// A value in its JSON form (the same shapes as [`PropValue::to_json`]), serialized directly.
struct ValueOut<'a>(&'a PropValue);

impl Serialize for ValueOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            PropValue::Short(v) => s.serialize_i16(*v),
            PropValue::Long(v) => s.serialize_i32(*v),
            PropValue::Boolean(v) => s.serialize_bool(*v),
            PropValue::I8(v) => s.serialize_i64(*v),
            PropValue::String8(v) | PropValue::Unicode(v) => s.serialize_str(v),
            PropValue::SysTime(t) => s.collect_str(t),
            PropValue::Binary(v) => s.serialize_str(&hex(v)),
            other => other.to_json().serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for PropBag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(d)?;
        Self::from_json(&json).map_err(D::Error::custom)
    }
}

/// One property as it changed: used by step history (time travel) and journal patches.
#[derive(Clone, Debug, PartialEq)]
pub struct PropChange {
    /// `None` for a message property, `Some(row id)` for a recipient column.
    pub row: Option<u32>,
    /// The property.
    pub tag: PropTag,
    /// Value before the change (`None`: absent).
    pub before: Option<PropValue>,
    /// Value after the change (`None`: removed).
    pub after: Option<PropValue>,
}

#[derive(Serialize, Deserialize)]
struct PropChangeRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    row: Option<u32>,
    tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<Json>,
}

/// The serializing side of [`PropChangeRepr`], borrowing instead of building JSON values.
#[derive(Serialize)]
struct PropChangeOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<u32>,
    tag: std::borrow::Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<ValueOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<ValueOut<'a>>,
}

impl Serialize for PropChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        PropChangeOut {
            row: self.row,
            tag: tags::lookup(self.tag).map_or_else(
                || std::borrow::Cow::Owned(self.tag.hex()),
                |d| std::borrow::Cow::Borrowed(d.name),
            ),
            before: self.before.as_ref().map(ValueOut),
            after: self.after.as_ref().map(ValueOut),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for PropChange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = PropChangeRepr::deserialize(d)?;
        let tag = tag_from_key(&r.tag)
            .ok_or_else(|| D::Error::custom(format!("unknown property {:?}", r.tag)))?;
        let conv = |j: Option<Json>| {
            j.map(|j| PropValue::from_json(tag.prop_type(), &j))
                .transpose()
                .map_err(D::Error::custom)
        };
        Ok(Self {
            row: r.row,
            tag,
            before: conv(r.before)?,
            after: conv(r.after)?,
        })
    }
}

/// The changes that turn bag `a` into bag `b`, tagged with `row`.
pub fn diff(row: Option<u32>, a: &PropBag, b: &PropBag, out: &mut Vec<PropChange>) {
    for (tag, va) in a.iter() {
        match b.value(tag) {
            Some(vb) if vb == va => {}
            vb => out.push(PropChange {
                row,
                tag,
                before: Some(va.clone()),
                after: vb.cloned(),
            }),
        }
    }
    for (tag, vb) in b.iter() {
        if !a.has(tag) {
            out.push(PropChange {
                row,
                tag,
                before: None,
                after: Some(vb.clone()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn bag_error(json: &Json) -> String {
        PropBag::from_json(json)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn errors_read_as_they_always_did() {
        assert_eq!(
            bag_error(&json!([1])),
            "a property set must be a JSON object"
        );
        assert_eq!(
            bag_error(&json!({"PR_NOPE": 1})),
            "unknown property name \"PR_NOPE\""
        );
        assert_eq!(
            bag_error(&json!({"PR_SUBJECT": 5})),
            "PR_SUBJECT: expected a PT_UNICODE value, found 5"
        );
        assert_eq!(
            bag_error(&json!({"PR_MESSAGE_FLAGS": "x"})),
            "PR_MESSAGE_FLAGS: expected a PT_LONG value, found \"x\""
        );
        let time = PropValue::from_json(tags::PT_SYSTIME, &json!("nope"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            time.starts_with("expected a PT_SYSTIME value, found \"nope\": "),
            "{time}"
        );
        assert_eq!(
            PropValue::from_json(0x0ABC, &json!(1)).err(),
            Some(ValueError::UnsupportedType(0x0ABC))
        );
        assert_eq!(
            ValueError::UnsupportedType(0x0ABC).to_string(),
            "property type 0x0ABC is not supported"
        );
        assert_eq!(
            "#x".parse::<super::super::EntryId>()
                .err()
                .map(|e| e.to_string()),
            Some("\"#x\" is not a message id (a number such as 42)".to_owned())
        );
    }
}
