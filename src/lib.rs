//! Spoolbox: an outbox manager and visual debugger for the MAPI spooler's send pipeline.
//!
//! The folders read like the pipeline: [`mapi`] is the vocabulary, [`store`] the JSON message
//! store, [`spooler`] the pipeline and its worker thread, [`transport`] the transports, and
//! [`ui`] the eframe app. The CLI in `main.rs` drives the same spooler headless.

pub mod mapi;

pub mod durable;
pub mod eml;
pub mod profile;

pub mod store;

pub mod transport;

pub mod spooler;

pub mod bench;
pub mod cli;
pub mod ui;
