//! The template layer alone, over a capturing service and the testkit's
//! provider: what reaches the provider, the header, the extension, and the
//! requests it refuses or passes untouched.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use serde_json::json;
use tower::{Layer, ServiceExt};
use towergate_core::{
    ErrorKind, GatewayError, GatewayRequest, Operation, Payload, PromptChoice, chat::Role,
};
use towergate_template::{
    PROMPT_HEADER, PromptLibrary, PromptSelection, SelectionError, TemplateLayer,
};
use towergate_testkit::MockProvider;

fn layer(selection: PromptSelection) -> TemplateLayer {
    TemplateLayer::new(common::library(), selection).unwrap()
}

#[tokio::test]
async fn the_template_goes_before_the_callers_messages_and_the_variables_stay_behind() {
    let (provider, seen) = common::capturing();
    let service = layer(PromptSelection::pinned("summarize", 1)).layer(provider);
    let answer = service
        .oneshot(common::chat(json!({
            "messages": [{"role": "user", "content": "Be brief."}],
            "prompt_variables": {"words": 20, "text": "The cat sat."},
            "vendor_knob": 7
        })))
        .await
        .unwrap();
    assert_eq!(answer.meta.headers[PROMPT_HEADER], "summarize@1");

    let seen = seen.lock().unwrap();
    let (chat, choice) = &seen[0];
    let messages: Vec<_> = chat
        .messages
        .iter()
        .map(|m| (m.role, m.text_content().unwrap()))
        .collect();
    assert_eq!(
        messages,
        [
            (Role::System, "You summarize.".to_owned()),
            (Role::User, "Summarize in 20 words: The cat sat.".to_owned()),
            (Role::User, "Be brief.".to_owned()),
        ]
    );
    assert!(!chat.extra.contains_key("prompt_variables"));
    assert_eq!(chat.extra["vendor_knob"], 7);
    assert_eq!(choice.as_ref(), Some(&PromptChoice::new("summarize", 1)));
    let body = serde_json::to_string(chat).unwrap();
    assert!(!body.contains("prompt_variables"), "{body}");
}

#[tokio::test]
async fn over_the_mock_provider_the_answer_names_the_latest_version() {
    let provider = MockProvider::new();
    let service = layer(PromptSelection::latest("summarize")).layer(provider.clone());
    let answer = service
        .oneshot(common::chat(json!({
            "messages": [{"role": "user", "content": "Be brief."}],
            "prompt_variables": {"words": 20, "text": "x"}
        })))
        .await
        .unwrap();
    assert_eq!(answer.meta.headers[PROMPT_HEADER], "summarize@2");
    let Payload::Chat(chat) = answer.payload else {
        panic!("not a chat answer");
    };
    // The mock echoes the last user message: the caller's own.
    assert_eq!(
        chat.choices[0].message.text_content().as_deref(),
        Some("echo: Be brief.")
    );
    assert_eq!(provider.calls(), 1);
}

#[tokio::test]
async fn a_refusal_names_the_version_and_never_reaches_the_provider() {
    let provider = MockProvider::new();
    let service = layer(PromptSelection::pinned("summarize", 2)).layer(provider.clone());
    let error = service
        .clone()
        .oneshot(common::chat(json!({
            "messages": [],
            "prompt_variables": {"words": 20}
        })))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(error.param(), Some("prompt_variables.text"));
    assert_eq!(error.headers().unwrap()[PROMPT_HEADER], "summarize@2");

    let error = service
        .oneshot(common::chat(json!({
            "messages": [],
            "prompt_variables": ["words", 20]
        })))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(error.param(), Some("prompt_variables"));
    assert!(
        error.message().contains("JSON object"),
        "{}",
        error.message()
    );
    assert_eq!(error.headers().unwrap()[PROMPT_HEADER], "summarize@2");
    assert_eq!(provider.calls(), 0);
}

#[tokio::test]
async fn the_providers_error_keeps_its_kind_and_gains_the_header() {
    let provider = MockProvider::new().fail_with(GatewayError::bad_gateway("upstream down"));
    let service = layer(PromptSelection::pinned("plain", 1)).layer(provider);
    let error = service
        .oneshot(common::chat(json!({"messages": []})))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadGateway);
    assert_eq!(error.message(), "upstream down");
    assert_eq!(error.headers().unwrap()[PROMPT_HEADER], "plain@1");
}

#[tokio::test]
async fn a_chat_without_variables_gets_the_template_rendered_with_none() {
    let (provider, seen) = common::capturing();
    let plain = layer(PromptSelection::latest("plain")).layer(provider.clone());
    plain
        .oneshot(common::chat(
            json!({"messages": [{"role": "user", "content": "Hello"}]}),
        ))
        .await
        .unwrap();
    let texts: Vec<_> = seen.lock().unwrap()[0]
        .0
        .messages
        .iter()
        .map(|m| m.text_content().unwrap())
        .collect();
    assert_eq!(texts, ["Answer in French.", "Hello"]);

    let summarize = layer(PromptSelection::latest("summarize")).layer(provider);
    let error = summarize
        .oneshot(common::chat(
            json!({"messages": [{"role": "user", "content": "Hello"}]}),
        ))
        .await
        .unwrap_err();
    assert_eq!(error.param(), Some("prompt_variables.words"));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn completions_and_embeddings_pass_untouched_unless_they_carry_variables() {
    let provider = MockProvider::new();
    let service = layer(PromptSelection::latest("summarize")).layer(provider.clone());
    let completion = |body| {
        GatewayRequest::new(
            "text",
            Operation::Completion(serde_json::from_value(body).unwrap()),
        )
    };
    let embeddings = |body| {
        GatewayRequest::new(
            "embed",
            Operation::Embeddings(serde_json::from_value(body).unwrap()),
        )
    };

    let answer = service
        .clone()
        .oneshot(completion(json!({"prompt": "Once upon"})))
        .await
        .unwrap();
    assert!(answer.meta.headers.get(PROMPT_HEADER).is_none());
    let answer = service
        .clone()
        .oneshot(embeddings(json!({"input": "hello"})))
        .await
        .unwrap();
    assert!(answer.meta.headers.get(PROMPT_HEADER).is_none());
    // The mock refuses listings: the refusal passes untouched.
    let refused = service
        .clone()
        .oneshot(GatewayRequest::new("", Operation::ListEndpoints))
        .await
        .unwrap_err();
    assert!(refused.message().contains("does not list endpoints"));
    assert!(refused.headers().is_none());
    assert_eq!(provider.calls(), 3);

    for request in [
        completion(json!({"prompt": "Once upon", "prompt_variables": {"words": 2}})),
        embeddings(json!({"input": "hello", "prompt_variables": {}})),
    ] {
        let error = service.clone().oneshot(request).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        assert_eq!(error.param(), Some("prompt_variables"));
        assert!(
            error.message().contains("chat endpoints"),
            "{}",
            error.message()
        );
    }
    assert_eq!(provider.calls(), 3);
}

#[test]
fn a_selection_must_fit_its_library() {
    let library = common::library();
    let refused = |selection| TemplateLayer::new(library.clone(), selection).unwrap_err();
    assert_eq!(
        refused(PromptSelection::latest("nope")),
        SelectionError::UnknownPrompt {
            name: "nope".into()
        }
    );
    let unknown = refused(PromptSelection::pinned("summarize", 9));
    assert_eq!(
        unknown,
        SelectionError::UnknownVersion {
            name: "summarize".into(),
            version: 9,
            known: vec![1, 2]
        }
    );
    assert_eq!(
        unknown.to_string(),
        "prompt `summarize` has no version 9 (it has 1, 2)"
    );
    assert!(matches!(
        refused(PromptSelection::split("summarize", [(1, 50), (3, 50)])),
        SelectionError::UnknownVersion { version: 3, .. }
    ));
    assert_eq!(
        refused(PromptSelection::split("summarize", [(1, 0), (2, 0)])),
        SelectionError::NoWeight {
            name: "summarize".into()
        }
    );
    assert_eq!(
        refused(PromptSelection::split("summarize", [])),
        SelectionError::NoWeight {
            name: "summarize".into()
        }
    );
    assert_eq!(
        refused(PromptSelection::split("summarize", [(1, 5), (1, 5)])),
        SelectionError::DuplicateArm {
            name: "summarize".into(),
            version: 1
        }
    );
    assert!(TemplateLayer::new(PromptLibrary::empty(), PromptSelection::latest("x")).is_err());
}

#[test]
fn an_endpoints_prompt_key_deserializes_from_the_config_shape() {
    let parse = |yaml: &str| serde_yaml_ng::from_str::<PromptSelection>(yaml);
    assert_eq!(
        parse("{name: summarize, version: 2}").unwrap(),
        PromptSelection::pinned("summarize", 2)
    );
    assert_eq!(
        parse("{name: summarize}").unwrap(),
        PromptSelection::latest("summarize")
    );
    assert_eq!(
        parse("{name: summarize, split: {1: 50, 2: 50}, sticky: true}").unwrap(),
        PromptSelection::split("summarize", [(1, 50), (2, 50)]).sticky(true)
    );
    assert!(parse("{name: summarize, version: 1, split: {1: 50}}").is_err());
    assert!(parse("{name: summarize, sticky: true}").is_err());
    assert!(parse("{name: summarize, versoin: 1}").is_err());
}
