//! Unknown keys load with a warning at every level, never an error.
#![allow(clippy::unwrap_used)]

use towergate_config::Config;

const EVERY_LEVEL: &str = "\
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    note: endpoint level
    model:
      provider: openai
      name: gpt-4o-mini
      temperature: 0
      config:
        openai_api_key: k
        openai_api_bsae: http://127.0.0.1:9000/v1
    limit:
      renewal_period: minute
      calls: 10
      burst: 20
routes:
  - name: chat-ab
    task_type: llm/v1/chat
    comment: route level
    destinations:
      - {name: chat, traffic_percentage: 100, priority: 1}
server:
  port: 8080
  workers: 4
auth:
  realm: towergate
  keys:
    - name: team-a
      key: k
      endpoints: [chat-ab]
      owner: someone
telemetry: {}
";

#[test]
fn every_level_warns_about_its_unknown_keys_in_file_order() {
    let config = Config::from_str_with_env(EVERY_LEVEL, "gateway.yaml", |_| None).unwrap();
    let shown: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "gateway.yaml:4:5: endpoints[0].note: unknown key `note` is ignored",
            "gateway.yaml:8:7: endpoints[0].model.temperature: unknown key `temperature` is ignored",
            "gateway.yaml:15:7: endpoints[0].limit.burst: unknown key `burst` is ignored",
            "gateway.yaml:19:5: routes[0].comment: unknown key `comment` is ignored",
            "gateway.yaml:21:47: routes[0].destinations[0].priority: unknown key `priority` is ignored",
            "gateway.yaml:24:3: server.workers: unknown key `workers` is ignored",
            "gateway.yaml:26:3: auth.realm: unknown key `realm` is ignored",
            "gateway.yaml:31:7: auth.keys[0].owner: unknown key `owner` is ignored",
            "gateway.yaml:32:1: telemetry: unknown key `telemetry` is ignored",
        ]
    );
    // `model.config` is kept as written; its provider reads (and judges) it.
    let provider_config = config.endpoints()[0].model().config();
    assert!(provider_config.contains_key("openai_api_bsae"));
    assert!(provider_config.contains_key("openai_api_key"));
}

#[test]
fn a_provider_key_found_unknown_later_is_placed_at_its_key() {
    let config = Config::from_str_with_env(EVERY_LEVEL, "gateway.yaml", |_| None).unwrap();
    let warning = config.unknown_key_warning("endpoints[0].model.config.openai_api_bsae");
    assert_eq!(
        warning.to_string(),
        "gateway.yaml:11:9: endpoints[0].model.config.openai_api_bsae: unknown key `openai_api_bsae` is ignored"
    );
    assert_eq!(warning.line(), Some(11));
    assert_eq!(warning.column(), Some(9));
    assert_eq!(
        warning.path(),
        Some("endpoints[0].model.config.openai_api_bsae")
    );
    // Only the load's own warnings are kept.
    assert_eq!(config.warnings().len(), 9);
}
