//! Non-OpenAI providers from the config file, end to end: OpenAI's API in
//! front, each provider's own wire (the testkit mock) behind, and usage and
//! cost accounted the same way for all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{post_json, start};
use serde_json::json;
use towergate_testkit::{
    BEDROCK_ACCESS_KEY_ID, BEDROCK_SECRET_ACCESS_KEY,
    behavior::{Behavior, Fault},
};

/// Every adapted provider's endpoint, on the mock's wires.
fn providers() -> String {
    format!(
        "{PROVIDERS}  - name: bedrock
    endpoint_type: llm/v1/chat
    model:
      provider: amazon-bedrock
      name: anthropic.claude-3-haiku-20240307-v1:0
      config:
        aws_config: {{aws_region: us-east-1, aws_access_key_id: {BEDROCK_ACCESS_KEY_ID},
                     aws_secret_access_key: {BEDROCK_SECRET_ACCESS_KEY}}}
        api_base: \"{{upstream_root}}\"
    pricing: {{input_per_million: 0.25, output_per_million: 1.25}}
"
    )
}

const PROVIDERS: &str = r#"
endpoints:
  - name: claude
    endpoint_type: llm/v1/chat
    model:
      provider: anthropic
      name: claude-sonnet-4-0
      config: {anthropic_api_key: sk-ant, anthropic_api_base: "{upstream}"}
  - name: gemini
    endpoint_type: llm/v1/chat
    model:
      provider: gemini
      name: gemini-2.0-flash
      config: {gemini_api_key: g-key, gemini_api_base: "{upstream_root}/v1beta"}
  - name: gemini-embed
    endpoint_type: llm/v1/embeddings
    model:
      provider: gemini
      name: text-embedding-004
      config: {gemini_api_key: g-key, gemini_api_base: "{upstream_root}/v1beta"}
  - name: mistral
    endpoint_type: llm/v1/chat
    model:
      provider: mistral
      name: mistral-small-latest
      config: {mistral_api_key: m-key, mistral_api_base: "{upstream_root}/mistral/v1"}
  - name: cohere
    endpoint_type: llm/v1/chat
    model:
      provider: cohere
      name: command-r
      config: {cohere_api_key: c-key, api_base: "{upstream_root}"}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn each_provider_answers_through_the_openai_front_with_usage_and_cost() {
    let gateway = start(&providers()).await;
    let url = gateway.url("/v1/chat/completions");
    for endpoint in ["claude", "gemini", "mistral", "cohere", "bedrock"] {
        let reply = post_json(
            &url,
            &[],
            json!({"model": endpoint, "max_tokens": 50,
                   "messages": [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "hello there"}]}),
        )
        .await;
        assert_eq!(reply.status, 200, "{endpoint}: {}", reply.text());
        let answer = reply.json();
        let content = answer["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(!content.is_empty(), "{endpoint}: {answer}");
        assert!(
            answer["usage"]["prompt_tokens"].as_u64().unwrap() > 0,
            "{endpoint}: {answer}"
        );
        assert_eq!(reply.header("x-towergate-endpoint"), Some(endpoint));
        // Built-in list prices apply to these models.
        let cost: f64 = reply
            .header("x-towergate-cost-usd")
            .unwrap()
            .parse()
            .unwrap();
        assert!(cost > 0.0, "{endpoint}: cost {cost}");

        let reply = post_json(
            &url,
            &[],
            json!({"model": endpoint, "stream": true, "stream_options": {"include_usage": true},
                   "messages": [{"role": "user", "content": "stream please"}]}),
        )
        .await;
        assert_eq!(reply.status, 200, "{endpoint}: {}", reply.text());
        let chunks = reply.chunks();
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert!(!text.is_empty(), "{endpoint}: {chunks:?}");
        assert!(
            chunks.last().unwrap()["usage"]["total_tokens"]
                .as_u64()
                .unwrap()
                > 0
        );
    }
    let reply = post_json(
        &gateway.url("/v1/embeddings"),
        &[],
        json!({"model": "gemini-embed", "input": ["one", "two"]}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["data"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_providers_error_message_reaches_the_caller() {
    let gateway = start(&providers()).await;
    gateway
        .upstream
        .set_behavior(Behavior::new().fault(Fault::Status(529)));
    let reply = post_json(
        &gateway.url("/v1/chat/completions"),
        &[],
        json!({"model": "claude", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(reply.status, 529, "{}", reply.text());
    assert!(
        !reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .is_empty()
    );
}
