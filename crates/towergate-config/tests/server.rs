//! The `server` section: defaults and durations.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use towergate_config::{Config, ServerConfig};

fn with_server(server: &str) -> Result<Config, Vec<String>> {
    let yaml = format!("endpoints: []\n{server}");
    Config::check_str_with_env(&yaml, "gateway.yaml", |_| None)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

#[test]
fn defaults_apply_when_the_section_is_absent_or_empty() {
    for server in ["", "server:\n", "server: {}\n"] {
        let config = with_server(server).unwrap();
        let server = config.server();
        assert_eq!(server.host(), "127.0.0.1");
        assert_eq!(server.port(), 5000);
        assert_eq!(server.max_body_bytes(), 4_194_304);
        assert_eq!(server.shutdown_grace(), Duration::from_secs(30));
        assert_eq!(*server, ServerConfig::default());
    }
}

#[test]
fn every_field_is_read() {
    let config = with_server(
        "server:\n  host: 0.0.0.0\n  port: 8080\n  max_body_bytes: 1024\n  shutdown_grace: 500ms\n",
    )
    .unwrap();
    let server = config.server();
    assert_eq!(server.host(), "0.0.0.0");
    assert_eq!(server.port(), 8080);
    assert_eq!(server.max_body_bytes(), 1024);
    assert_eq!(server.shutdown_grace(), Duration::from_millis(500));
}

#[test]
fn a_partial_section_keeps_the_other_defaults() {
    let config = with_server("server:\n  port: 9000\n").unwrap();
    assert_eq!(config.server().port(), 9000);
    assert_eq!(config.server().host(), "127.0.0.1");
    assert_eq!(config.server().shutdown_grace(), Duration::from_secs(30));
}

#[test]
fn durations_take_the_documented_units() {
    for (text, expected) in [
        ("500ms", Duration::from_millis(500)),
        ("30s", Duration::from_secs(30)),
        ("10m", Duration::from_secs(600)),
        ("1h", Duration::from_secs(3600)),
    ] {
        let config = with_server(&format!("server:\n  shutdown_grace: {text}\n")).unwrap();
        assert_eq!(config.server().shutdown_grace(), expected, "{text}");
    }
}

#[test]
fn a_bad_duration_names_its_line_and_what_was_expected() {
    assert_eq!(
        with_server("server:\n  shutdown_grace: soon\n").unwrap_err(),
        [
            "gateway.yaml:3:19: server.shutdown_grace: `soon` is not a duration: expected a duration such as `500ms`, `30s`, `10m` or `1h`"
        ]
    );
    assert_eq!(
        with_server("server:\n  shutdown_grace: 30\n").unwrap_err(),
        [
            "gateway.yaml:3:19: server.shutdown_grace: `30` has no unit: expected a duration such as `500ms`, `30s`, `10m` or `1h`"
        ]
    );
}

#[test]
fn a_port_out_of_range_is_an_error_at_its_line() {
    let errors = with_server("server:\n  port: 70000\n").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("gateway.yaml:3:9: server.port: invalid value: integer `70000`"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_server_that_is_not_a_mapping_is_an_error() {
    assert_eq!(
        with_server("server: 8080\n").unwrap_err(),
        [
            "gateway.yaml:2:9: server: expected a mapping with `host`, `port`, `max_body_bytes` and `shutdown_grace`"
        ]
    );
}

#[test]
fn command_line_overrides_replace_the_files_values() {
    let config = with_server("server:\n  port: 8080\n  shutdown_grace: 1s\n").unwrap();
    let server = config.server().clone().with_host("::1").with_port(0);
    let config = config.with_server(server);
    assert_eq!(config.server().host(), "::1");
    assert_eq!(config.server().port(), 0);
    assert_eq!(config.server().shutdown_grace(), Duration::from_secs(1));
}
