//! The rate-limit layer alone, over the testkit's provider: exactness,
//! keys, resets, token settlement, headers and store outages.
#![allow(missing_docs, clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use futures_util::StreamExt;
use tower::{Layer, ServiceExt, service_fn, util::BoxCloneService};
use towergate_core::{
    Caller, ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
    settle::{Settlements, Spent},
};
use towergate_ratelimit::{CallLimit, KeyBy, Limits, RateLimitLayer, RenewalPeriod};
use towergate_state::{ManualClock, MemoryRateStore, Rate, RateStore, RedisQuotaStore};
use towergate_testkit::{MockProvider, redis::RedisServer};
use towergate_tokens::{
    PriceBook, Pricing, TokenCounter, accounting::TokenAccountingLayer, budget::OnStoreError,
};

fn clock() -> ManualClock {
    ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_543_600))
}

fn chat(endpoint: &str, caller: Option<&str>, body: serde_json::Value) -> GatewayRequest {
    let mut request = GatewayRequest::new(
        endpoint,
        Operation::Chat(serde_json::from_value(body).unwrap()),
    );
    if let Some(caller) = caller {
        request.extensions.insert(Caller::new(caller));
    }
    request
}

fn hello(endpoint: &str, caller: Option<&str>) -> GatewayRequest {
    chat(
        endpoint,
        caller,
        serde_json::json!({"messages": [{"role": "user", "content": "hello world"}], "max_tokens": 100}),
    )
}

fn requests(limit: u64) -> Limits {
    Limits::new().requests(Rate::per_minute(limit).unwrap())
}

fn header<'a>(response: &'a GatewayResponse, name: &str) -> &'a str {
    response.meta.headers[name].to_str().unwrap()
}

/// Fires `attempts` requests at once through `layers` in turn; counts the
/// admitted ones, and checks every refusal is a rate limit.
async fn admitted_under_contention(layers: &[RateLimitLayer], attempts: usize) -> usize {
    let provider = MockProvider::new();
    let tasks: Vec<_> = (0..attempts)
        .map(|index| {
            let service = layers[index % layers.len()].layer(provider.clone());
            tokio::spawn(async move { service.oneshot(hello("chat", Some("alice"))).await })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(error) => assert_eq!(error.kind(), ErrorKind::RateLimited, "{error}"),
        }
    }
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_requests_admit_exactly_the_limit_in_memory() {
    let layer = RateLimitLayer::new(Arc::new(MemoryRateStore::with_clock(clock())))
        .limits(KeyBy::Caller, &requests(37));
    assert_eq!(
        admitted_under_contention(std::slice::from_ref(&layer), 200).await,
        37
    );
    assert_eq!(layer.refusals(), 163);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_layers_sharing_one_redis_admit_exactly_the_limit() {
    let server = RedisServer::start();
    let clock = clock();
    let layer = || {
        let store = RedisQuotaStore::builder(server.url())
            .clock(clock.clone())
            .build()
            .unwrap();
        RateLimitLayer::new(Arc::new(store)).limits(KeyBy::Caller, &requests(37))
    };
    assert_eq!(
        admitted_under_contention(&[layer(), layer()], 200).await,
        37
    );
}

#[tokio::test]
async fn the_bucket_refills_over_the_period_on_a_fake_clock() {
    let clock = clock();
    let layer = RateLimitLayer::new(Arc::new(MemoryRateStore::with_clock(clock.clone())))
        .limits(KeyBy::Caller, &requests(3));
    let service = layer.layer(MockProvider::new());
    let first = service
        .clone()
        .oneshot(hello("chat", Some("alice")))
        .await
        .unwrap();
    assert_eq!(header(&first, "x-ratelimit-limit-requests"), "3");
    assert_eq!(header(&first, "x-ratelimit-remaining-requests"), "2");
    assert_eq!(header(&first, "x-ratelimit-reset-requests"), "20s");
    for _ in 0..2 {
        service
            .clone()
            .oneshot(hello("chat", Some("alice")))
            .await
            .unwrap();
    }
    let refused = service
        .clone()
        .oneshot(hello("chat", Some("alice")))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::RateLimited);
    assert_eq!(refused.code(), Some("rate_limit_exceeded"));
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(20)));
    assert_eq!(
        refused.message(),
        "Rate limit reached for requests per minute (caller `alice`): limit 3, remaining 0, requested 1; try again in 20s"
    );
    let headers = refused.headers().unwrap();
    assert_eq!(headers["x-ratelimit-remaining-requests"], "0");
    assert_eq!(headers["x-ratelimit-reset-requests"], "1m0s");

    clock.advance(Duration::from_secs(20));
    let one_back = service
        .clone()
        .oneshot(hello("chat", Some("alice")))
        .await
        .unwrap();
    assert_eq!(header(&one_back, "x-ratelimit-remaining-requests"), "0");
    clock.advance(Duration::from_secs(60));
    let reset = service.oneshot(hello("chat", Some("alice"))).await.unwrap();
    assert_eq!(header(&reset, "x-ratelimit-remaining-requests"), "2");
}

#[tokio::test]
async fn keys_decide_whose_bucket_a_request_counts_in() {
    let store: Arc<dyn RateStore> = Arc::new(MemoryRateStore::with_clock(clock()));
    let call = |layer: &RateLimitLayer, endpoint: &str, caller: Option<&str>| {
        layer
            .layer(MockProvider::new())
            .oneshot(hello(endpoint, caller))
    };

    // Per endpoint: every caller shares it.
    let per_endpoint =
        RateLimitLayer::new(Arc::clone(&store)).limits(KeyBy::Endpoint, &requests(1));
    assert!(call(&per_endpoint, "a", Some("alice")).await.is_ok());
    assert!(call(&per_endpoint, "a", Some("bob")).await.is_err());
    assert!(call(&per_endpoint, "b", Some("bob")).await.is_ok());

    // Per caller: across endpoints; no caller, no limit.
    let per_caller = RateLimitLayer::new(Arc::clone(&store)).limits(KeyBy::Caller, &requests(1));
    assert!(call(&per_caller, "c", Some("carol")).await.is_ok());
    assert!(call(&per_caller, "d", Some("carol")).await.is_err());
    for _ in 0..3 {
        assert!(call(&per_caller, "c", None).await.is_ok());
    }

    // Per caller on each endpoint; without a caller, per endpoint.
    let both =
        RateLimitLayer::new(Arc::clone(&store)).limits(KeyBy::CallerOnEndpoint, &requests(1));
    assert!(call(&both, "e", Some("dave")).await.is_ok());
    assert!(call(&both, "f", Some("dave")).await.is_ok());
    assert!(call(&both, "e", Some("erin")).await.is_ok());
    assert!(call(&both, "e", Some("dave")).await.is_err());
    assert!(call(&both, "e", None).await.is_ok());
    let refused = call(&both, "e", None).await.unwrap_err();
    assert!(
        refused.message().contains("(endpoint `e`)"),
        "{}",
        refused.message()
    );

    // One caller's own limits touch no one else.
    let one_caller = RateLimitLayer::new(Arc::clone(&store)).caller_limits("frank", &requests(1));
    assert!(call(&one_caller, "g", Some("frank")).await.is_ok());
    assert!(call(&one_caller, "g", Some("frank")).await.is_err());
    assert!(call(&one_caller, "g", Some("gina")).await.is_ok());
    assert!(call(&one_caller, "g", Some("gina")).await.is_ok());
}

#[tokio::test]
async fn mlflows_limit_refuses_in_mlflows_words() {
    let layer = RateLimitLayer::new(Arc::new(MemoryRateStore::new()))
        .call_limit(CallLimit::new(1, RenewalPeriod::Minute).unwrap());
    let service = layer.layer(MockProvider::new());
    service
        .clone()
        .oneshot(hello("chat", Some("alice")))
        .await
        .unwrap();
    // All callers together.
    let refused = service
        .oneshot(hello("chat", Some("bob")))
        .await
        .unwrap_err();
    assert_eq!(refused.message(), "Rate limit exceeded: 1 per 1 minute");
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(60)));
}

#[tokio::test]
async fn the_tighter_of_two_limits_speaks_in_the_headers() {
    let limits = Limits::new()
        .requests(Rate::per_minute(100).unwrap())
        .requests(Rate::per_day(5).unwrap());
    let layer =
        RateLimitLayer::new(Arc::new(MemoryRateStore::new())).limits(KeyBy::Caller, &limits);
    let answer = layer
        .layer(MockProvider::new())
        .oneshot(hello("chat", Some("alice")))
        .await
        .unwrap();
    assert_eq!(header(&answer, "x-ratelimit-limit-requests"), "5");
    assert_eq!(header(&answer, "x-ratelimit-remaining-requests"), "4");
}

#[tokio::test]
async fn a_refusal_gives_back_what_other_limits_took() {
    let store = Arc::new(MemoryRateStore::new());
    let limits = Limits::new()
        .requests(Rate::per_minute(10).unwrap())
        .tokens(Rate::per_minute(50).unwrap());
    let layer = RateLimitLayer::new(Arc::clone(&store) as Arc<dyn RateStore>)
        .estimate(TokenCounter::for_model("gpt-4o"))
        .limits(KeyBy::Caller, &limits);
    // 9 prompt tokens plus 100: more than the token limit ever allows.
    let refused = layer
        .layer(MockProvider::new())
        .oneshot(hello("chat", Some("alice")))
        .await
        .unwrap_err();
    assert_eq!(refused.retry_after(), None);
    assert_eq!(
        refused.message(),
        "Request too large for tokens per minute (caller `alice`): it may use up to 109 tokens \
         (the prompt plus `max_tokens`), more than the limit of 50; lower `max_tokens` or shorten the prompt"
    );
    let requests = store
        .adjust("requests:caller:alice", Rate::per_minute(10).unwrap(), 0)
        .await
        .unwrap();
    assert_eq!(
        requests.remaining, 10,
        "the refused request's slot was given back"
    );
}

/// A stack with the accounting layer above the limits, as the gateway
/// builds it, on `store`, with a token limit per caller.
fn accounted(
    store: Arc<dyn RateStore>,
    tokens: Rate,
    provider: MockProvider,
) -> BoxCloneService<GatewayRequest, GatewayResponse, GatewayError> {
    let prices = PriceBook::builder()
        .endpoint("chat", "gpt-4o", Some(Pricing::FREE))
        .build();
    let limits = TokenAccountingLayer::new(prices.clone());
    let layer = RateLimitLayer::new(store)
        .estimate(prices)
        .limits(KeyBy::Caller, &Limits::new().tokens(tokens));
    BoxCloneService::new(limits.layer(layer.layer(provider)))
}

/// Records what `request` was settled with.
fn spent(request: &mut GatewayRequest) -> Arc<Mutex<Vec<Spent>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    Settlements::of(request).push(move |spent: &Spent| sink.lock().unwrap().push(spent.clone()));
    seen
}

async fn tokens_left(store: &dyn RateStore, rate: Rate) -> u64 {
    store
        .adjust("tokens:caller:alice", rate, 0)
        .await
        .unwrap()
        .remaining
}

#[tokio::test]
async fn a_complete_answer_settles_its_reservation_with_its_usage() {
    let store: Arc<dyn RateStore> = Arc::new(MemoryRateStore::with_clock(clock()));
    let rate = Rate::per_day(1000).unwrap();
    let service = accounted(
        Arc::clone(&store),
        rate,
        MockProvider::new().reply("one two three"),
    );
    let mut request = hello("chat", Some("alice"));
    let seen = spent(&mut request);
    let answer = service.oneshot(request).await.unwrap();
    // Reserved: 9 prompt tokens + 100 max_tokens.
    assert_eq!(header(&answer, "x-ratelimit-remaining-tokens"), "891");
    let used = seen.lock().unwrap()[0].usage.total_tokens;
    assert!(used > 0 && used < 109, "{used}");
    assert_eq!(tokens_left(&*store, rate).await, 1000 - used);
}

#[tokio::test]
async fn a_finished_and_a_dropped_stream_settle_what_passed() {
    for drop_after in [None, Some(2)] {
        let store: Arc<dyn RateStore> = Arc::new(MemoryRateStore::with_clock(clock()));
        let rate = Rate::per_day(1000).unwrap();
        let provider = MockProvider::new()
            .reply("a b c d e f g h i j k l")
            .chunks(12);
        let service = accounted(Arc::clone(&store), rate, provider);
        let mut request = chat(
            "chat",
            Some("alice"),
            serde_json::json!({"messages": [{"role": "user", "content": "hello world"}], "max_tokens": 100, "stream": true}),
        );
        let seen = spent(&mut request);
        let answer = service.oneshot(request).await.unwrap();
        assert_eq!(header(&answer, "x-ratelimit-remaining-tokens"), "891");
        let Payload::ChatStream(mut stream) = answer.payload else {
            panic!("not a stream")
        };
        match drop_after {
            None => while stream.next().await.is_some() {},
            Some(chunks) => {
                for _ in 0..chunks {
                    stream.next().await.unwrap().unwrap();
                }
                drop(stream);
            }
        }
        let used = seen.lock().unwrap()[0].usage.total_tokens;
        assert!(used > 0 && used < 109, "{drop_after:?}: {used}");
        assert_eq!(
            tokens_left(&*store, rate).await,
            1000 - used,
            "{drop_after:?}"
        );
    }
}

#[tokio::test]
async fn a_failed_call_gives_its_tokens_back_and_still_carries_the_headers() {
    let store: Arc<dyn RateStore> = Arc::new(MemoryRateStore::with_clock(clock()));
    let rate = Rate::per_day(1000).unwrap();
    let provider = MockProvider::new().fail_with(GatewayError::bad_gateway("upstream fell over"));
    let error = accounted(Arc::clone(&store), rate, provider)
        .oneshot(hello("chat", Some("alice")))
        .await
        .unwrap_err();
    assert_eq!(error.message(), "upstream fell over");
    assert_eq!(
        error.headers().unwrap()["x-ratelimit-remaining-tokens"],
        "891"
    );
    assert_eq!(tokens_left(&*store, rate).await, 1000);
}

#[tokio::test]
async fn token_settlement_reaches_redis() {
    let server = RedisServer::start();
    let store: Arc<dyn RateStore> = Arc::new(
        RedisQuotaStore::builder(server.url())
            .clock(clock())
            .build()
            .unwrap(),
    );
    let rate = Rate::per_day(1000).unwrap();
    let service = accounted(
        Arc::clone(&store),
        rate,
        MockProvider::new().reply("one two three"),
    );
    let mut request = hello("chat", Some("alice"));
    let seen = spent(&mut request);
    service.oneshot(request).await.unwrap();
    let used = seen.lock().unwrap()[0].usage.total_tokens;
    // The settlement runs on the runtime, after the answer.
    let mut left = 0;
    for _ in 0..100 {
        left = tokens_left(&*store, rate).await;
        if left == 1000 - used {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(left, 1000 - used);
}

#[tokio::test]
async fn a_redis_that_is_down_refuses_or_admits_as_configured_and_never_hangs() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    let layer = |policy| {
        let store = RedisQuotaStore::builder(url.as_str())
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        RateLimitLayer::new(Arc::new(store))
            .on_store_error(policy)
            .limits(KeyBy::Caller, &requests(5))
    };
    let guard = Duration::from_secs(10);

    let closed = layer(OnStoreError::Closed);
    let refused = tokio::time::timeout(
        guard,
        closed
            .layer(MockProvider::new())
            .oneshot(hello("chat", Some("alice"))),
    )
    .await
    .expect("a stopped Redis hangs the request")
    .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unavailable);
    assert_eq!(refused.status().as_u16(), 503);
    assert!(
        refused.message().contains("caller `alice`"),
        "{}",
        refused.message()
    );
    assert_eq!(closed.store_errors(), 1);

    let open = layer(OnStoreError::Open);
    let answer = tokio::time::timeout(
        guard,
        open.layer(MockProvider::new())
            .oneshot(hello("chat", Some("alice"))),
    )
    .await
    .expect("a stopped Redis hangs the request");
    assert!(answer.is_ok());
    assert_eq!(open.store_errors(), 1);
}

#[tokio::test]
async fn requests_no_limit_applies_to_pass_untouched() {
    let layer =
        RateLimitLayer::new(Arc::new(MemoryRateStore::new())).caller_limits("alice", &requests(1));
    let service = layer.layer(service_fn(|_request: GatewayRequest| async {
        Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
    }));
    let answer = service.oneshot(hello("chat", Some("bob"))).await.unwrap();
    assert!(answer.meta.headers.is_empty());
}
