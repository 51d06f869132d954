//! API-key authentication and per-endpoint permissions.
//!
//! [`auth`] holds the layer that checks the caller's key, refuses with 401 or
//! 403, and names the [`Caller`](towergate_core::Caller) for the layers below.

pub mod auth;
