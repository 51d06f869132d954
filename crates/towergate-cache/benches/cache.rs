//! What the response cache costs and saves per request.
//!
//! - `cache_key`: [`CacheKey::of`], run on every cacheable request, on a
//!   two-message chat, a thirteen-message chat of about 2.5 KB and a chat
//!   with two tools; throughput in bytes of the request's JSON.
//! - `cache`: the in-process [`MockProvider`] alone (`direct_baseline`), and
//!   behind a [`CacheLayer`] over a [`MemoryCacheStore`]: `miss` (a new
//!   question on every call: key, lookup, upstream call, store), `hit` (one
//!   question, stored beforehand: key, lookup, the stored answer) and
//!   `hit_stream` (a streamed request replayed from a stored stream, every
//!   chunk read).
//! - `cache_redis`: `hit` and `miss` over a [`RedisCacheStore`] on a
//!   throwaway loopback `redis-server`, round trips included; skipped, with
//!   a note, when `redis-server` cannot be started.
//!
//! Requests are built outside the timed part, and answers dropped outside
//! it, so every entry times the same thing: one call through the service
//! (and, for a stream, reading every chunk).
//! Everything runs on one current-thread runtime, so the layer, the mock
//! and the Redis connection's task share one thread, as on a busy worker.
//!
//! ```text
//! cargo bench -p towergate-cache --bench cache
//! ```
#![allow(missing_docs, clippy::unwrap_used)]

use std::{hint::black_box, sync::Arc, time::Duration};

use criterion::{
    BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main,
    measurement::WallTime,
};
use futures_util::StreamExt;
use tower::{Layer, ServiceExt};
use towergate_cache::{CacheKey, CacheLayer, DEFAULT_MAX_BYTES, MemoryCacheStore, RedisCacheStore};
use towergate_core::{
    CacheVerdict, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
    chat::{ChatMessage, ChatRequest, Role},
};
use towergate_testkit::{MockProvider, redis::RedisServer};

/// What the upstream answers to every question: 36 words, which the mock
/// streams as 38 chunks (one per word, and a first and a last).
const ANSWER: &str = "Paris is the capital of France. It sits on the Seine, \
    has been the seat of government for most of the last thousand years, \
    and is known for its museums, its food and the Eiffel Tower.";

/// How long the hits' answers are kept: longer than any run.
const LONG_TTL: Duration = Duration::from_secs(3600);

/// How long the misses' answers are kept in Redis, so that a run of
/// misses does not fill the server.
const SHORT_TTL: Duration = Duration::from_secs(5);

/// The bound of the misses' memory store: every call adds an answer, so
/// after a while each one also evicts one, as a full cache does.
const MISS_STORE_BYTES: u64 = 64 << 20;

/// Earlier turns of the long chat: six questions and their answers.
const TURNS: [(&str, &str); 6] = [
    (
        "I am planning four days in Lisbon in late October. Which neighbourhoods are best to stay in if I want to walk to most sights?",
        "Baixa and Chiado are central and flat by Lisbon standards; Alfama is charming but hilly. From any of them most sights are a short walk or tram ride away. Avoid the cruise terminal side if you want quiet nights.",
    ),
    (
        "Is it worth buying the Lisboa Card, or should I pay for transport and museums one by one?",
        "It pays off if you plan two or three paid museums a day and use the trams often. For a slower trip, a rechargeable Viva Viagem card is usually cheaper. Either way, keep coins for the older ticket machines.",
    ),
    (
        "What day trips can I take by train without renting a car, and how long does each one take?",
        "Sintra is forty minutes from Rossio, Cascais about the same from Cais do Sodre, and Evora about ninety minutes from Oriente. Sintra needs a full day to do well; Cascais and Evora are easy half days.",
    ),
    (
        "Which of those would you pick if I only have one free day and I care more about views than museums?",
        "Sintra: the Pena Palace terraces and the Moorish Castle walls have the widest views. Go early on a weekday, as the buses up the hill fill by late morning. Bring a jacket: it is windy and cooler up there.",
    ),
    (
        "What should I eat at least once while I am there, apart from the custard tarts everybody mentions?",
        "Grilled sardines or bacalhau, a bifana from a counter bar, arroz de marisco to share, and a glass of ginjinha. Many small tascas have a cheap set lunch, the prato do dia, on weekdays.",
    ),
    (
        "Do restaurants expect a tip, and is it normal to book a table for dinner a day or two ahead?",
        "Tipping is modest: rounding up or five to ten percent for good service. Popular places in Chiado and Principe Real are worth booking ahead for Friday and Saturday. Dinner starts late, rarely before eight.",
    ),
];

/// A chat asking `question` after a short system prompt.
fn short_chat(question: &str) -> ChatRequest {
    ChatRequest {
        model: Some("chat".to_owned()),
        messages: vec![
            ChatMessage::text(Role::System, "Answer briefly and plainly."),
            ChatMessage::text(Role::User, question),
        ],
        temperature: Some(0.0),
        ..ChatRequest::default()
    }
}

/// Thirteen messages: a system prompt, six turns and a last question.
fn long_chat() -> ChatRequest {
    let mut messages = vec![ChatMessage::text(
        Role::System,
        "You are a friendly travel assistant. Keep answers short.",
    )];
    for (question, answer) in TURNS {
        messages.push(ChatMessage::text(Role::User, question));
        messages.push(ChatMessage::text(Role::Assistant, answer));
    }
    messages.push(ChatMessage::text(
        Role::User,
        "Great. Can you put all of that into a day-by-day plan?",
    ));
    ChatRequest {
        model: Some("chat".to_owned()),
        messages,
        temperature: Some(0.7),
        max_tokens: Some(800),
        ..ChatRequest::default()
    }
}

/// A question with two function tools, as an agent sends it.
fn tools_chat() -> ChatRequest {
    serde_json::from_value(serde_json::json!({
        "model": "chat",
        "messages": [
            {"role": "system", "content": "You help travellers. Call a tool when it can answer."},
            {"role": "user", "content": "Will it rain in Lisbon on Saturday, and is there a direct flight there from Paris that morning?"}
        ],
        "tools": [
            {"type": "function", "function": {
                "name": "get_forecast",
                "description": "The weather forecast for a city on a given day.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "description": "City name, in English."},
                        "date": {"type": "string", "format": "date"},
                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
                    },
                    "required": ["city", "date"]
                }
            }},
            {"type": "function", "function": {
                "name": "search_flights",
                "description": "Direct flights between two airports on a given day.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "from": {"type": "string", "description": "IATA code of the departure airport."},
                        "to": {"type": "string", "description": "IATA code of the arrival airport."},
                        "date": {"type": "string", "format": "date"},
                        "depart_before": {"type": "string", "description": "Latest departure, HH:MM local time."}
                    },
                    "required": ["from", "to", "date"]
                }
            }}
        ],
        "tool_choice": "auto",
        "temperature": 0
    }))
    .unwrap()
}

fn cache_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache_key");
    let chats = [
        (
            "chat_2_messages",
            short_chat("What is the capital of France?"),
        ),
        ("chat_13_messages", long_chat()),
        ("chat_with_tools", tools_chat()),
    ];
    for (name, chat) in chats {
        let bytes = serde_json::to_vec(&chat).unwrap().len();
        eprintln!("cache_key/{name}: {bytes} bytes of JSON");
        let mut operation = Operation::Chat(chat);
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(name, |b| {
            b.iter(|| CacheKey::of(black_box("chat"), black_box(&mut operation)).unwrap());
        });
    }
    group.finish();
}

/// A request on the `chat` endpoint asking `question`.
fn request(question: &str, stream: bool) -> GatewayRequest {
    let mut chat = short_chat(question);
    chat.stream = stream.then_some(true);
    GatewayRequest::new("chat", Operation::Chat(chat))
}

/// How many chunks a streamed chat answer had.
async fn drain(response: GatewayResponse) -> usize {
    match response.payload {
        Payload::ChatStream(chunks) => chunks.map(|chunk| chunk.unwrap()).count().await,
        other => panic!("expected a chat stream, got {other:?}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Asks `service` `question` twice, streamed or not (a stream read to its
/// end), and checks that the first call missed and stored the answer and
/// the second was answered from it.
fn warm<S>(runtime: &tokio::runtime::Runtime, service: &S, question: &str, stream: bool)
where
    S: tower::Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
{
    runtime.block_on(async {
        let mut verdicts = Vec::new();
        let mut answers = Vec::new();
        for _ in 0..2 {
            let response = service
                .clone()
                .oneshot(request(question, stream))
                .await
                .unwrap();
            verdicts.push(response.meta.cache);
            answers.push(if stream {
                format!("{} chunks", drain(response).await)
            } else {
                match response.payload {
                    Payload::Chat(chat) => chat.id,
                    other => panic!("expected a complete chat answer, got {other:?}"),
                }
            });
        }
        assert_eq!(
            verdicts,
            [Some(CacheVerdict::Miss), Some(CacheVerdict::Hit)],
            "{question:?} (stream: {stream})"
        );
        assert_eq!(answers[0], answers[1], "the hit is the stored answer");
        if stream {
            eprintln!("{question:?}: {} replayed from the cache", answers[1]);
        }
    });
}

/// Times, as `name`, `service` answering a request made by `next` on every
/// call; making the request is not timed.
fn bench_calls<S>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    service: &S,
    mut next: impl FnMut() -> GatewayRequest,
) where
    S: tower::Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
{
    group.bench_function(name, |b| {
        b.to_async(runtime).iter_batched(
            &mut next,
            |r| service.clone().oneshot(r),
            BatchSize::SmallInput,
        );
    });
}

/// Times, as `miss`, `misses` answering a new question on every call, and
/// checks that every one of them called `upstream`.
fn bench_misses<S>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &tokio::runtime::Runtime,
    upstream: &MockProvider,
    misses: &S,
) where
    S: tower::Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
{
    let calls = upstream.calls();
    let mut asked = 0;
    bench_calls(group, runtime, "miss", misses, || {
        asked += 1;
        request(
            &format!("Question {asked}: what is the capital of France?"),
            false,
        )
    });
    assert_eq!(
        upstream.calls() - calls,
        asked,
        "every miss called the upstream"
    );
}

fn cache(c: &mut Criterion) {
    let runtime = runtime();
    let upstream = MockProvider::new().reply(ANSWER);
    // Holds the two answers the hits read; far from full, nothing is evicted.
    let hits = CacheLayer::new(Arc::new(MemoryCacheStore::new(DEFAULT_MAX_BYTES)), LONG_TTL)
        .layer(upstream.clone());
    let misses = CacheLayer::new(Arc::new(MemoryCacheStore::new(MISS_STORE_BYTES)), LONG_TTL)
        .layer(upstream.clone());
    // `hit` reads a stored complete answer, `hit_stream` a stored stream.
    let (question, streamed) = ("What is the capital of France?", "Tell me about Paris.");
    warm(&runtime, &hits, question, false);
    warm(&runtime, &hits, streamed, true);

    let mut group = c.benchmark_group("cache");
    bench_calls(&mut group, &runtime, "direct_baseline", &upstream, || {
        request(question, false)
    });

    bench_misses(&mut group, &runtime, &upstream, &misses);

    let calls = upstream.calls();
    bench_calls(&mut group, &runtime, "hit", &hits, || {
        request(question, false)
    });
    group.bench_function("hit_stream", |b| {
        b.to_async(&runtime).iter_batched(
            || request(streamed, true),
            |r| {
                let hits = hits.clone();
                async move { drain(hits.oneshot(r).await.unwrap()).await }
            },
            BatchSize::SmallInput,
        );
    });
    assert_eq!(
        upstream.calls(),
        calls,
        "every hit was answered by the cache"
    );
    group.finish();
}

fn cache_redis(c: &mut Criterion) {
    let server = match RedisServer::try_start() {
        Ok(server) => server,
        Err(error) => {
            eprintln!("skipping cache_redis: no redis-server could be started: {error}");
            return;
        }
    };
    let runtime = runtime();
    let store = runtime
        .block_on(async { RedisCacheStore::builder(server.url()).build() })
        .unwrap();
    let store = Arc::new(store);
    let upstream = MockProvider::new().reply(ANSWER);
    let hits = CacheLayer::new(store.clone(), LONG_TTL).layer(upstream.clone());
    let misses = CacheLayer::new(store, SHORT_TTL).layer(upstream.clone());
    let question = "What is the capital of France?";
    warm(&runtime, &hits, question, false);

    let mut group = c.benchmark_group("cache_redis");
    bench_misses(&mut group, &runtime, &upstream, &misses);

    let calls = upstream.calls();
    bench_calls(&mut group, &runtime, "hit", &hits, || {
        request(question, false)
    });
    // A Redis call that times out on a busy machine is a miss, not an error.
    let missed = upstream.calls() - calls;
    if missed > 0 {
        eprintln!("cache_redis/hit: {missed} calls missed (Redis too slow to answer?)");
    }
    group.finish();
    drop(server);
}

criterion_group!(benches, cache_key, cache, cache_redis);
criterion_main!(benches);
