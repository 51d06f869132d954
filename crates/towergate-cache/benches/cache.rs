//! Benches of the response cache.
fn main() {}
