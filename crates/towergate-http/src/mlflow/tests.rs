#![allow(clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tower::{ServiceExt, service_fn, util::BoxCloneService};
use towergate_core::{
    EndpointInfo, EndpointKind, EndpointType, ErrorKind, GatewayError, GatewayRequest,
    GatewayResponse, Operation, Payload, RateLimitInfo,
};
use towergate_testkit::MockProvider;

use super::MlflowFront;

type Gateway = BoxCloneService<GatewayRequest, GatewayResponse, GatewayError>;

/// What the inner service was asked for, model calls only.
type Seen = Arc<Mutex<Vec<(String, Operation)>>>;

fn info(name: &str, kind: EndpointKind, endpoint_type: EndpointType) -> EndpointInfo {
    EndpointInfo {
        name: name.into(),
        kind,
        endpoint_type,
        provider: (kind == EndpointKind::Endpoint).then(|| "openai".into()),
        model: (kind == EndpointKind::Endpoint).then(|| format!("{name}-model")),
        limit: None,
    }
}

fn listing() -> Vec<EndpointInfo> {
    let mut chat = info("chat", EndpointKind::Endpoint, EndpointType::Chat);
    chat.limit = Some(RateLimitInfo {
        renewal_period: "minute".into(),
        calls: 10,
    });
    vec![
        chat,
        info("split", EndpointKind::Route, EndpointType::Chat),
        info(
            "completions",
            EndpointKind::Endpoint,
            EndpointType::Completions,
        ),
        info("embed", EndpointKind::Endpoint, EndpointType::Embeddings),
        info("limited", EndpointKind::Endpoint, EndpointType::Chat),
        info("broken", EndpointKind::Endpoint, EndpointType::Chat),
    ]
}

/// A stand-in for the gateway stack: lists [`listing`], answers model calls
/// with the testkit's mock provider, refuses `limited` and `hidden`, and
/// breaks `broken`'s stream after its first chunk.
fn gateway(endpoints: Vec<EndpointInfo>) -> (Gateway, Seen) {
    let seen = Seen::default();
    let recorded = seen.clone();
    let provider = MockProvider::new().model("upstream-model");
    let service = service_fn(move |request: GatewayRequest| {
        let endpoints = endpoints.clone();
        let recorded = recorded.clone();
        let provider = provider.clone();
        async move {
            if let Operation::ListEndpoints = request.operation {
                return Ok(GatewayResponse::new(Payload::Endpoints(endpoints)));
            }
            let name = request.endpoint.clone();
            recorded
                .lock()
                .unwrap()
                .push((name.clone(), request.operation.clone()));
            match name.as_str() {
                "limited" => Err(GatewayError::new(
                    ErrorKind::RateLimited,
                    "Rate limit exceeded: 10 per 1 minute",
                )
                .with_retry_after(Duration::from_millis(1500))),
                "hidden" => Err(GatewayError::new(
                    ErrorKind::Forbidden,
                    "API key `k` may not use endpoint `hidden`",
                )),
                "broken" => {
                    let mut response = provider.oneshot(request).await?;
                    if let Payload::ChatStream(chunks) = response.payload {
                        let first = chunks.into_future().await.0;
                        let items = first
                            .into_iter()
                            .chain([Err(GatewayError::bad_gateway("upstream went away"))]);
                        response.payload =
                            Payload::ChatStream(Box::pin(futures_util::stream::iter(items)));
                    }
                    Ok(response)
                }
                name if endpoints.iter().any(|e| e.name == name) => provider.oneshot(request).await,
                _ => Err(GatewayError::not_found(format!(
                    "endpoint `{name}` does not exist"
                ))),
            }
        }
    });
    (BoxCloneService::new(service), seen)
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn events(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.body)
            .split("\n\n")
            .filter_map(|event| event.strip_prefix("data: "))
            .map(str::to_owned)
            .collect()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn send(front: &MlflowFront<Gateway>, method: Method, uri: &str, body: &str) -> Reply {
    let request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("x-request-id", "req-7")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = front.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

async fn post(front: &MlflowFront<Gateway>, uri: &str, body: Value) -> Reply {
    send(front, Method::POST, uri, &body.to_string()).await
}

fn front() -> (MlflowFront<Gateway>, Seen) {
    let (gateway, seen) = gateway(listing());
    (MlflowFront::new(gateway), seen)
}

fn user(text: &str) -> Value {
    json!({"messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn health_and_request_id() {
    let (front, _) = front();
    let reply = send(&front, Method::GET, "/health", "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"status": "OK"}));
    assert_eq!(reply.header("x-request-id"), Some("req-7"));
}

#[tokio::test]
async fn the_listing_pages_through_endpoints_and_leaves_routes_out() {
    let mut endpoints = listing();
    endpoints.extend((0..4).map(|i| {
        info(
            &format!("extra-{i}"),
            EndpointKind::Endpoint,
            EndpointType::Embeddings,
        )
    }));
    let (gateway, _) = gateway(endpoints);
    let front = MlflowFront::new(gateway).page_size(4);
    let mut names = Vec::new();
    let mut uri = "/api/2.0/endpoints/".to_owned();
    let mut pages = 0;
    loop {
        let reply = send(&front, Method::GET, &uri, "").await;
        assert_eq!(reply.status, 200);
        let page = reply.json();
        let listed = page["endpoints"].as_array().unwrap();
        assert!(listed.len() <= 4);
        names.extend(
            listed
                .iter()
                .map(|e| e["name"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        match &page["next_page_token"] {
            Value::String(token) => uri = format!("/api/2.0/endpoints/?page_token={token}"),
            Value::Null => break,
            other => panic!("unexpected token {other}"),
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        names,
        [
            "chat",
            "completions",
            "embed",
            "limited",
            "broken",
            "extra-0",
            "extra-1",
            "extra-2",
            "extra-3"
        ]
    );

    let reply = send(&front, Method::GET, "/api/2.0/endpoints?page_token=200", "").await;
    assert_eq!(
        reply.json(),
        json!({"endpoints": [], "next_page_token": null})
    );
    let reply = send(&front, Method::GET, "/api/2.0/endpoints/?page_token=x", "").await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["detail"]
            .as_str()
            .unwrap()
            .contains("page_token")
    );
}

#[tokio::test]
async fn the_default_page_holds_a_hundred() {
    let endpoints = (0..150)
        .map(|i| info(&format!("e{i}"), EndpointKind::Endpoint, EndpointType::Chat))
        .collect();
    let (gateway, _) = gateway(endpoints);
    let front = MlflowFront::new(gateway);
    let first = send(&front, Method::GET, "/api/2.0/endpoints/", "")
        .await
        .json();
    assert_eq!(first["endpoints"].as_array().unwrap().len(), 100);
    assert_eq!(first["next_page_token"], "100");
    let uri = "/api/2.0/endpoints/?page_token=100";
    let second = send(&front, Method::GET, uri, "").await.json();
    assert_eq!(second["endpoints"].as_array().unwrap().len(), 50);
    assert_eq!(second["endpoints"][0]["name"], "e100");
    assert_eq!(second["next_page_token"], Value::Null);
}

#[tokio::test]
async fn one_endpoint_in_mlflow_shape() {
    let (front, _) = front();
    let reply = send(&front, Method::GET, "/api/2.0/endpoints/chat", "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({
            "name": "chat",
            "endpoint_type": "llm/v1/chat",
            "model": {"name": "chat-model", "provider": "openai"},
            "endpoint_url": "/gateway/chat/invocations",
            "limit": {"calls": 10, "key": null, "renewal_period": "minute"}
        })
    );
    let reply = send(&front, Method::GET, "/api/2.0/endpoints/embed", "").await;
    assert_eq!(reply.json()["limit"], Value::Null);
    assert_eq!(reply.json()["endpoint_type"], "llm/v1/embeddings");

    for name in ["nope", "split"] {
        let uri = format!("/api/2.0/endpoints/{name}");
        let reply = send(&front, Method::GET, &uri, "").await;
        assert_eq!(reply.status, 404, "{name}");
        assert_eq!(
            reply.json()["detail"],
            format!(
                "The endpoint '{name}' is not present or active on the server. \
                 Please verify the endpoint name."
            )
        );
    }
}

#[tokio::test]
async fn chat_on_both_prefixes_and_a_route() {
    let (front, seen) = front();
    for uri in [
        "/endpoints/chat/invocations",
        "/gateway/chat/invocations",
        "/gateway/split/invocations",
    ] {
        let reply = post(&front, uri, user("hello there")).await;
        assert_eq!(reply.status, 200, "{uri}");
        let answer = reply.json();
        assert_eq!(answer["object"], "chat.completion");
        assert_eq!(answer["model"], "upstream-model");
        assert_eq!(answer["provider"], "mock");
        assert!(answer["choices"][0]["message"]["content"].is_string());
        assert!(answer["usage"]["total_tokens"].as_u64().unwrap() > 0);
        assert_eq!(reply.header("x-request-id"), Some("req-7"));
        assert!(reply.header("x-towergate-prompt-tokens").is_some());
    }
    let seen = seen.lock().unwrap();
    let names: Vec<_> = seen.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["chat", "chat", "split"]);
    let Operation::Chat(chat) = &seen[0].1 else {
        panic!("not a chat call")
    };
    assert_eq!(chat.model, None);
    assert_eq!(chat.temperature, None);
}

#[tokio::test]
async fn completions_and_embeddings() {
    let (front, seen) = front();
    let reply = post(
        &front,
        "/endpoints/completions/invocations",
        json!({"prompt": "say hi", "max_tokens": 5, "vendor_knob": 1}),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["object"], "text_completion");
    assert!(reply.json()["choices"][0]["text"].is_string());

    let reply = post(
        &front,
        "/gateway/embed/invocations",
        json!({"input": ["a", "b"]}),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["object"], "list");
    assert_eq!(reply.json()["data"].as_array().unwrap().len(), 2);

    let seen = seen.lock().unwrap();
    let Operation::Completion(completion) = &seen[0].1 else {
        panic!("not a completion")
    };
    assert_eq!(completion.extra["vendor_knob"], 1);
    assert!(matches!(seen[1].1, Operation::Embeddings(_)));
}

#[tokio::test]
async fn a_body_of_the_wrong_type_for_the_endpoint_is_422() {
    let (front, seen) = front();
    let reply = post(&front, "/endpoints/completions/invocations", user("hi")).await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.json(),
        json!({"detail": [{"type": "missing", "loc": ["body", "prompt"], "msg": "Field required"}]})
    );
    let reply = post(
        &front,
        "/endpoints/chat/invocations",
        json!({"prompt": "x"}),
    )
    .await;
    assert_eq!(
        reply.json()["detail"][0]["loc"],
        json!(["body", "messages"])
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn mlflow_422s() {
    let (front, seen) = front();
    let chat = "/endpoints/chat/invocations";

    let reply = post(&front, chat, json!({"messages": []})).await;
    assert_eq!(reply.status, 422);
    let issue = &reply.json()["detail"][0];
    assert_eq!(issue["type"], "too_short");
    assert_eq!(issue["loc"], json!(["body", "messages"]));

    let reply = post(&front, chat, json!({"messages": "x"})).await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.json()["detail"][0]["loc"],
        json!(["body", "messages"])
    );

    let reply = post(
        &front,
        chat,
        json!({"messages": [{"role": "user", "content": "hi"}, {"role": "robot"}]}),
    )
    .await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.json()["detail"][0]["loc"],
        json!(["body", "messages", 1, "role"])
    );

    let reply = send(&front, Method::POST, chat, "{not json").await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.json()["detail"][0]["type"], "json_invalid");
    assert_eq!(reply.json()["detail"][0]["msg"], "JSON decode error");

    let mut body = user("hi");
    body["temperature"] = json!(3);
    body["n"] = json!(0);
    body["top_p"] = json!(-1);
    let reply = post(&front, chat, body).await;
    assert_eq!(reply.status, 422);
    let detail = reply.json()["detail"].clone();
    let kinds: Vec<_> = detail
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["loc"][1].as_str().unwrap().to_owned(), i["type"].clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("temperature".to_owned(), json!("less_than_equal")),
            ("top_p".to_owned(), json!("greater_than_equal")),
            ("n".to_owned(), json!("greater_than_equal")),
        ]
    );
    assert_eq!(detail[0]["msg"], "Input should be less than or equal to 2");

    for uri in [chat, "/gateway/embed/invocations"] {
        let mut body = if uri == chat {
            user("hi")
        } else {
            json!({"input": "hi"})
        };
        body["model"] = json!("gpt-4o");
        let reply = post(&front, uri, body).await;
        assert_eq!(reply.status, 422, "{uri}");
        assert_eq!(
            reply.json(),
            json!({"detail": "The parameter 'model' is not permitted to be passed. \
                The route being queried already defines a model instance."})
        );
        assert_eq!(reply.header("x-request-id"), Some("req-7"));
    }
    let mut body = user("hi");
    body["model"] = Value::Null;
    assert_eq!(post(&front, chat, body).await.status, 200);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn errors_in_mlflow_shape() {
    let (front, _) = front();
    let reply = post(&front, "/endpoints/limited/invocations", user("hi")).await;
    assert_eq!(reply.status, 429);
    assert_eq!(
        reply.json(),
        json!({"error": "Rate limit exceeded: 10 per 1 minute"})
    );
    assert_eq!(reply.header("retry-after"), Some("2"));

    let reply = post(&front, "/endpoints/nope/invocations", user("hi")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json(),
        json!({"detail": "endpoint `nope` does not exist"})
    );

    // A name the caller's listing lacks still reaches the stack, which says why.
    let reply = post(&front, "/gateway/hidden/invocations", user("hi")).await;
    assert_eq!(reply.status, 403);
    assert!(reply.json()["detail"].as_str().unwrap().contains("hidden"));
    let reply = send(&front, Method::POST, "/gateway/hidden/invocations", "{}").await;
    assert_eq!(reply.status, 404);

    let reply = send(&front, Method::GET, "/endpoints/chat/invocations", "").await;
    assert_eq!(reply.status, 405);
    assert!(reply.json()["detail"].is_string());
    let reply = send(&front, Method::GET, "/v2/nothing", "").await;
    assert_eq!(reply.status, 404);
    assert!(reply.json()["detail"].is_string());
    assert_eq!(reply.header("x-request-id"), Some("req-7"));
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let (gateway, seen) = gateway(listing());
    let front = MlflowFront::new(gateway).max_body_bytes(64);
    let reply = post(
        &front,
        "/endpoints/chat/invocations",
        user(&"x".repeat(100)),
    )
    .await;
    assert_eq!(reply.status, 413);
    assert!(
        reply.json()["detail"]
            .as_str()
            .unwrap()
            .contains("64 bytes")
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_chat_stream_ends_in_done_with_usage_unless_declined() {
    let (front, seen) = front();
    let mut body = user("one two three");
    body["stream"] = json!(true);
    let reply = post(&front, "/endpoints/chat/invocations", body.clone()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert_eq!(reply.header("x-request-id"), Some("req-7"));
    let events = reply.events();
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    assert!(chunks.iter().all(|c| c["provider"] == "mock"));
    assert!(chunks.last().unwrap()["usage"]["prompt_tokens"].is_u64());
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(text.contains("one two three"), "{text}");

    body["stream_options"] = json!({"include_usage": false});
    let reply = post(&front, "/gateway/chat/invocations", body).await;
    assert!(!String::from_utf8_lossy(&reply.body).contains("usage"));
    // The stack is asked for usage as MLflow asks its upstream, unless declined.
    let asked: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, op)| match op {
            Operation::Chat(chat) => (chat.is_stream(), chat.wants_stream_usage()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(asked, [(true, true), (true, false)]);
}

#[tokio::test]
async fn a_completion_stream_has_mlflow_chunks() {
    let (front, _) = front();
    let body = json!({"prompt": "a b c", "stream": true});
    let reply = post(&front, "/endpoints/completions/invocations", body).await;
    assert_eq!(reply.status, 200);
    let events = reply.events();
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let first: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(first["object"], "text_completion_chunk");
    assert_eq!(first["model"], "upstream-model");
    let choice = &first["choices"][0];
    assert_eq!(choice["index"], 0);
    assert!(choice["text"].is_string());
    assert!(choice.as_object().unwrap().contains_key("finish_reason"));
    let last: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert!(last["usage"]["total_tokens"].is_u64(), "{last}");
}

#[tokio::test]
async fn an_error_mid_stream_is_an_mlflow_event() {
    let (front, _) = front();
    let mut body = user("hi");
    body["stream"] = json!(true);
    let reply = post(&front, "/endpoints/broken/invocations", body).await;
    assert_eq!(reply.status, 200);
    let events = reply.events();
    assert_eq!(events.len(), 2, "{events:?}");
    let last: Value = serde_json::from_str(&events[1]).unwrap();
    assert_eq!(last, json!({"detail": "upstream went away"}));
}

#[tokio::test]
async fn a_refused_listing_refuses_the_call() {
    let service = service_fn(|_request: GatewayRequest| async {
        Err::<GatewayResponse, _>(GatewayError::new(ErrorKind::Unauthenticated, "no key"))
    });
    let front = MlflowFront::new(BoxCloneService::new(service));
    for (method, uri) in [
        (Method::GET, "/api/2.0/endpoints/"),
        (Method::GET, "/api/2.0/endpoints/chat"),
        (Method::POST, "/endpoints/chat/invocations"),
    ] {
        let reply = send(&front, method, uri, &user("hi").to_string()).await;
        assert_eq!(reply.status, 401, "{uri}");
        assert_eq!(reply.json(), json!({"detail": "no key"}));
    }
    assert_eq!(send(&front, Method::GET, "/health", "").await.status, 200);
}
