//! API-key authentication and per-endpoint permissions.
