//! The null transport: accepts every offered recipient at once. For tests and benchmarks.

use super::{Handoff, RowOutcome, SubmitView, Transport};

/// Delivers everything, instantly, nowhere.
#[derive(Debug)]
pub struct NullTransport {
    name: String,
    types: Vec<String>,
}

impl NullTransport {
    /// A null transport for these address types.
    pub fn new(name: &str, types: &[String]) -> Self {
        Self {
            name: name.to_owned(),
            types: types.to_vec(),
        }
    }
}

impl Transport for NullTransport {
    fn name(&self) -> &str {
        &self.name
    }

    fn address_types(&self) -> &[String] {
        &self.types
    }

    fn submit_message(&mut self, view: &SubmitView<'_>) -> Handoff {
        Handoff::sent(
            view.rows
                .iter()
                .map(|r| {
                    (
                        *r,
                        RowOutcome::Delivered("250 accepted (null transport)".into()),
                    )
                })
                .collect(),
        )
    }
}
