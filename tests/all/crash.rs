//! Crash, power-loss and corruption suites (placeholder).
