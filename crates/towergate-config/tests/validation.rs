//! Each problem names the file, the line and column, and the field.
#![allow(clippy::unwrap_used)]

use towergate_config::{Config, ConfigError};

fn errors(yaml: &str) -> Vec<String> {
    Config::check_str_with_env(yaml, "gateway.yaml", |_| Some("secret".to_owned()))
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn error(yaml: &str) -> ConfigError {
    Config::from_str_with_env(yaml, "gateway.yaml", |_| Some("secret".to_owned())).unwrap_err()
}

/// An endpoint list with one valid endpoint followed by `rest`.
fn with_endpoint(rest: &str) -> String {
    format!(
        "\
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
{rest}"
    )
}

#[test]
fn a_syntax_error_has_its_line_and_comes_alone() {
    let yaml = "\
endpoints:
  - name: chat
    endpoint_type: [llm/v1/chat
  - name: bad name
";
    let errors = Config::check_str_with_env(yaml, "gateway.yaml", |_| None).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let error = &errors[0];
    assert_eq!(error.line(), Some(4), "{error}");
    assert!(error.to_string().starts_with("gateway.yaml:4:"), "{error}");
    assert!(error.message().starts_with("invalid YAML: "), "{error}");
    assert_eq!(error.path(), None);
}

#[test]
fn a_tab_indent_is_a_syntax_error_with_its_line() {
    let error = error("endpoints:\n\t- name: chat\n");
    assert_eq!(error.line(), Some(2), "{error}");
    assert!(error.message().starts_with("invalid YAML: "));
}

#[test]
fn an_empty_file_or_a_list_at_the_top_is_refused() {
    assert_eq!(
        errors(""),
        ["gateway.yaml:1:1: the file is empty: expected a mapping with an `endpoints` list"]
    );
    assert_eq!(
        errors("- name: chat\n"),
        ["gateway.yaml:1:1: expected a mapping with an `endpoints` list at the top level"]
    );
    assert_eq!(
        errors("server:\n  port: 1\n"),
        [
            "gateway.yaml:1:1: `endpoints` is required: expected a list of endpoints (`endpoints: []` for none)"
        ]
    );
}

#[test]
fn no_endpoints_is_a_valid_file() {
    let config = Config::from_str_with_env("endpoints: []\n", "gateway.yaml", |_| None).unwrap();
    assert!(config.endpoints().is_empty());
}

#[test]
fn endpoint_names_must_match_the_pattern() {
    let yaml = with_endpoint(
        "  - name: my chat
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o}
  - name: \"chat/v2\"
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o}
",
    );
    assert_eq!(
        errors(&yaml),
        [
            "gateway.yaml:7:11: endpoints[1].name: `my chat` is not a valid endpoint name: expected letters, digits, `_`, `.` and `-` only",
            "gateway.yaml:10:11: endpoints[2].name: `chat/v2` is not a valid endpoint name: expected letters, digits, `_`, `.` and `-` only",
        ]
    );
}

#[test]
fn endpoint_names_must_be_unique() {
    let yaml = with_endpoint(
        "  - name: chat
    endpoint_type: llm/v1/embeddings
    model: {provider: openai, name: text-embedding-3-small}
",
    );
    assert_eq!(
        errors(&yaml),
        [
            "gateway.yaml:7:11: endpoints[1].name: duplicate name `chat`: `endpoints[0]` (line 2) has it already; names must be unique across endpoints and routes"
        ]
    );
}

#[test]
fn endpoint_type_must_be_one_of_three() {
    let yaml = with_endpoint(
        "  - name: other
    endpoint_type: llm/v2/chat
    model: {provider: openai, name: gpt-4o}
",
    );
    assert_eq!(
        errors(&yaml),
        [
            "gateway.yaml:8:20: endpoints[1].endpoint_type: `llm/v2/chat` is not an endpoint type: expected one of `llm/v1/chat`, `llm/v1/completions`, `llm/v1/embeddings`"
        ]
    );
}

#[test]
fn required_fields_are_named_where_they_are_missing() {
    let yaml = "\
endpoints:
  - endpoint_type: llm/v1/chat
    model: {name: gpt-4o}
  - name: two
    model:
      provider: openai
      name:
  - name: three
    endpoint_type: llm/v1/chat
";
    assert_eq!(
        errors(yaml),
        [
            "gateway.yaml:2:5: endpoints[0]: `name` is required: expected the endpoint's name, made of letters, digits, `_`, `.` and `-`",
            "gateway.yaml:3:12: endpoints[0].model: `provider` is required: expected MLflow's provider name, such as `openai` or `anthropic`",
            "gateway.yaml:4:5: endpoints[1]: `endpoint_type` is required: expected one of `llm/v1/chat`, `llm/v1/completions`, `llm/v1/embeddings`",
            "gateway.yaml:7:12: endpoints[1].model.name: `name` is required: expected the upstream model's name, such as `gpt-4o-mini`",
            "gateway.yaml:8:5: endpoints[2]: `model` is required: expected a mapping with `provider`, `name` and `config`",
        ]
    );
}

#[test]
fn wrong_types_are_named_with_their_field() {
    let yaml = "\
endpoints:
  - name: [chat]
    endpoint_type: llm/v1/chat
    model: gpt-4o
  - name: two
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o
      config: [openai_api_key]
";
    let shown = errors(yaml);
    assert_eq!(shown.len(), 3, "{shown:#?}");
    assert!(
        shown[0].starts_with(
            "gateway.yaml:2:11: endpoints[0].name: invalid type: sequence, expected a string"
        ),
        "{}",
        shown[0]
    );
    assert_eq!(
        shown[1],
        "gateway.yaml:4:12: endpoints[0].model: expected a mapping with `provider`, `name` and `config`"
    );
    assert!(
        shown[2]
            .starts_with("gateway.yaml:10:15: endpoints[1].model.config: invalid type: sequence"),
        "{}",
        shown[2]
    );
}

#[test]
fn planned_keys_are_not_supported_yet() {
    // `limit` and `routes` (MLflow's), `limits`, `prompt`, `prompts`,
    // `pricing`, `context_window`, both `cache`s, `state`, `usage` and
    // `budget` are read; the rest is planned.
    let yaml = "\
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini}
    limit: {renewal_period: minute, calls: 10}
    limits: {requests_per_minute: 600}
    timeout: 30s
    retry: {attempts: 2}
    fallbacks: [chat]
    cache: {ttl: 10m}
    prompt: {name: summarize}
    pricing: {input_per_million: 0.15, output_per_million: 0.6}
    context_window: 128000
    guard: {pii: redact}
routes: []
prompts: []
state: {redis: redis://127.0.0.1:6379}
usage: {jsonl: usage.jsonl}
cache: {store: redis}
auth:
  keys:
    - name: team-a
      key: k
      endpoints: ['*']
      budget: {usd: 25.0, period: month}
      limits: {requests_per_minute: 60}
";
    let expected: Vec<String> = [
        (7, 5, "endpoints[0].timeout", "timeout"),
        (8, 5, "endpoints[0].retry", "retry"),
        (9, 5, "endpoints[0].fallbacks", "fallbacks"),
        (14, 5, "endpoints[0].guard", "guard"),
    ]
    .into_iter()
    .map(|(line, column, path, key)| {
        format!("gateway.yaml:{line}:{column}: {path}: `{key}` is not supported yet")
    })
    .collect();
    assert_eq!(errors(yaml), expected);
}

#[test]
fn limits_are_read_and_bad_ones_are_named() {
    let yaml = "\
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini}
    limits: {requests_per_minute: 600, tokens_per_day: 1000000}
auth:
  keys:
    - name: team-a
      key: k
      endpoints: ['*']
      limits: {tokens_per_minute: 20000}
";
    let config =
        towergate_config::Config::from_str_with_env(yaml, "gateway.yaml", |_| None).unwrap();
    let limits = config.endpoint("chat").unwrap().limits().unwrap();
    assert_eq!(limits.rates().count(), 2);
    let key = &config.auth().unwrap().keys()[0];
    assert_eq!(key.limits().unwrap().rates().count(), 1);

    for (bad, expected) in [
        (
            "{requests_per_week: 5}",
            "unknown field `requests_per_week`",
        ),
        (
            "{tokens_per_minute: 0}",
            "`tokens_per_minute`: a rate limit must be at least 1",
        ),
        ("{}", "expected at least one of `requests_per_minute`"),
        ("{requests_per_minute: lots}", "invalid type"),
    ] {
        let yaml = format!(
            "endpoints:\n  - name: chat\n    endpoint_type: llm/v1/chat\n    model: {{provider: openai, name: gpt-4o-mini}}\n    limits: {bad}\n"
        );
        let shown = errors(&yaml);
        assert_eq!(shown.len(), 1, "{bad}: {shown:?}");
        assert!(
            shown[0].starts_with("gateway.yaml:5:"),
            "{bad}: {}",
            shown[0]
        );
        assert!(
            shown[0].contains("endpoints[0].limits"),
            "{bad}: {}",
            shown[0]
        );
        assert!(shown[0].contains(expected), "{bad}: {}", shown[0]);
    }
}

#[test]
fn route_type_gets_mlflows_rename_hint() {
    let yaml = "\
endpoints:
  - name: chat
    route_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini}
";
    assert_eq!(
        errors(yaml),
        [
            "gateway.yaml:3:5: endpoints[0].route_type: the `route_type` key is not supported in the configuration file: it was renamed to `endpoint_type`; use `endpoint_type: llm/v1/chat` instead"
        ]
    );
}

#[test]
fn unknown_keys_are_warnings_and_the_file_loads() {
    let yaml = with_endpoint(
        "    description: the main chat
    model_extra: 1
server:
  port: 8080
  workers: 4
telemetry: {}
",
    );
    let config = Config::from_str_with_env(&yaml, "gateway.yaml", |_| None).unwrap();
    let shown: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "gateway.yaml:7:5: endpoints[0].description: unknown key `description` is ignored",
            "gateway.yaml:8:5: endpoints[0].model_extra: unknown key `model_extra` is ignored",
            "gateway.yaml:11:3: server.workers: unknown key `workers` is ignored",
            "gateway.yaml:12:1: telemetry: unknown key `telemetry` is ignored",
        ]
    );
    assert_eq!(config.warnings()[0].line(), Some(7));
    assert_eq!(
        config.warnings()[0].path(),
        Some("endpoints[0].description")
    );
    assert_eq!(config.server().port(), 8080);
}

#[test]
fn unknown_keys_inside_model_are_warnings() {
    let yaml = with_endpoint("").replace(
        "name: gpt-4o-mini",
        "name: gpt-4o-mini\n      temperature: 0",
    );
    let config = Config::from_str_with_env(&yaml, "gateway.yaml", |_| None).unwrap();
    assert_eq!(config.warnings().len(), 1);
    assert_eq!(
        config.warnings()[0].path(),
        Some("endpoints[0].model.temperature")
    );
}

#[test]
fn check_reports_every_endpoints_problems_in_file_order() {
    let yaml = "\
endpoints:
  - name: ok
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini, config: {openai_api_key: $UNSET}}
  - name: bad name
    endpoint_type: llm/v9
    model: {provider: '', name: x}
  - name: ok
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: y}
    timeout: 30s
";
    let errors = Config::check_str_with_env(yaml, "gateway.yaml", |_| None).unwrap_err();
    let summary: Vec<(Option<usize>, Option<&str>)> =
        errors.iter().map(|e| (e.line(), e.path())).collect();
    assert_eq!(
        summary,
        [
            (Some(4), Some("endpoints[0].model.config.openai_api_key")),
            (Some(5), Some("endpoints[1].name")),
            (Some(6), Some("endpoints[1].endpoint_type")),
            (Some(7), Some("endpoints[1].model.provider")),
            (Some(8), Some("endpoints[2].name")),
            (Some(11), Some("endpoints[2].timeout")),
        ],
        "{errors:#?}"
    );
    // from_str reports the first of them.
    let first = Config::from_str_with_env(yaml, "gateway.yaml", |_| None).unwrap_err();
    assert_eq!(first, errors[0]);
}

#[test]
fn files_are_read_and_named_by_their_path() {
    let dir = std::env::temp_dir().join(format!("towergate-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.yaml");
    std::fs::write(&good, with_endpoint("")).unwrap();
    let config = Config::from_file(&good).unwrap();
    assert_eq!(config.endpoints().len(), 1);
    assert_eq!(config.origin(), good.display().to_string());

    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, with_endpoint("    retry: {attempts: 2}\n")).unwrap();
    let errors = Config::check(&bad).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        format!(
            "{}:7:5: endpoints[0].retry: `retry` is not supported yet",
            bad.display()
        )
    );

    let missing = dir.join("missing.yaml");
    let error = Config::from_file(&missing).unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "{}: cannot read the config file: ",
            missing.display()
        )),
        "{error}"
    );
    assert_eq!(error.line(), None);
    std::fs::remove_dir_all(&dir).unwrap();
}
