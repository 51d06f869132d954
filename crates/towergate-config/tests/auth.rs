//! The `auth` section and the keys it builds.
#![allow(clippy::unwrap_used)]

use towergate_config::Config;

/// SHA-256 of "s3cret".
const S3CRET_SHA256: &str = "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0";

fn yaml(auth: &str) -> String {
    format!(
        "\
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {{provider: openai, name: gpt-4o-mini}}
  - name: embed
    endpoint_type: llm/v1/embeddings
    model: {{provider: openai, name: text-embedding-3-small}}
auth:
  keys:
{auth}"
    )
}

fn env(name: &str) -> Option<String> {
    (name == "TEAM_A_KEY").then(|| "sk-team-a".to_owned())
}

fn load(auth: &str) -> Result<Config, Vec<String>> {
    Config::check_str_with_env(&yaml(auth), "gateway.yaml", env)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

const KEYS: &str = "    - name: team-a
      key: $TEAM_A_KEY
      endpoints: [chat, embed]
    - name: hashed
      key_sha256: 1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0
      endpoints: [embed]
    - name: ops
      key: ${TEAM_A_KEY}-ops
      endpoints: ['*']
";

#[test]
fn keys_are_read_with_secrets_resolved() {
    let config = load(KEYS).unwrap();
    let auth = config.auth().unwrap();
    let keys = auth.keys();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0].name(), "team-a");
    assert_eq!(keys[0].key(), Some("sk-team-a"));
    assert_eq!(keys[0].key_sha256(), None);
    assert_eq!(keys[0].endpoints(), ["chat", "embed"]);
    assert_eq!(keys[1].key(), None);
    assert_eq!(keys[1].key_sha256(), Some(S3CRET_SHA256));
    // Only a whole `$VAR` is a variable.
    assert_eq!(keys[2].key(), Some("${TEAM_A_KEY}-ops"));
}

#[test]
fn api_keys_are_built_for_the_auth_layer() {
    let config = load(KEYS).unwrap();
    let keys = config.auth().unwrap().api_keys().unwrap();
    let names: Vec<&str> = keys.iter().map(|key| key.name()).collect();
    assert_eq!(names, ["team-a", "hashed", "ops"]);
    assert!(keys[0].allows("chat") && keys[0].allows("embed"));
    assert!(!keys[1].allows("chat") && keys[1].allows("embed"));
    assert!(keys[2].allows_all());
}

#[test]
fn debug_shows_neither_key_nor_digest() {
    let config = load(KEYS).unwrap();
    let shown = format!("{config:?}");
    assert!(shown.contains("team-a"));
    assert!(!shown.contains("sk-team-a"), "{shown}");
    assert!(!shown.contains(S3CRET_SHA256), "{shown}");
}

#[test]
fn no_auth_section_means_no_auth() {
    let text = yaml("").replace("auth:\n  keys:\n", "");
    let config = Config::from_str_with_env(&text, "gateway.yaml", env).unwrap();
    assert!(config.auth().is_none());
}

#[test]
fn exactly_one_of_key_and_key_sha256() {
    let errors = load(
        "    - name: both
      key: k
      key_sha256: 1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0
      endpoints: ['*']
    - name: neither
      endpoints: ['*']
",
    )
    .unwrap_err();
    assert_eq!(
        errors,
        [
            "gateway.yaml:10:7: auth.keys[0]: set either `key` or `key_sha256`, not both",
            "gateway.yaml:14:7: auth.keys[1]: one of `key` or `key_sha256` is required: the key itself (or `$VAR`), or its SHA-256 digest in hex",
        ]
    );
}

#[test]
fn key_names_are_required_and_unique() {
    let errors = load(
        "    - name: team-a
      key: a
      endpoints: ['*']
    - name: team-a
      key: b
      endpoints: ['*']
    - key: c
      endpoints: ['*']
",
    )
    .unwrap_err();
    assert_eq!(
        errors,
        [
            "gateway.yaml:13:13: auth.keys[1].name: duplicate key name `team-a`: `auth.keys[0]` has it already",
            "gateway.yaml:16:7: auth.keys[2]: `name` is required: expected the key's name, which logs and usage records show",
        ]
    );
}

#[test]
fn a_bad_digest_is_an_error_that_does_not_echo_it() {
    let errors = load(
        "    - name: hashed
      key_sha256: 1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcbzz
      endpoints: ['*']
",
    )
    .unwrap_err();
    assert_eq!(
        errors,
        [
            "gateway.yaml:11:19: auth.keys[0].key_sha256: expected 64 hexadecimal digits, the SHA-256 digest of the key"
        ]
    );
}

#[test]
fn endpoints_must_name_existing_endpoints_or_star() {
    let errors = load(
        "    - name: team-a
      key: a
      endpoints: [chat, chta, '*', routes-later]
    - name: team-b
      key: b
",
    )
    .unwrap_err();
    assert_eq!(
        errors,
        [
            "gateway.yaml:12:25: auth.keys[0].endpoints[1]: `chta` is not an endpoint or a route: expected one of the names under `endpoints` or `routes`, or `*`",
            "gateway.yaml:12:36: auth.keys[0].endpoints[3]: `routes-later` is not an endpoint or a route: expected one of the names under `endpoints` or `routes`, or `*`",
            "gateway.yaml:13:7: auth.keys[1]: `endpoints` is required: expected a list of the endpoints and routes this key may use, or `[\"*\"]` for all",
        ]
    );
}

#[test]
fn keys_may_name_routes_declared_anywhere_in_the_file() {
    let yaml = "\
auth:
  keys:
    - name: team-a
      key: a
      endpoints: [chat-ab, chat]
routes:
  - name: chat-ab
    task_type: llm/v1/chat
    destinations: [{name: chat, traffic_percentage: 100}]
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini}
";
    let config = Config::from_str_with_env(yaml, "gateway.yaml", |_| None).unwrap();
    let keys = config.auth().unwrap().api_keys().unwrap();
    assert!(keys[0].allows("chat-ab"));
    assert!(keys[0].allows("chat"));
    assert!(!keys[0].allows("embed"));
}

#[test]
fn an_unset_key_variable_is_named() {
    let errors = load(
        "    - name: team-b
      key: $TEAM_B_KEY
      endpoints: [chat]
",
    )
    .unwrap_err();
    assert_eq!(
        errors,
        ["gateway.yaml:11:12: auth.keys[0].key: environment variable `TEAM_B_KEY` is not set"]
    );
}

#[test]
fn an_endpoint_with_other_problems_can_still_be_referenced() {
    let text = yaml("    - name: a\n      key: a\n      endpoints: [chat]\n")
        .replace("provider: openai, name: gpt-4o-mini", "provider: openai");
    let errors = Config::check_str_with_env(&text, "gateway.yaml", env).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path(), Some("endpoints[0].model"));
}

#[test]
fn a_key_that_is_not_text_is_refused_without_echoing_it() {
    let errors = load(
        "    - name: numeric
      key: 918273645546372819
      endpoints: [chat]
",
    )
    .unwrap_err();
    assert_eq!(
        errors,
        ["gateway.yaml:11:12: auth.keys[0].key: `key` must be text: put it in quotes"]
    );
}
