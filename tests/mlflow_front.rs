//! The MLflow front end to end: a real socket, the gateway, the OpenAI
//! provider and the testkit's mock upstream, spoken to as MLflow's client and
//! `mlflow gateway start`'s raw HTTP users do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    THREE_ENDPOINTS, get, post_json, send, start, start_with_env, three_endpoints_with_chat_limit,
};
use http::Method;
use serde_json::{Value, json};

fn user(text: &str) -> Value {
    json!({"messages": [{"role": "user", "content": text}]})
}

/// `count` in-process mock endpoints, and a route over the first two.
fn many_endpoints(count: usize) -> String {
    let mut yaml = String::from("endpoints:\n");
    for i in 0..count {
        yaml.push_str(&format!(
            "  - name: e{i:03}\n    endpoint_type: llm/v1/chat\n    model: {{provider: mock, name: m{i}}}\n"
        ));
    }
    yaml.push_str(
        "routes:\n  - name: split\n    task_type: llm/v1/chat\n    destinations:\n      - {name: e000, traffic_percentage: 50}\n      - {name: e001, traffic_percentage: 50}\n    routing_strategy: TRAFFIC_SPLIT\n",
    );
    yaml
}

#[tokio::test]
async fn the_listing_describes_each_endpoint() {
    let gateway = start(THREE_ENDPOINTS).await;
    let reply = get(
        &gateway.url("/api/2.0/endpoints/"),
        &[("x-request-id", "list-1")],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-request-id"), Some("list-1"));
    let page = reply.json();
    assert_eq!(page["next_page_token"], Value::Null);
    assert_eq!(
        page["endpoints"][0],
        json!({
            "name": "chat",
            "endpoint_type": "llm/v1/chat",
            "model": {"name": "gpt-4o-mini", "provider": "openai"},
            "endpoint_url": "/gateway/chat/invocations",
            "limit": null
        })
    );
    let types: Vec<_> = page["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpoint_type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        ["llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings"]
    );
}

#[tokio::test]
async fn the_listing_pages_by_a_hundred_and_leaves_routes_out() {
    let gateway = start(&many_endpoints(230)).await;
    let mut names = Vec::new();
    let mut url = gateway.url("/api/2.0/endpoints/");
    let mut sizes = Vec::new();
    loop {
        let reply = get(&url, &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let page = reply.json();
        let endpoints = page["endpoints"].as_array().unwrap();
        sizes.push(endpoints.len());
        names.extend(
            endpoints
                .iter()
                .map(|e| e["name"].as_str().unwrap().to_owned()),
        );
        match page["next_page_token"].as_str() {
            Some(token) => url = gateway.url(&format!("/api/2.0/endpoints/?page_token={token}")),
            None => break,
        }
    }
    assert_eq!(sizes, [100, 100, 30]);
    let expected: Vec<_> = (0..230).map(|i| format!("e{i:03}")).collect();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn one_endpoint_with_its_limit_and_unknown_ones_404() {
    let gateway = start(&three_endpoints_with_chat_limit(10)).await;
    let reply = get(&gateway.url("/api/2.0/endpoints/chat"), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json()["limit"],
        json!({"calls": 10, "key": null, "renewal_period": "minute"})
    );
    assert_eq!(reply.json()["endpoint_url"], "/gateway/chat/invocations");
    let reply = get(&gateway.url("/api/2.0/endpoints/embed"), &[]).await;
    assert_eq!(reply.json()["limit"], Value::Null);
    assert_eq!(reply.json()["model"]["name"], "text-embedding-3-small");

    let reply = get(&gateway.url("/api/2.0/endpoints/nope"), &[]).await;
    assert_eq!(reply.status, 404);
    assert!(reply.json()["detail"].as_str().unwrap().contains("'nope'"));

    let routed = start(&many_endpoints(2)).await;
    let reply = get(&routed.url("/api/2.0/endpoints/split"), &[]).await;
    assert_eq!(reply.status, 404, "a route is not an endpoint");
}

#[tokio::test]
async fn chat_completions_and_embeddings_on_both_prefixes() {
    let gateway = start(THREE_ENDPOINTS).await;
    for prefix in ["endpoints", "gateway"] {
        let url = gateway.url(&format!("/{prefix}/chat/invocations"));
        let reply = post_json(&url, &[("x-request-id", "mlflow-1")], user("hello there")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let answer = reply.json();
        assert_eq!(answer["object"], "chat.completion");
        assert_eq!(answer["model"], "gpt-4o-mini");
        assert_eq!(answer["provider"], "openai");
        assert_eq!(
            answer["choices"][0]["message"]["content"],
            "echo: hello there"
        );
        assert_eq!(answer["usage"]["total_tokens"], 5);
        assert_eq!(reply.header("x-request-id"), Some("mlflow-1"));
        assert_eq!(reply.header("x-towergate-endpoint"), Some("chat"));
        assert_eq!(reply.header("x-towergate-prompt-tokens"), Some("2"));

        let url = gateway.url(&format!("/{prefix}/completions/invocations"));
        let body = json!({"prompt": "say hi", "max_tokens": 20});
        let reply = post_json(&url, &[], body).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["object"], "text_completion");
        assert_eq!(reply.json()["choices"][0]["text"], "echo: say hi");
        assert_eq!(reply.json()["model"], "gpt-3.5-turbo-instruct");

        let url = gateway.url(&format!("/{prefix}/embed/invocations"));
        let reply = post_json(&url, &[], json!({"input": ["first", "second"]})).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let answer = reply.json();
        assert_eq!(answer["object"], "list");
        assert_eq!(answer["model"], "text-embedding-3-small");
        let indexes: Vec<_> = answer["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["index"].as_u64().unwrap())
            .collect();
        assert_eq!(indexes, [0, 1]);
        assert!(
            reply
                .header("x-request-id")
                .is_some_and(|id| id.len() == 32)
        );
    }
    let sent = &gateway.upstream.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.body["model"], "gpt-4o-mini");
    assert_eq!(sent.body["messages"][0]["content"], "hello there");
}

#[tokio::test]
async fn unknown_fields_reach_the_upstream() {
    let gateway = start(THREE_ENDPOINTS).await;
    let mut body = user("hi");
    body["mock"] = json!({"reply": "passed through"});
    body["seed"] = json!(7);
    let reply = post_json(&gateway.url("/endpoints/chat/invocations"), &[], body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json()["choices"][0]["message"]["content"],
        "passed through"
    );
    assert_eq!(gateway.upstream.requests()[0].body["seed"], 7);
}

#[tokio::test]
async fn a_chat_stream_ends_in_done_with_usage() {
    let gateway = start(THREE_ENDPOINTS).await;
    let mut body = user("stream me please");
    body["stream"] = json!(true);
    let reply = post_json(&gateway.url("/endpoints/chat/invocations"), &[], body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert!(reply.header("x-request-id").is_some());
    let chunks = reply.chunks();
    let text: String = chunks
        .iter()
        .flat_map(|c| c["choices"].as_array().unwrap().clone())
        .filter_map(|choice| choice["delta"]["content"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text, "echo: stream me please");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let last = chunks.last().unwrap();
    assert_eq!(last["usage"]["prompt_tokens"], 3);
    assert_eq!(last["choices"], json!([]));
}

#[tokio::test]
async fn a_completion_stream_has_mlflow_chunks() {
    let gateway = start(THREE_ENDPOINTS).await;
    let body = json!({"prompt": "a b", "stream": true, "stream_options": {"include_usage": false}});
    let reply = post_json(&gateway.url("/gateway/completions/invocations"), &[], body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let chunks = reply.chunks();
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "text_completion_chunk")
    );
    assert!(chunks.iter().all(|c| c["usage"].is_null()));
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "echo: a b");
}

#[tokio::test]
async fn a_traffic_split_is_invoked_like_an_endpoint() {
    let gateway = start(&many_endpoints(2)).await;
    for prefix in ["endpoints", "gateway"] {
        let url = gateway.url(&format!("/{prefix}/split/invocations"));
        let reply = post_json(&url, &[], user("hi")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let chosen = reply.header("x-towergate-endpoint").unwrap();
        assert!(["e000", "e001"].contains(&chosen), "{chosen}");
    }
}

#[tokio::test]
async fn unknown_endpoints_are_404() {
    let gateway = start(THREE_ENDPOINTS).await;
    let reply = post_json(&gateway.url("/endpoints/nope/invocations"), &[], user("hi")).await;
    assert_eq!(reply.status, 404);
    assert!(reply.json()["detail"].as_str().unwrap().contains("nope"));
    let reply = send(
        Method::POST,
        &gateway.url("/gateway/nope/invocations"),
        &[],
        "{not json",
    )
    .await;
    assert_eq!(reply.status, 404);
    let reply = get(&gateway.url("/endpoints/chat/invocations"), &[]).await;
    assert_eq!(reply.status, 405);
    assert_eq!(gateway.upstream.request_count(), 0);
}

#[tokio::test]
async fn mlflow_refuses_bad_bodies_with_422() {
    let gateway = start(THREE_ENDPOINTS).await;
    let chat = gateway.url("/endpoints/chat/invocations");

    let reply = post_json(&chat, &[], json!({"messages": []})).await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.json()["detail"][0]["type"], "too_short");
    assert_eq!(
        reply.json()["detail"][0]["loc"],
        json!(["body", "messages"])
    );

    let mut body = user("hi");
    body["model"] = json!("gpt-4o");
    let reply = post_json(&chat, &[("x-request-id", "bad-1")], body).await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.json()["detail"],
        "The parameter 'model' is not permitted to be passed. \
         The route being queried already defines a model instance."
    );
    assert_eq!(reply.header("x-request-id"), Some("bad-1"));

    let headers = [("content-type", "application/json")];
    let reply = send(Method::POST, &chat, &headers, "{not json").await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.json()["detail"][0]["type"], "json_invalid");

    for body in [
        json!({"messages": "not a list"}),
        json!({"prompt": "no messages"}),
    ] {
        let reply = post_json(&chat, &[], body).await;
        assert_eq!(reply.status, 422);
        assert_eq!(
            reply.json()["detail"][0]["loc"],
            json!(["body", "messages"])
        );
    }
    let reply = post_json(
        &gateway.url("/gateway/embed/invocations"),
        &[],
        json!({"inputs": "typo"}),
    )
    .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.json()["detail"][0]["loc"], json!(["body", "input"]));
    assert_eq!(gateway.upstream.request_count(), 0);
}

#[tokio::test]
async fn upstream_errors_and_limits_in_mlflow_shape() {
    let gateway = start(&three_endpoints_with_chat_limit(1)).await;
    let chat = gateway.url("/endpoints/chat/invocations");
    let mut body = user("hi");
    body["mock"] = json!({"fault": "status:400"});
    let reply = post_json(&chat, &[], body).await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["detail"]
            .as_str()
            .unwrap()
            .contains("mock upstream fault")
    );

    let reply = post_json(&chat, &[], user("one too many")).await;
    assert_eq!(reply.status, 429);
    assert_eq!(
        reply.json(),
        json!({"error": "Rate limit exceeded: 1 per 1 minute"})
    );
    let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
}

#[tokio::test]
async fn keys_are_checked_and_listings_filtered() {
    let yaml = format!(
        "{THREE_ENDPOINTS}auth:\n  keys:\n    - name: team-b\n      key: $TEAM_B_KEY\n      endpoints: [embed]\n"
    );
    let gateway = start_with_env(&yaml, |name| {
        (name == "TEAM_B_KEY").then(|| "team-b-secret".to_owned())
    })
    .await;
    let key = [("authorization", "Bearer team-b-secret")];

    let reply = get(&gateway.url("/api/2.0/endpoints/"), &[]).await;
    assert_eq!(reply.status, 401);
    assert!(reply.json()["detail"].is_string());
    assert_eq!(get(&gateway.url("/health"), &[]).await.status, 200);

    let reply = get(&gateway.url("/api/2.0/endpoints/"), &key).await;
    assert_eq!(reply.status, 200);
    let names: Vec<_> = reply.json()["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["embed"]);

    let embed = gateway.url("/gateway/embed/invocations");
    let reply = post_json(&embed, &key, json!({"input": "x"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let reply = post_json(&gateway.url("/gateway/chat/invocations"), &key, user("hi")).await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(reply.json()["detail"].as_str().unwrap().contains("team-b"));
    let reply = post_json(&gateway.url("/gateway/chat/invocations"), &[], user("hi")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(gateway.upstream.request_count(), 1);
}

/// A refused invocation (no key) still reads its body, so the client can
/// reuse the connection: MLflow's client keeps connections in a pool, and a
/// connection closed under it fails the next call.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_invocation_leaves_the_connection_reusable() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let yaml = format!(
        "{}auth:\n  keys:\n    - {{name: a, key: $KEY_A, endpoints: ['*']}}\n",
        common::THREE_ENDPOINTS
    );
    let gateway = common::start_with_env(&yaml, |name| {
        (name == "KEY_A").then(|| "secret-a".to_owned())
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let body = json!({"messages": [{"role": "user", "content": "hi"}]}).to_string();
    let head = format!(
        "POST /endpoints/chat/invocations HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    // The head first, the body a moment later: a server that answers
    // before reading the body has answered by then.
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stream.write_all(body.as_bytes()).await.unwrap();
    let first = read_response(&mut stream).await;
    assert!(first.starts_with("HTTP/1.1 401"), "{first}");

    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: gw\r\n\r\n")
        .await
        .unwrap();
    let second = read_response(&mut stream).await;
    assert!(
        second.starts_with("HTTP/1.1 200"),
        "the connection was dropped: {second:?}"
    );

    /// Reads one response (head and a content-length body) from `stream`.
    async fn read_response(stream: &mut tokio::net::TcpStream) -> String {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&buffer).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if buffer.len() >= end + 4 + length {
                    return text;
                }
            }
            let read =
                tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut chunk))
                    .await
                    .expect("the gateway answers")
                    .unwrap_or(0);
            if read == 0 {
                return text;
            }
            buffer.extend_from_slice(&chunk[..read]);
        }
    }
}
