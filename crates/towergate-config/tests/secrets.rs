//! `$VAR` and `${VAR}` secrets from the environment.
#![allow(clippy::unwrap_used)]

use towergate_config::Config;

const YAML: &str = "\
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: $OPENAI_API_KEY
        openai_api_base: ${OPENAI_BASE}
        headers: [$FIRST, literal, '$not a var', 'cost$5']
";

fn env(name: &str) -> Option<String> {
    match name {
        "OPENAI_API_KEY" => Some("sk-live".to_owned()),
        "OPENAI_BASE" => Some("http://127.0.0.1:9000/v1".to_owned()),
        "FIRST" => Some("first-secret".to_owned()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

#[test]
fn both_forms_are_replaced_and_other_strings_kept() {
    let config = Config::from_str_with_env(YAML, "gateway.yaml", env).unwrap();
    let settings = config.endpoint("chat").unwrap().model().config();
    assert_eq!(settings["openai_api_key"], "sk-live");
    assert_eq!(settings["openai_api_base"], "http://127.0.0.1:9000/v1");
    assert_eq!(
        settings["headers"],
        serde_json::json!(["first-secret", "literal", "$not a var", "cost$5"])
    );
}

#[test]
fn a_missing_variable_names_the_file_line_field_and_variable() {
    let error = Config::from_str_with_env(YAML, "gateway.yaml", |_| None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "gateway.yaml:8:25: endpoints[0].model.config.openai_api_key: environment variable `OPENAI_API_KEY` is not set"
    );
    assert_eq!(error.origin(), "gateway.yaml");
    assert_eq!((error.line(), error.column()), (Some(8), Some(25)));
    assert_eq!(
        error.path(),
        Some("endpoints[0].model.config.openai_api_key")
    );
}

#[test]
fn every_missing_variable_is_reported_by_check() {
    let errors = Config::check_str_with_env(YAML, "gateway.yaml", |_| None).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "gateway.yaml:8:25: endpoints[0].model.config.openai_api_key: environment variable `OPENAI_API_KEY` is not set",
            "gateway.yaml:9:26: endpoints[0].model.config.openai_api_base: environment variable `OPENAI_BASE` is not set",
            "gateway.yaml:10:19: endpoints[0].model.config.headers[0]: environment variable `FIRST` is not set",
        ]
    );
}

#[test]
fn an_empty_variable_is_an_error() {
    let yaml = YAML.replace("$OPENAI_API_KEY", "$EMPTY");
    let error = Config::from_str_with_env(&yaml, "gateway.yaml", env).unwrap_err();
    assert_eq!(error.message(), "environment variable `EMPTY` is empty");
}

#[test]
fn the_error_never_shows_a_resolved_secret() {
    let yaml = YAML.replace("literal", "$UNSET");
    let errors = Config::check_str_with_env(&yaml, "gateway.yaml", env).unwrap_err();
    assert_eq!(errors.len(), 1);
    let shown = errors[0].to_string();
    assert!(shown.contains("`UNSET`"));
    assert!(!shown.contains("sk-live") && !shown.contains("first-secret"));
}

#[test]
fn strings_outside_model_config_are_not_variables() {
    let yaml = YAML.replace("name: gpt-4o-mini", "name: $MODEL");
    let config = Config::from_str_with_env(&yaml, "gateway.yaml", env).unwrap();
    assert_eq!(config.endpoint("chat").unwrap().model().name(), "$MODEL");
}

#[test]
fn from_str_reads_the_process_environment() {
    // A variable every test process has; nothing is set or changed here.
    let Some(path) = std::env::var_os("PATH") else {
        return;
    };
    let yaml = YAML
        .replace("$OPENAI_API_KEY", "$PATH")
        .replace("${OPENAI_BASE}", "http://127.0.0.1:1")
        .replace("$FIRST", "x");
    let config = Config::from_str(&yaml, "gateway.yaml").unwrap();
    let key = &config.endpoint("chat").unwrap().model().config()["openai_api_key"];
    assert_eq!(key.as_str(), path.to_str());
}
