//! A traffic split: MLflow's `TRAFFIC_SPLIT` route, a weighted random pick per request.

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use tower::util::Oneshot;
use tower_service::Service;
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};

use crate::{BoxEndpoint, future::ResponseFuture};

/// One destination of a split: an endpoint and its share of the traffic.
#[derive(Clone)]
pub struct Destination {
    name: String,
    weight: u32,
    service: BoxEndpoint,
}

impl Destination {
    /// Sends `weight` parts of the traffic (out of the split's total) to
    /// the endpoint `name`, answered by `service`.
    pub fn new(name: impl Into<String>, weight: u32, service: BoxEndpoint) -> Self {
        Self {
            name: name.into(),
            weight,
            service,
        }
    }

    /// The endpoint's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its share of the traffic.
    pub fn weight(&self) -> u32 {
        self.weight
    }
}

/// Sends each request to one of its destinations, picked at random in
/// proportion to their weights, and names the one chosen in the answer's
/// [`ResponseMeta::endpoint`](towergate_core::ResponseMeta::endpoint)
/// (the `x-towergate-endpoint` header).
///
/// ```
/// use tower::{ServiceExt, service_fn};
/// use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, Operation, Payload};
/// use towergate_router::{BoxEndpoint, Destination, TrafficSplit};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let answer = || BoxEndpoint::new(service_fn(|_request: GatewayRequest| async {
///     Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
/// }));
/// let split = TrafficSplit::new(vec![
///     Destination::new("chat-a", 100, answer()),
///     Destination::new("chat-b", 0, answer()),
/// ])
/// .unwrap();
/// let request = GatewayRequest::new("chat-ab", Operation::ListEndpoints);
/// let response = split.oneshot(request).await.unwrap();
/// assert_eq!(response.meta.endpoint.as_deref(), Some("chat-a"));
/// # }
/// ```
#[derive(Clone)]
pub struct TrafficSplit {
    destinations: Arc<[Destination]>,
    total: u32,
}

impl TrafficSplit {
    /// A split over `destinations`.
    ///
    /// # Errors
    ///
    /// No destination, or weights that add up to 0 or overflow.
    pub fn new(destinations: Vec<Destination>) -> Result<Self, GatewayError> {
        let total = destinations
            .iter()
            .try_fold(0u32, |sum, d| sum.checked_add(d.weight))
            .ok_or_else(|| GatewayError::internal("traffic split weights overflow"))?;
        if total == 0 {
            return Err(GatewayError::internal(
                "a traffic split needs a destination with a positive weight",
            ));
        }
        Ok(Self {
            destinations: destinations.into(),
            total,
        })
    }

    /// The destinations, in order.
    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }

    /// The destination for a draw in `0..total`.
    fn pick(&self, mut draw: u32) -> &Destination {
        for destination in self.destinations.iter() {
            if draw < destination.weight {
                return destination;
            }
            draw -= destination.weight;
        }
        // Unreachable while draws stay below the total; the last positive
        // destination is the safe answer all the same.
        self.destinations
            .iter()
            .rev()
            .find(|d| d.weight > 0)
            .unwrap_or(&self.destinations[0])
    }
}

impl fmt::Debug for TrafficSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.destinations.iter().map(|d| (&d.name, d.weight)))
            .finish()
    }
}

impl Service<GatewayRequest> for TrafficSplit {
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: GatewayRequest) -> Self::Future {
        let destination = self.pick(fastrand::u32(0..self.total));
        request.endpoint.clone_from(&destination.name);
        ResponseFuture::routed(
            Oneshot::new(destination.service.clone(), request),
            destination.name.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{ServiceExt, service_fn};
    use towergate_core::{Operation, Payload};

    fn named(model: &'static str) -> BoxEndpoint {
        BoxEndpoint::new(service_fn(move |request: GatewayRequest| async move {
            let mut response = GatewayResponse::new(Payload::Endpoints(Vec::new()));
            response.meta.model = Some(format!("{model}:{}", request.endpoint));
            Ok::<_, GatewayError>(response)
        }))
    }

    #[test]
    fn draws_map_onto_weights_in_order() {
        let split = TrafficSplit::new(vec![
            Destination::new("a", 20, named("a")),
            Destination::new("z", 0, named("z")),
            Destination::new("b", 80, named("b")),
        ])
        .unwrap();
        assert_eq!(split.pick(0).name(), "a");
        assert_eq!(split.pick(19).name(), "a");
        assert_eq!(split.pick(20).name(), "b");
        assert_eq!(split.pick(99).name(), "b");
    }

    #[tokio::test]
    async fn the_split_follows_the_weights_within_tolerance() {
        let split = TrafficSplit::new(vec![
            Destination::new("a", 80, named("a")),
            Destination::new("b", 20, named("b")),
        ])
        .unwrap();
        let mut to_a = 0;
        for _ in 0..10_000 {
            let request = GatewayRequest::new("ab", Operation::ListEndpoints);
            let response = split.clone().oneshot(request).await.unwrap();
            let chosen = response.meta.endpoint.unwrap();
            // The chosen endpoint is also the one the request was sent to.
            assert_eq!(response.meta.model.unwrap(), format!("{chosen}:{chosen}"));
            if chosen == "a" {
                to_a += 1;
            }
        }
        // 80% of 10 000, with six standard deviations (40 each) of room.
        assert!(
            (7_760..=8_240).contains(&to_a),
            "{to_a} of 10 000 went to `a`"
        );
    }

    #[test]
    fn weights_must_add_up_to_something() {
        assert!(TrafficSplit::new(Vec::new()).is_err());
        assert!(TrafficSplit::new(vec![Destination::new("a", 0, named("a"))]).is_err());
    }
}
