use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use tower::{Layer, ServiceExt, service_fn};
use towergate_core::{
    Caller, EndpointInfo, EndpointKind, EndpointType, ErrorKind, GatewayError, GatewayRequest,
    GatewayResponse, Operation, Payload,
    embeddings::{EmbeddingInput, EmbeddingsRequest},
};

use super::*;

const TEAM_A_KEY: &str = "sk-team-a-0123456789";
const OPS_KEY: &str = "sk-ops-abcdef";
/// SHA-256 of "s3cret".
const S3CRET_SHA256: &str = "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0";

fn keys() -> Vec<ApiKey> {
    vec![
        ApiKey::from_plaintext("team-a", TEAM_A_KEY, ["chat", "embed"]),
        ApiKey::from_plaintext("ops", OPS_KEY, ["*"]),
        ApiKey::from_sha256_hex("hashed", S3CRET_SHA256, ["embed"]).unwrap(),
    ]
}

fn info(name: &str) -> EndpointInfo {
    EndpointInfo {
        name: name.to_owned(),
        kind: EndpointKind::Endpoint,
        endpoint_type: EndpointType::Chat,
        provider: Some("mock".to_owned()),
        model: Some("m".to_owned()),
        limit: None,
    }
}

/// What the inner service saw: how often it ran, and the last caller's name.
#[derive(Clone, Default)]
struct Seen {
    calls: Arc<AtomicUsize>,
    caller: Arc<std::sync::Mutex<Option<String>>>,
}

impl Seen {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn caller(&self) -> Option<String> {
        self.caller.lock().unwrap().clone()
    }
}

/// Sends `request` through `Auth` over [`keys`] and an inner service that
/// records what it saw and answers a listing of four endpoints.
async fn send(request: GatewayRequest) -> (Result<GatewayResponse, GatewayError>, Seen) {
    let seen = Seen::default();
    let recorder = seen.clone();
    let inner = service_fn(move |request: GatewayRequest| {
        let recorder = recorder.clone();
        async move {
            recorder.calls.fetch_add(1, Ordering::SeqCst);
            *recorder.caller.lock().unwrap() = request.caller().map(|c| c.name().to_owned());
            let listing = ["chat", "embed", "completions", "secret-model"]
                .into_iter()
                .map(info)
                .collect();
            Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(listing)))
        }
    });
    let result = AuthLayer::new(keys()).layer(inner).oneshot(request).await;
    (result, seen)
}

fn embeddings(endpoint: &str) -> GatewayRequest {
    let body = EmbeddingsRequest {
        model: Some(endpoint.to_owned()),
        input: EmbeddingInput::Text("hello".to_owned()),
        encoding_format: None,
        dimensions: None,
        user: None,
        extra: Default::default(),
    };
    GatewayRequest::new(endpoint, Operation::Embeddings(body))
}

fn with_header(mut request: GatewayRequest, name: &'static str, value: &str) -> GatewayRequest {
    request.headers.append(name, value.parse().unwrap());
    request
}

fn listed(response: GatewayResponse) -> Vec<String> {
    match response.payload {
        Payload::Endpoints(list) => list.into_iter().map(|e| e.name).collect(),
        other => panic!("expected a listing, got {other:?}"),
    }
}

#[tokio::test]
async fn bearer_key_is_admitted_and_names_the_caller() {
    let request = with_header(
        embeddings("embed"),
        "authorization",
        &format!("Bearer {TEAM_A_KEY}"),
    );
    let (result, seen) = send(request).await;
    assert!(result.is_ok());
    assert_eq!(seen.calls(), 1);
    assert_eq!(seen.caller().as_deref(), Some("team-a"));
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let request = with_header(
            embeddings("chat"),
            "authorization",
            &format!("{scheme} {TEAM_A_KEY}"),
        );
        let (result, seen) = send(request).await;
        assert!(result.is_ok(), "{scheme}");
        assert_eq!(seen.caller().as_deref(), Some("team-a"));
    }
}

#[tokio::test]
async fn x_api_key_is_admitted() {
    let request = with_header(embeddings("chat"), "x-api-key", OPS_KEY);
    let (result, seen) = send(request).await;
    assert!(result.is_ok());
    assert_eq!(seen.caller().as_deref(), Some("ops"));
}

#[tokio::test]
async fn missing_key_is_401_and_inner_is_not_called() {
    let (result, seen) = send(embeddings("chat")).await;
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert_eq!(error.status().as_u16(), 401);
    assert_eq!(
        error.message(),
        "missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`"
    );
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn a_non_bearer_authorization_is_a_missing_key() {
    let request = with_header(
        embeddings("chat"),
        "authorization",
        &format!("Basic {TEAM_A_KEY}"),
    );
    let (result, seen) = send(request).await;
    assert!(result.unwrap_err().message().starts_with("missing API key"));
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn wrong_key_is_401_without_echoing_it() {
    let wrong = "sk-team-a-0123456788";
    for request in [
        with_header(
            embeddings("chat"),
            "authorization",
            &format!("Bearer {wrong}"),
        ),
        with_header(embeddings("chat"), "x-api-key", wrong),
    ] {
        let (result, seen) = send(request).await;
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unauthenticated);
        assert_eq!(error.message(), "invalid API key");
        assert!(!error.to_string().contains(wrong));
        assert_eq!(seen.calls(), 0);
    }
}

#[tokio::test]
async fn endpoint_outside_the_list_is_403_and_inner_is_not_called() {
    let request = with_header(embeddings("completions"), "x-api-key", TEAM_A_KEY);
    let (result, seen) = send(request).await;
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Forbidden);
    assert_eq!(error.status().as_u16(), 403);
    assert_eq!(
        error.message(),
        "API key `team-a` may not use endpoint `completions`"
    );
    assert!(!error.to_string().contains(TEAM_A_KEY));
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn star_allows_every_endpoint() {
    for endpoint in ["chat", "completions", "anything-else"] {
        let request = with_header(embeddings(endpoint), "x-api-key", OPS_KEY);
        let (result, seen) = send(request).await;
        assert!(result.is_ok(), "{endpoint}");
        assert_eq!(seen.caller().as_deref(), Some("ops"));
    }
}

#[tokio::test]
async fn sha256_configured_key_is_admitted_by_its_plaintext() {
    let request = with_header(embeddings("embed"), "authorization", "Bearer s3cret");
    let (result, seen) = send(request).await;
    assert!(result.is_ok());
    assert_eq!(seen.caller().as_deref(), Some("hashed"));

    let request = with_header(embeddings("chat"), "authorization", "Bearer s3cret");
    assert_eq!(
        send(request).await.0.unwrap_err().kind(),
        ErrorKind::Forbidden
    );

    // The digest itself is not a key.
    let request = with_header(embeddings("embed"), "x-api-key", S3CRET_SHA256);
    assert_eq!(
        send(request).await.0.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
}

#[tokio::test]
async fn listing_needs_a_key() {
    let (result, seen) = send(GatewayRequest::new("", Operation::ListEndpoints)).await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Unauthenticated);
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn listing_is_filtered_to_the_keys_endpoints() {
    let request = with_header(
        GatewayRequest::new("", Operation::ListEndpoints),
        "x-api-key",
        TEAM_A_KEY,
    );
    let (result, seen) = send(request).await;
    assert_eq!(listed(result.unwrap()), ["chat", "embed"]);
    assert_eq!(seen.caller().as_deref(), Some("team-a"));

    let request = with_header(
        GatewayRequest::new("", Operation::ListEndpoints),
        "x-api-key",
        OPS_KEY,
    );
    let (result, _) = send(request).await;
    assert_eq!(
        listed(result.unwrap()),
        ["chat", "embed", "completions", "secret-model"]
    );
}

#[tokio::test]
async fn inner_errors_pass_through_untouched() {
    let inner = service_fn(|_request: GatewayRequest| async {
        Err::<GatewayResponse, _>(GatewayError::bad_gateway("upstream down"))
    });
    let request = with_header(embeddings("chat"), "x-api-key", OPS_KEY);
    let error = Auth::new(inner, keys()).oneshot(request).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadGateway);
    assert_eq!(error.message(), "upstream down");
}

#[tokio::test]
async fn no_keys_admit_nobody() {
    let inner = service_fn(|_request: GatewayRequest| async {
        Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
    });
    let request = with_header(embeddings("chat"), "x-api-key", "anything");
    let error = Auth::new(inner, []).oneshot(request).await.unwrap_err();
    assert_eq!(error.message(), "invalid API key");
}

#[test]
fn caller_carries_the_name_not_the_key() {
    let caller = Caller::new(keys()[0].name());
    assert_eq!(caller.name(), "team-a");
}

#[test]
fn every_key_is_found_wherever_it_sits() {
    let many: Vec<ApiKey> = (0..50)
        .map(|i| ApiKey::from_plaintext(format!("k{i}"), format!("secret-{i}"), ["*"]))
        .collect();
    for i in [0, 1, 25, 49] {
        let found = super::service::find_key(&many, format!("secret-{i}").as_bytes());
        assert_eq!(found, Some(i));
    }
    assert_eq!(super::service::find_key(&many, b"secret-50"), None);
    assert_eq!(super::service::find_key(&[], b"secret-0"), None);
}

#[test]
fn debug_never_shows_the_secret_or_its_digest() {
    let keys = keys();
    let shown = format!("{keys:?}");
    assert!(shown.contains("team-a") && shown.contains("hashed"));
    assert!(!shown.contains(TEAM_A_KEY));
    assert!(!shown.contains(OPS_KEY));
    assert!(!shown.contains(&S3CRET_SHA256[..16]));
    assert!(
        !shown.contains("30, 193") && !shown.contains("0x1e"),
        "{shown}"
    );
    let layer = AuthLayer::new(keys);
    assert!(!format!("{layer:?}").contains(TEAM_A_KEY));
}

#[test]
fn bad_hex_digest_is_an_error_naming_the_key() {
    for bad in [
        "",
        "abc",
        &S3CRET_SHA256[..62],
        &format!("{S3CRET_SHA256}00"),
        &S3CRET_SHA256.replace('1', "g"),
    ] {
        let error = ApiKey::from_sha256_hex("team-b", bad, ["*"]).unwrap_err();
        assert_eq!(error.name(), "team-b");
        assert!(error.to_string().contains("`team-b`"), "{error}");
    }
    let upper = ApiKey::from_sha256_hex("upper", &S3CRET_SHA256.to_uppercase(), ["*"]).unwrap();
    assert!(upper.allows_all());
}
