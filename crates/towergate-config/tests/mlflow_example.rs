//! An MLflow AI Gateway config, in the shape of MLflow's own docs, loads
//! unchanged.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use serde_json::json;
use towergate_config::{Config, RenewalPeriod, RoutingStrategy};
use towergate_core::{EndpointKind, EndpointType, RateLimitInfo};

const MLFLOW_CONFIG: &str = r#"
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: $OPENAI_API_KEY
        openai_api_base: https://api.openai.com/v1
        openai_organization: my-org
    limit:
      renewal_period: minute
      calls: 10
  - name: azure-chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-35-turbo
      config:
        openai_api_type: azure
        openai_api_key: $AZURE_OPENAI_API_KEY
        openai_api_base: https://my-resource.openai.azure.com/
        openai_deployment_name: my-deployment
        openai_api_version: "2023-05-15"
  - name: claude
    endpoint_type: llm/v1/chat
    model:
      provider: anthropic
      name: claude-3-5-sonnet-latest
      config:
        anthropic_api_key: ${ANTHROPIC_API_KEY}
    limit:
      renewal_period: day
      calls: 1000
      key: null
  - name: gemini-chat
    endpoint_type: llm/v1/chat
    model:
      provider: gemini
      name: gemini-2.5-flash
      config:
        gemini_api_key: $GEMINI_API_KEY
  - name: bedrock.claude
    endpoint_type: llm/v1/completions
    model:
      provider: bedrock
      name: anthropic.claude-instant-v1
      config:
        aws_config:
          aws_region: us-east-1
          aws_access_key_id: $AWS_ACCESS_KEY_ID
          aws_secret_access_key: $AWS_SECRET_ACCESS_KEY
  - name: cohere-completions
    endpoint_type: llm/v1/completions
    model:
      provider: cohere
      name: command
      config:
        cohere_api_key: $COHERE_API_KEY
  - name: cohere_embeddings
    endpoint_type: llm/v1/embeddings
    model:
      provider: cohere
      name: embed-english-v3.0
      config:
        cohere_api_key: $COHERE_API_KEY
  - name: served-model
    endpoint_type: llm/v1/completions
    model:
      provider: mlflow-model-serving
      name: my-model
      config:
        model_server_url: http://127.0.0.1:5001
  - name: tgi
    endpoint_type: llm/v1/completions
    model:
      provider: huggingface-text-generation-inference
      name: llm
      config:
        hf_server_url: http://127.0.0.1:8080
routes:
  - name: chat-ab
    task_type: llm/v1/chat
    destinations:
      - name: chat
        traffic_percentage: 80
      - name: azure-chat
        traffic_percentage: 20
    routing_strategy: TRAFFIC_SPLIT
  - name: completions-split
    task_type: llm/v1/completions
    destinations:
      - name: bedrock.claude
        traffic_percentage: 50
      - name: cohere-completions
        traffic_percentage: 25
      - name: served-model
        traffic_percentage: 25
"#;

fn env() -> HashMap<&'static str, &'static str> {
    HashMap::from([
        ("OPENAI_API_KEY", "sk-openai"),
        ("AZURE_OPENAI_API_KEY", "azure-secret"),
        ("ANTHROPIC_API_KEY", "sk-ant"),
        ("GEMINI_API_KEY", "gemini-secret"),
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "aws-secret-value"),
        ("COHERE_API_KEY", "cohere-secret"),
    ])
}

fn load() -> Config {
    let env = env();
    Config::from_str_with_env(MLFLOW_CONFIG, "config.yaml", |name| {
        env.get(name).map(|value| (*value).to_owned())
    })
    .unwrap()
}

#[test]
fn every_endpoint_loads_in_file_order() {
    let config = load();
    let names: Vec<&str> = config.endpoints().iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "chat",
            "azure-chat",
            "claude",
            "gemini-chat",
            "bedrock.claude",
            "cohere-completions",
            "cohere_embeddings",
            "served-model",
            "tgi"
        ]
    );
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    assert!(config.auth().is_none());
    assert_eq!(config.origin(), "config.yaml");
}

#[test]
fn endpoint_fields_are_read() {
    let config = load();
    let chat = config.endpoint("chat").unwrap();
    assert_eq!(chat.endpoint_type(), EndpointType::Chat);
    assert_eq!(chat.model().provider(), "openai");
    assert_eq!(chat.model().name(), "gpt-4o-mini");
    assert_eq!(
        serde_json::Value::Object(chat.model().config().clone()),
        json!({
            "openai_api_key": "sk-openai",
            "openai_api_base": "https://api.openai.com/v1",
            "openai_organization": "my-org",
        })
    );
    let embeddings = config.endpoint("cohere_embeddings").unwrap();
    assert_eq!(embeddings.endpoint_type(), EndpointType::Embeddings);
    let completions = config.endpoint("cohere-completions").unwrap();
    assert_eq!(completions.endpoint_type(), EndpointType::Completions);
    assert!(config.endpoint("missing").is_none());
}

#[test]
fn secrets_are_resolved_at_any_depth_and_quoted_values_stay_text() {
    let config = load();
    let bedrock = config.endpoint("bedrock.claude").unwrap().model().config();
    assert_eq!(
        bedrock["aws_config"],
        json!({
            "aws_region": "us-east-1",
            "aws_access_key_id": "AKIAEXAMPLE",
            "aws_secret_access_key": "aws-secret-value",
        })
    );
    let claude = config.endpoint("claude").unwrap().model().config();
    assert_eq!(claude["anthropic_api_key"], "sk-ant");
    let azure = config.endpoint("azure-chat").unwrap().model().config();
    assert_eq!(azure["openai_api_version"], "2023-05-15");
    assert_eq!(azure["openai_api_key"], "azure-secret");
}

#[test]
fn info_describes_the_endpoint() {
    let config = load();
    let info = config.endpoint("claude").unwrap().info();
    assert_eq!(info.name, "claude");
    assert_eq!(info.kind, EndpointKind::Endpoint);
    assert_eq!(info.endpoint_type, EndpointType::Chat);
    assert_eq!(info.provider.as_deref(), Some("anthropic"));
    assert_eq!(info.model.as_deref(), Some("claude-3-5-sonnet-latest"));
    assert_eq!(
        info.limit,
        Some(RateLimitInfo {
            renewal_period: "day".to_owned(),
            calls: 1000
        })
    );
    assert_eq!(config.endpoint("azure-chat").unwrap().info().limit, None);
}

#[test]
fn limits_are_read() {
    let config = load();
    let chat = config.endpoint("chat").unwrap().limit().unwrap();
    assert_eq!(
        (chat.renewal_period(), chat.calls()),
        (RenewalPeriod::Minute, 10)
    );
    let claude = config.endpoint("claude").unwrap().limit().unwrap();
    assert_eq!(
        (claude.renewal_period(), claude.calls()),
        (RenewalPeriod::Day, 1000)
    );
    assert!(config.endpoint("tgi").unwrap().limit().is_none());
}

#[test]
fn routes_are_read_in_file_order() {
    let config = load();
    let names: Vec<&str> = config.routes().iter().map(|r| r.name()).collect();
    assert_eq!(names, ["chat-ab", "completions-split"]);
    let split = config.route("completions-split").unwrap();
    assert_eq!(split.task_type(), EndpointType::Completions);
    // Absent, the strategy is MLflow's default.
    assert_eq!(split.routing_strategy(), RoutingStrategy::TrafficSplit);
    let shares: Vec<(&str, u8)> = split
        .destinations()
        .iter()
        .map(|d| (d.name(), d.traffic_percentage()))
        .collect();
    assert_eq!(
        shares,
        [
            ("bedrock.claude", 50),
            ("cohere-completions", 25),
            ("served-model", 25)
        ]
    );
    let info = config.route("chat-ab").unwrap().info();
    assert_eq!(info.kind, EndpointKind::Route);
    assert_eq!(info.endpoint_type, EndpointType::Chat);
    assert_eq!((info.provider, info.model, info.limit), (None, None, None));
}

#[test]
fn mlflows_provider_spellings_are_read_as_mlflow_reads_them() {
    let yaml = "\
endpoints:
  - name: a
    endpoint_type: llm/v1/chat
    model: {provider: OpenAI, name: gpt-4o}
  - name: b
    endpoint_type: llm/v1/chat
    model: {provider: amazon_bedrock, name: anthropic.claude-v2}
  - name: c
    endpoint_type: llm/v1/chat
    model: {provider: groq, name: llama}
";
    let config = Config::from_str_with_env(yaml, "config.yaml", |_| None).unwrap();
    let providers: Vec<&str> = config
        .endpoints()
        .iter()
        .map(|e| e.model().provider())
        .collect();
    assert_eq!(providers, ["openai", "amazon-bedrock", "groq"]);
    assert_eq!(
        config.endpoint("a").unwrap().info().provider.as_deref(),
        Some("openai")
    );
}

#[test]
fn debug_output_shows_no_secret() {
    let config = load();
    let shown = format!("{config:?}");
    for secret in env().values() {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("openai_api_key"));
    assert!(shown.contains("gpt-4o-mini"));
}

#[test]
fn yaml_anchors_and_merge_keys_work() {
    let yaml = "\
defaults: &openai
  provider: openai
  config:
    openai_api_key: $OPENAI_API_KEY
endpoints:
  - name: a
    endpoint_type: llm/v1/chat
    model:
      <<: *openai
      name: gpt-4o
  - name: b
    endpoint_type: llm/v1/chat
    model:
      <<: *openai
      name: gpt-4o-mini
";
    let config =
        Config::from_str_with_env(yaml, "anchors.yaml", |_| Some("sk-x".to_owned())).unwrap();
    let b = config.endpoint("b").unwrap().model();
    assert_eq!((b.provider(), b.name()), ("openai", "gpt-4o-mini"));
    assert_eq!(b.config()["openai_api_key"], "sk-x");
    // `defaults` is not a key towergate reads: a warning, not an error.
    assert_eq!(config.warnings().len(), 1);
    assert_eq!(
        config.warnings()[0].to_string(),
        "anchors.yaml:1:1: defaults: unknown key `defaults` is ignored"
    );
}
