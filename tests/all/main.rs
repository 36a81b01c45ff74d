//! Integration tests, one binary (each test binary with egui is large to link).
//! Modules follow the spec: the store (SPEC 1), the pipeline branches (SPEC 2), the CLI, the app.

mod cli;
mod pipeline;
mod store;
mod ui;
