use serde_json::json;
use towergate_core::{
    Operation, chat::ChatRequest, completion::CompletionRequest, embeddings::EmbeddingsRequest,
};

use super::*;

fn chat(value: serde_json::Value) -> Operation {
    Operation::Chat(serde_json::from_value::<ChatRequest>(value).unwrap())
}

fn key(operation: &mut Operation) -> CacheKey {
    CacheKey::of("chat", operation).unwrap()
}

fn base() -> serde_json::Value {
    json!({
        "model": "chat",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"}
        ],
        "temperature": 0.2,
        "seed": 7,
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "a": {"type": "integer"}}}}}],
        "vendor_knob": {"b": 1, "a": 2}
    })
}

#[test]
fn field_order_and_whitespace_do_not_matter() {
    let compact = serde_json::to_string(&base()).unwrap();
    let reordered = r#"
        { "vendor_knob" : { "a" : 2 , "b" : 1 },
          "tools": [{"function": {"parameters": {"properties": {"a": {"type": "integer"}, "q": {"type": "string"}}, "type": "object"}, "name": "lookup"}, "type": "function"}],
          "seed": 7, "temperature": 0.20,
          "messages": [{"content": "Be brief.", "role": "system"}, {"content": "Capital of France?", "role": "user"}],
          "model": "chat" }"#;
    let mut a = Operation::Chat(serde_json::from_str(&compact).unwrap());
    let mut b = Operation::Chat(serde_json::from_str(reordered).unwrap());
    assert_eq!(key(&mut a), key(&mut b));
}

#[test]
fn user_stream_model_and_stream_options_are_not_part_of_the_key() {
    let mut plain = chat(base());
    let mut other = base();
    other["user"] = json!("someone-else");
    other["stream"] = json!(true);
    other["stream_options"] = json!({"include_usage": true});
    other["model"] = json!("another-name");
    let mut other = chat(other);
    assert_eq!(key(&mut plain), key(&mut other));
    // And hashing put them back.
    let Operation::Chat(other) = other else {
        unreachable!()
    };
    assert_eq!(other.user.as_deref(), Some("someone-else"));
    assert!(other.is_stream() && other.wants_stream_usage());
}

#[test]
fn every_parameter_is_part_of_the_key() {
    let changes = [
        ("temperature", json!(0.3)),
        ("seed", json!(8)),
        ("top_p", json!(0.5)),
        ("max_tokens", json!(10)),
        ("n", json!(2)),
        ("stop", json!(["x"])),
        ("tool_choice", json!("none")),
        ("response_format", json!({"type": "json_object"})),
        ("tools", json!([])),
        ("vendor_knob", json!({"a": 2, "b": 2})),
        ("logprobs", json!(true)),
        (
            "messages",
            json!([{"role": "user", "content": "Capital of Spain?"}]),
        ),
    ];
    let original = key(&mut chat(base()));
    for (field, value) in changes {
        let mut changed = base();
        changed[field] = value;
        assert_ne!(
            key(&mut chat(changed)),
            original,
            "{field} is part of the key"
        );
    }
}

#[test]
fn endpoint_and_operation_are_part_of_the_key() {
    let mut request = chat(base());
    assert_ne!(
        CacheKey::of("chat", &mut request),
        CacheKey::of("chat-2", &mut request)
    );
    let completion: CompletionRequest =
        serde_json::from_value(json!({"prompt": "Capital of France?"})).unwrap();
    let embeddings: EmbeddingsRequest =
        serde_json::from_value(json!({"input": "Capital of France?"})).unwrap();
    assert_ne!(
        CacheKey::of("x", &mut Operation::Completion(completion)),
        CacheKey::of("x", &mut Operation::Embeddings(embeddings))
    );
    assert_eq!(CacheKey::of("x", &mut Operation::ListEndpoints), None);
}

#[test]
fn a_partition_leaves_out_only_the_last_user_text() {
    let ask = |question: &str, system: &str, temperature: f64| {
        chat(json!({
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": question}
            ],
            "temperature": temperature
        }))
    };
    let (a, text) =
        PartitionKey::of("chat", &mut ask("Capital of France?", "Be brief.", 0.0)).unwrap();
    assert_eq!(text, "Capital of France?");
    let (b, _) = PartitionKey::of(
        "chat",
        &mut ask("What is France's capital?", "Be brief.", 0.0),
    )
    .unwrap();
    assert_eq!(a, b);
    let (c, _) =
        PartitionKey::of("chat", &mut ask("Capital of France?", "Be verbose.", 0.0)).unwrap();
    let (d, _) =
        PartitionKey::of("chat", &mut ask("Capital of France?", "Be brief.", 1.0)).unwrap();
    assert_ne!(a, c);
    assert_ne!(a, d);
}

#[test]
fn no_partition_without_user_text() {
    let mut assistant_last = chat(json!({"messages": [{"role": "assistant", "content": "Hi"}]}));
    assert!(PartitionKey::of("chat", &mut assistant_last).is_none());
    let mut blank = chat(json!({"messages": [{"role": "user", "content": "  "}]}));
    assert!(PartitionKey::of("chat", &mut blank).is_none());
}

#[test]
fn no_partition_for_a_question_about_an_image() {
    let mut image = chat(json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    ]}]}));
    assert!(PartitionKey::of("chat", &mut image).is_none());
    let mut text_parts = chat(json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"}
    ]}]}));
    assert!(PartitionKey::of("chat", &mut text_parts).is_some());
}
