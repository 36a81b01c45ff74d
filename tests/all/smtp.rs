//! SMTP and pickup-folder transports against a real SMTP server on loopback (placeholder).
