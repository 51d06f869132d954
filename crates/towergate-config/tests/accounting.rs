//! What usage, cost and budgets read from the file: `pricing`,
//! `context_window`, `auth.keys[].budget`, `state` and `usage`.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use towergate_config::Config;
use towergate_tokens::{
    Pricing,
    budget::{Budget, BudgetPeriod, OnStoreError},
};

fn load(yaml: &str) -> Result<Config, Vec<String>> {
    let env = |name: &str| (name == "REDIS_URL").then(|| "redis://10.0.0.1:6380".to_owned());
    Config::check_str_with_env(yaml, "gateway.yaml", env)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

const FULL: &str = "\
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini}
    pricing: {input_per_million: 0.15, output_per_million: 0.60}
    context_window: 128000
  - name: plain
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o}
auth:
  keys:
    - {name: team-a, key: a, endpoints: ['*'], budget: {usd: 25.0, period: month}}
    - {name: team-b, key: b, endpoints: ['*']}
state:
  redis: $REDIS_URL
  on_redis_error: open
usage:
  jsonl: logs/usage.jsonl
";

#[test]
fn every_key_is_read() {
    let config = load(FULL).unwrap();
    let chat = config.endpoint("chat").unwrap();
    assert_eq!(chat.pricing(), Some(Pricing::new(0.15, 0.60)));
    assert_eq!(chat.context_window(), Some(128_000));
    let plain = config.endpoint("plain").unwrap();
    assert_eq!((plain.pricing(), plain.context_window()), (None, None));
    let keys = config.auth().unwrap().keys();
    assert_eq!(
        keys[0].budget(),
        Some(Budget::new(25.0, BudgetPeriod::Month))
    );
    assert_eq!(keys[1].budget(), None);
    assert_eq!(config.state().redis(), Some("redis://10.0.0.1:6380"));
    assert_eq!(config.state().on_redis_error(), OnStoreError::Open);
    assert_eq!(config.usage().jsonl(), Some(Path::new("logs/usage.jsonl")));
    assert!(!format!("{:?}", config.state()).contains("10.0.0.1"));
}

#[test]
fn absent_sections_mean_in_memory_and_no_usage_file() {
    let config = load("endpoints: []\n").unwrap();
    assert_eq!(config.state().redis(), None);
    assert_eq!(config.state().on_redis_error(), OnStoreError::Closed);
    assert_eq!(config.usage().jsonl(), None);
}

#[test]
fn each_problem_is_named_with_its_line_and_field() {
    let yaml = "\
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini}
    pricing: {input_per_million: 0.15}
    context_window: -5
  - name: two
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini}
    pricing: {input_per_million: 1, output_per_million: 2, cached: 1}
auth:
  keys:
    - {name: a, key: a, endpoints: ['*'], budget: {usd: 0, period: month}}
    - {name: b, key: b, endpoints: ['*'], budget: {usd: 5, period: fortnight}}
state:
  redis: localhost:6379
  on_redis_error: maybe
  shards: 3
usage: {jsonl: ''}
";
    let errors = load(yaml).unwrap_err();
    let expected = [
        "gateway.yaml:5:14: endpoints[0].pricing: missing field `output_per_million`",
        "gateway.yaml:6:21: endpoints[0].context_window: expected a whole number of tokens above 0, such as `128000`",
        "gateway.yaml:10:68: endpoints[1].pricing.cached: unknown field `cached`, expected `input_per_million` or `output_per_million`",
        "gateway.yaml:13:57: auth.keys[0].budget.usd: `0` is not a budget: expected US dollars above 0",
        "gateway.yaml:14:68: auth.keys[1].budget.period: unknown variant `fortnight`, expected one of `day`, `week`, `month`, `total`",
        "gateway.yaml:16:10: state.redis: expected a Redis URL such as `redis://127.0.0.1:6379`",
        "gateway.yaml:17:19: state.on_redis_error: unknown variant `maybe`, expected `closed` or `open`",
        "gateway.yaml:19:16: usage.jsonl: expected a file path",
    ];
    assert_eq!(errors, expected);
}
