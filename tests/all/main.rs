//! Integration tests, one binary (each test binary with egui is large to link).
//! Modules follow the spec: the store (SPEC 1), the pipeline branches (SPEC 2), the real
//! transports against a real SMTP server (SPEC 3), the CLI, the app (and its panels alone),
//! and the crash, power-loss and corruption suites.

mod cli;
mod crash;
// Every door of the store: links, FIFOs, hard links, modes: Unix only.
#[cfg(unix)]
mod doors;
mod drafts;
mod fidelity;
mod folders;
mod group;
// Symbolic links, FIFOs, modes and users: Unix only.
#[cfg(unix)]
mod hostile_fs;
mod import;
mod layers;
mod panels;
mod pipeline;
mod poison;
mod realfs;
mod reports;
mod settings;
mod smtp;
mod store;
mod timeline;
mod ui;
mod ui_keys;
mod upkeep;
