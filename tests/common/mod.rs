//! Shared helpers of the end-to-end tests: a gateway served in process on
//! loopback in front of the testkit's mock upstream, and a small HTTP client.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod process;
pub mod python;

use std::{net::SocketAddr, time::Duration};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use towergate::{config::Config, gateway::Gateway, server::Drained};
use towergate_testkit::MockUpstream;

/// A gateway on loopback in front of a mock upstream.
pub struct TestGateway {
    pub addr: SocketAddr,
    pub upstream: MockUpstream,
    pub gateway: Gateway,
    shutdown: Option<oneshot::Sender<()>>,
    served: Option<JoinHandle<Drained>>,
}

/// Starts a gateway from `yaml`, where `{upstream}` stands for the mock's
/// base URL (`…/v1`) and `{upstream_root}` for its root.
pub async fn start(yaml: &str) -> TestGateway {
    start_with_env(yaml, |_| None).await
}

/// As [`start`], with `$VAR`s looked up in `env`.
pub async fn start_with_env(yaml: &str, env: impl Fn(&str) -> Option<String>) -> TestGateway {
    let upstream = MockUpstream::start().await;
    let yaml = yaml
        .replace("{upstream_root}", &upstream.url())
        .replace("{upstream}", &upstream.base_url());
    let config = Config::from_str_with_env(&yaml, "test.yaml", env).expect("test config is valid");
    let gateway = Gateway::from_config(&config).expect("test gateway builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (shutdown, signal) = oneshot::channel::<()>();
    let serving = gateway.clone();
    let served = tokio::spawn(async move {
        serving
            .serve(listener, async move {
                let _ = signal.await;
            })
            .await
    });
    TestGateway {
        addr,
        upstream,
        gateway,
        shutdown: Some(shutdown),
        served: Some(served),
    }
}

impl TestGateway {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops accepting and waits for the drain.
    pub async fn stop(mut self) -> Drained {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.served.take().unwrap().await.unwrap()
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// An answer read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `data:` payloads of an SSE body, in order.
    pub fn events(&self) -> Vec<String> {
        self.text()
            .split("\n\n")
            .filter_map(|event| event.strip_prefix("data: "))
            .map(str::to_owned)
            .collect()
    }

    /// The JSON chunks of an SSE body, which must end in `data: [DONE]`.
    pub fn chunks(&self) -> Vec<serde_json::Value> {
        let events = self.events();
        assert_eq!(
            events.last().map(String::as_str),
            Some("[DONE]"),
            "{events:?}"
        );
        events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends a request and reads the whole answer.
pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body.into())).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(30), client().request(request))
        .await
        .expect("the gateway answers")
        .expect("the request reaches the gateway");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

pub async fn post_json(url: &str, headers: &[(&str, &str)], body: serde_json::Value) -> Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    send(Method::POST, url, &all, serde_json::to_vec(&body).unwrap()).await
}

pub async fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    send(Method::GET, url, headers, Bytes::new()).await
}

/// Waits (up to 10 s) until `condition` holds.
pub async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    condition()
}

/// A config with a chat, a completions and an embeddings endpoint on the mock upstream.
pub const THREE_ENDPOINTS: &str = r#"
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: sk-upstream
        openai_api_base: {upstream}
  - name: completions
    endpoint_type: llm/v1/completions
    model:
      provider: openai
      name: gpt-3.5-turbo-instruct
      config:
        openai_api_key: sk-upstream
        openai_api_base: {upstream}
  - name: embed
    endpoint_type: llm/v1/embeddings
    model:
      provider: openai
      name: text-embedding-3-small
      config:
        openai_api_key: sk-upstream
        openai_api_base: {upstream}
"#;

/// [`THREE_ENDPOINTS`] with a limit of `calls` per minute on `chat`.
pub fn three_endpoints_with_chat_limit(calls: u32) -> String {
    let limit = format!("    limit:\n      renewal_period: minute\n      calls: {calls}\n");
    let first_after_chat = "  - name: completions\n";
    THREE_ENDPOINTS.replacen(first_after_chat, &format!("{limit}{first_after_chat}"), 1)
}
