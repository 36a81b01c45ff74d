//! The MAPI vocabulary: property tags, flags, error codes, messages and recipients.
//! Pure data; no I/O.

pub mod error;
pub mod flags;
pub mod message;
pub mod step;
pub mod tags;
pub mod value;

pub use error::{MapiCode, MapiError};
pub use message::{
    Attachment, EntryId, IdHasher, IdMap, IdSet, Message, MessageState, ParseIdError, Recipient,
    RecipientKind, RecipientState, RowBefore, SCHEMA_VERSION, SpoolState, StepOutcome, StepRecord,
    TraceCall,
};
pub use step::Step;
pub use tags::PropTag;
pub use value::{PropBag, PropChange, PropValue, ValueError};
