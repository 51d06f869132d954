use tokio::sync::oneshot;
use tower::{ServiceExt, service_fn};
use towergate_core::{
    EndpointInfo, EndpointKind, EndpointType, ErrorKind, GatewayError, GatewayRequest,
    GatewayResponse, Operation, Payload, chat::ChatRequest, embeddings::EmbeddingsRequest,
};

use crate::{EndpointTable, Router};

fn info(name: &str, endpoint_type: EndpointType) -> EndpointInfo {
    EndpointInfo {
        name: name.into(),
        kind: EndpointKind::Endpoint,
        endpoint_type,
        provider: Some("test".into()),
        model: Some(format!("{name}-model")),
        limit: None,
    }
}

fn chat() -> Operation {
    Operation::Chat(ChatRequest::default())
}

/// A service that answers with an empty listing tagged with `model`.
fn tagged(
    model: &'static str,
) -> impl tower::Service<
    GatewayRequest,
    Response = GatewayResponse,
    Error = GatewayError,
    Future = impl Send + 'static,
> + Clone
+ Send
+ Sync
+ 'static {
    service_fn(move |_request: GatewayRequest| async move {
        let mut response = GatewayResponse::new(Payload::Endpoints(Vec::new()));
        response.meta.model = Some(model.to_string());
        Ok::<_, GatewayError>(response)
    })
}

#[tokio::test]
async fn routes_by_name_and_names_the_endpoint() {
    let table = EndpointTable::new()
        .with_endpoint(info("a", EndpointType::Chat), tagged("model-a"))
        .with_endpoint(info("b", EndpointType::Chat), tagged("model-b"));
    let router = Router::new(table);
    let response = router
        .clone()
        .oneshot(GatewayRequest::new("b", chat()))
        .await
        .unwrap();
    assert_eq!(response.meta.model.as_deref(), Some("model-b"));
    assert_eq!(response.meta.endpoint.as_deref(), Some("b"));
}

#[tokio::test]
async fn unknown_endpoint_is_not_found_naming_it() {
    let router = Router::new(EndpointTable::new());
    let error = router
        .oneshot(GatewayRequest::new("nope", chat()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(error.message().contains("`nope`"), "{}", error.message());
}

#[tokio::test]
async fn wrong_operation_for_the_endpoint_type_is_invalid() {
    let table =
        EndpointTable::new().with_endpoint(info("embed", EndpointType::Embeddings), tagged("e"));
    let error = Router::new(table)
        .oneshot(GatewayRequest::new("embed", chat()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert!(
        error.message().contains("llm/v1/embeddings"),
        "{}",
        error.message()
    );

    let table =
        EndpointTable::new().with_endpoint(info("embed", EndpointType::Embeddings), tagged("e"));
    let embeddings: EmbeddingsRequest = serde_json::from_str(r#"{"input":"x"}"#).unwrap();
    let ok = Router::new(table)
        .oneshot(GatewayRequest::new(
            "embed",
            Operation::Embeddings(embeddings),
        ))
        .await;
    assert!(ok.is_ok());
}

#[tokio::test]
async fn listing_keeps_insertion_order_and_replacement_keeps_position() {
    let mut table = EndpointTable::new()
        .with_endpoint(info("z", EndpointType::Chat), tagged("1"))
        .with_endpoint(info("a", EndpointType::Chat), tagged("2"));
    table.insert(info("z", EndpointType::Completions), tagged("3"));
    let listing = Router::new(table)
        .oneshot(GatewayRequest::new("", Operation::ListEndpoints))
        .await
        .unwrap();
    let Payload::Endpoints(endpoints) = listing.payload else {
        panic!("expected a listing");
    };
    let names: Vec<_> = endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["z", "a"]);
    assert_eq!(endpoints[0].endpoint_type, EndpointType::Completions);
}

#[tokio::test]
async fn a_swap_does_not_drop_a_request_in_flight() {
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let (entered_tx, entered_rx) = oneshot::channel::<()>();
    let once = std::sync::Arc::new(std::sync::Mutex::new(Some((entered_tx, release_rx))));
    let slow = service_fn(move |_request: GatewayRequest| {
        let once = once.lock().unwrap().take();
        async move {
            if let Some((entered, release)) = once {
                let _ = entered.send(());
                let _ = release.await;
            }
            let mut response = GatewayResponse::new(Payload::Endpoints(Vec::new()));
            response.meta.model = Some("old".into());
            Ok::<_, GatewayError>(response)
        }
    });
    let router =
        Router::new(EndpointTable::new().with_endpoint(info("chat", EndpointType::Chat), slow));
    let in_flight = tokio::spawn(router.clone().oneshot(GatewayRequest::new("chat", chat())));
    entered_rx.await.unwrap();

    router
        .swap(EndpointTable::new().with_endpoint(info("chat", EndpointType::Chat), tagged("new")));
    let after = router
        .clone()
        .oneshot(GatewayRequest::new("chat", chat()))
        .await
        .unwrap();
    assert_eq!(after.meta.model.as_deref(), Some("new"));

    release_tx.send(()).unwrap();
    let before = in_flight.await.unwrap().unwrap();
    assert_eq!(before.meta.model.as_deref(), Some("old"));
}

#[tokio::test]
async fn a_listing_can_ask_for_one_name() {
    let table = EndpointTable::new()
        .with_endpoint(info("a", EndpointType::Chat), tagged("1"))
        .with_endpoint(info("b", EndpointType::Embeddings), tagged("2"));
    let router = Router::new(table);
    let one = router
        .clone()
        .oneshot(GatewayRequest::new("b", Operation::ListEndpoints))
        .await
        .unwrap();
    let Payload::Endpoints(endpoints) = one.payload else {
        panic!("expected a listing");
    };
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0].endpoint_type, EndpointType::Embeddings);
    let none = router
        .oneshot(GatewayRequest::new("nope", Operation::ListEndpoints))
        .await
        .unwrap();
    assert!(matches!(none.payload, Payload::Endpoints(ref e) if e.is_empty()));
}
