//! The MLflow model-serving adapter against the mock's `/invocations` wire, over loopback.

#![cfg(feature = "mlflow-serving")]
#![cfg(feature = "mlflow-serving")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{call, chat, client, completion, embeddings, mlflow_completes, mlflow_refusal};
use serde_json::json;
use towergate_core::{ErrorKind, Payload, embeddings::Vector};
use towergate_providers::{mlflow_serving::MlflowServing, unknown_config_keys};
use towergate_testkit::{Behavior, Fault, MockUpstream};

const PROVIDER: &str = "mlflow-model-serving";

fn served_at(url: String) -> MlflowServing {
    MlflowServing::builder(url, "my-model")
        .build(&client())
        .unwrap()
}

#[tokio::test]
async fn a_chat_sends_its_one_query_as_inputs_and_the_rest_as_params() {
    let upstream = MockUpstream::start().await;
    let served = served_at(upstream.url());

    let response = call(
        &served,
        chat(json!({
            "model": "my-endpoint",
            "messages": [{"role": "user", "content": "What is MLflow?"}],
            "temperature": 0.5,
            "max_tokens": 10,
            "stop": ["\n"],
            "top_k": 3
        })),
    )
    .await
    .unwrap();

    let received = &upstream.requests()[0];
    assert_eq!(received.method, http::Method::POST);
    assert_eq!(received.path, "/invocations");
    assert_eq!(received.headers["content-type"], "application/json");
    assert_eq!(
        received.body,
        json!({
            "inputs": ["What is MLflow?"],
            "params": {"temperature": 0.5, "max_tokens": 10, "stop": ["\n"], "top_k": 3}
        })
    );

    let Payload::Chat(answer) = &response.payload else {
        panic!("expected a chat answer, got {:?}", response.payload);
    };
    assert_eq!(answer.object, "chat.completion");
    assert_eq!(answer.model, "my-model");
    assert_eq!(answer.choices.len(), 1);
    assert_eq!(
        answer.choices[0].message.text_content().as_deref(),
        Some("echo: What is MLflow?")
    );
    // As MLflow's gateway answers: no finish reason, no usage.
    assert_eq!(answer.choices[0].finish_reason, None);
    assert_eq!(answer.usage, None);
    assert_eq!(response.meta.provider.as_deref(), Some(PROVIDER));
    assert_eq!(response.meta.model.as_deref(), Some("my-model"));
    assert!(response.meta.upstream_latency.is_some());
}

#[tokio::test]
async fn a_chat_of_several_messages_is_refused_as_mlflow_refuses_it() {
    let upstream = MockUpstream::start().await;
    let served = served_at(upstream.url());

    let error = call(
        &served,
        chat(json!({"messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"}
        ]})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 400);
    assert!(
        error
            .message()
            .contains("only capable of processing a single query"),
        "{}",
        error.message()
    );
    assert_eq!(upstream.request_count(), 0);
}

#[tokio::test]
async fn completions_send_every_prompt_and_get_one_choice_each() {
    let upstream = MockUpstream::start().await;
    let served = served_at(upstream.url());

    let response = call(
        &served,
        completion(json!({"prompt": ["one two three", "four"], "max_tokens": 2})),
    )
    .await
    .unwrap();

    assert_eq!(
        upstream.requests()[0].body,
        json!({"inputs": ["one two three", "four"], "params": {"max_tokens": 2}})
    );
    let Payload::Completion(answer) = &response.payload else {
        panic!("expected a completion");
    };
    let texts: Vec<&str> = answer.choices.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["echo: one", "echo: four"]);
    assert_eq!(answer.choices[1].index, 1);
    assert_eq!(answer.object, "text_completion");
}

#[tokio::test]
async fn embeddings_send_every_input_and_read_one_vector_each() {
    let upstream = MockUpstream::start().await;
    let served = served_at(format!("{}/embed", upstream.url()));

    let response = call(
        &served,
        embeddings(json!({"input": ["one", "two"], "dimensions": 4})),
    )
    .await
    .unwrap();
    let received = &upstream.requests()[0];
    assert_eq!(received.path, "/embed/invocations");
    assert_eq!(
        received.body,
        json!({"inputs": ["one", "two"], "params": {"dimensions": 4}})
    );
    let Payload::Embeddings(answer) = &response.payload else {
        panic!("expected embeddings");
    };
    assert_eq!(answer.object, "list");
    assert_eq!(answer.data.len(), 2);
    assert!(matches!(&answer.data[0].embedding, Vector::Float(v) if v.len() == 4));
    assert_ne!(answer.data[0].embedding, answer.data[1].embedding);

    let response = call(
        &served,
        embeddings(json!({"input": "one", "encoding_format": "base64"})),
    )
    .await
    .unwrap();
    assert_eq!(upstream.requests()[1].body, json!({"inputs": ["one"]}));
    let Payload::Embeddings(answer) = &response.payload else {
        panic!("expected embeddings");
    };
    assert!(matches!(&answer.data[0].embedding, Vector::Base64(text) if !text.is_empty()));
}

#[tokio::test]
async fn streams_are_refused_as_mlflow_does_not_stream_them() {
    let upstream = MockUpstream::start().await;
    let served = served_at(upstream.url());

    let error = call(
        &served,
        chat(json!({"messages": [{"role": "user", "content": "x"}], "stream": true})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 400);
    assert_eq!(error.param(), Some("stream"));
    assert!(error.message().contains(PROVIDER), "{}", error.message());
    assert_eq!(upstream.request_count(), 0);
}

#[tokio::test]
async fn mlflow_s_error_message_status_and_code_survive() {
    let upstream = MockUpstream::start().await;
    let served = served_at(upstream.url());

    let error = call(
        &served,
        completion(json!({"prompt": "x", "mock": {"fault": "status:503"}})),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::Upstream(http::StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(error.message(), "mock upstream fault: status 503");
    assert_eq!(error.code(), Some("TEMPORARILY_UNAVAILABLE"));
}

#[tokio::test]
async fn an_answer_without_predictions_is_a_bad_gateway() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::MalformedJson)).await;
    let served = served_at(upstream.url());

    let error = call(&served, completion(json!({"prompt": "x"})))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadGateway);
    assert!(
        error.message().contains(&upstream.addr().to_string()),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn a_stalled_server_times_out() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::Stall)).await;
    let served = MlflowServing::builder(upstream.url(), "m")
        .request_timeout(std::time::Duration::from_millis(200))
        .build(&client())
        .unwrap();

    let error = call(&served, completion(json!({"prompt": "x"})))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(error.status().as_u16(), 504);
}

#[tokio::test]
async fn from_mlflow_reads_model_server_url() {
    let upstream = MockUpstream::start().await;
    let config = json!({"model_server_url": upstream.url()});
    let response = mlflow_completes(PROVIDER, "served", &config).await;
    assert_eq!(response.meta.model.as_deref(), Some("served"));
    assert!(unknown_config_keys(PROVIDER, config.as_object().unwrap()).is_empty());

    let config = json!({"model_server_url": "http://127.0.0.1:1", "api_base": upstream.url()});
    mlflow_completes(PROVIDER, "served", &config).await;
    assert_eq!(upstream.request_count(), 2);
}

#[test]
fn from_mlflow_needs_the_server_url() {
    let error = mlflow_refusal(PROVIDER, &json!({}));
    assert_eq!(
        error.to_string(),
        format!("provider `{PROVIDER}`: missing `model_server_url`")
    );
    assert_eq!(error.key(), Some("model_server_url"));
    let error = mlflow_refusal(
        PROVIDER,
        &json!({"model_server_url": "http://127.0.0.1:5001?x=1"}),
    );
    assert_eq!(error.key(), Some("model_server_url"));
}
