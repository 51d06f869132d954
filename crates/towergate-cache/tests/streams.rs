//! Streamed answers: recorded as they pass, replayed chunk for chunk,
//! served to complete requests and back, never kept when cut or failed,
//! and shared with concurrent misses once they end.

#![allow(clippy::unwrap_used)]

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures_util::{StreamExt, future::join_all, stream};
use support::*;
use tower_service::Service;
use towergate_core::{
    CacheVerdict, ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
    chat::ChatChunk, completion::CompletionResponse,
};
use towergate_testkit::MockProvider;

/// Long enough for a test that waits on the cache to fail rather than hang.
const NEVER_HANGS: Duration = Duration::from_secs(10);

type Item = Result<ChatChunk, GatewayError>;

/// An upstream that answers every call with a stream of `script`'s items,
/// and the count of its calls.
fn scripted(
    script: Vec<Item>,
) -> (
    impl Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError, Future: Send>
    + Clone
    + Send
    + 'static,
    Arc<AtomicUsize>,
) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let service = tower::service_fn(move |_request: GatewayRequest| {
        counter.fetch_add(1, Ordering::SeqCst);
        let script = script.clone();
        async move {
            let mut response =
                GatewayResponse::new(Payload::ChatStream(Box::pin(stream::iter(script))));
            response.meta.provider = Some("scripted".to_owned());
            Ok(response)
        }
    });
    (service, calls)
}

/// One chunk of choice `index`, adding `content`, ending the choice with
/// `finish` if given.
fn piece(index: u32, content: &str, finish: Option<&str>) -> Item {
    Ok(serde_json::from_value(serde_json::json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "scripted-model",
        "choices": [{
            "index": index,
            "delta": {"role": "assistant", "content": content},
            "finish_reason": finish,
        }],
    }))
    .unwrap())
}

/// `request` asking for `n` choices.
fn with_choices(mut request: GatewayRequest, n: u32) -> GatewayRequest {
    let Operation::Chat(chat) = &mut request.operation else {
        unreachable!()
    };
    chat.n = Some(n);
    request
}

/// `request` asking for usage in the stream's last chunk.
fn with_stream_usage(mut request: GatewayRequest) -> GatewayRequest {
    let Operation::Chat(chat) = &mut request.operation else {
        unreachable!()
    };
    chat.stream_options =
        Some(serde_json::from_value(serde_json::json!({"include_usage": true})).unwrap());
    request
}

/// Calls `service` twice with `request()`, reading each answer to its end:
/// both must go upstream, as nothing was kept.
async fn assert_not_kept<S>(service: &S, calls: &AtomicUsize, request: impl Fn() -> GatewayRequest)
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
{
    let before = calls.load(Ordering::SeqCst);
    for expected_calls in before + 1..=before + 2 {
        let answer = tokio::time::timeout(NEVER_HANGS, call(service, request()))
            .await
            .expect("the cache did not hang")
            .unwrap();
        assert_eq!(verdict(&answer), Some(CacheVerdict::Miss));
        items(answer).await;
        assert_eq!(calls.load(Ordering::SeqCst), expected_calls);
    }
}

#[tokio::test]
async fn a_streamed_hit_replays_the_very_chunks_of_the_streamed_miss() {
    let upstream = MockProvider::new().reply("The capital of France is Paris.");
    let service = cached(upstream.clone());

    let miss = call(&service, with_stream_usage(chat("Capital?", true)))
        .await
        .unwrap();
    assert_eq!(verdict(&miss), Some(CacheVerdict::Miss));
    let original = chunks(miss).await;
    // One chunk per word, a role chunk, a finish chunk and a usage chunk.
    assert_eq!(original.len(), 9);
    let usage = original.last().unwrap().usage.clone();
    assert!(usage.is_some());

    let hit = call(&service, with_stream_usage(chat("Capital?", true)))
        .await
        .unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));
    // The usage the stream reported is the hit's usage, for accounting.
    assert_eq!(hit.meta.usage, usage);
    assert_eq!(hit.meta.provider.as_deref(), Some("mock"));
    let replayed = chunks(hit).await;
    assert_eq!(replayed, original, "the same chunks, ids included");
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn a_complete_request_after_a_stream_gets_the_assembled_answer() {
    let upstream = MockProvider::new().reply("The capital of France is Paris.");
    let service = cached(upstream.clone());
    let streamed = chunks(call(&service, chat("Capital?", true)).await.unwrap()).await;

    let hit = call(&service, chat("Capital?", false)).await.unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));
    let answer = complete(hit);
    assert_eq!(text(&answer), "The capital of France is Paris.");
    assert_eq!(text(&answer), streamed_text(&streamed));
    assert_eq!(answer.id, streamed[0].id);
    assert_eq!(answer.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn a_streamed_request_after_a_complete_answer_gets_it_as_chunks() {
    let upstream = MockProvider::new().reply("The capital of France is Paris.");
    let service = cached(upstream.clone());
    let first = complete(call(&service, chat("Capital?", false)).await.unwrap());

    let hit = call(&service, chat("Capital?", true)).await.unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));
    let replayed = chunks(hit).await;
    assert!(replayed.iter().all(|chunk| chunk.id == first.id));
    let content: String = replayed
        .iter()
        .flat_map(|chunk| &chunk.choices)
        .filter_map(|choice| choice.delta.content.as_deref())
        .collect();
    assert_eq!(content, text(&first));
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn a_completion_stream_is_replayed_chunk_for_chunk() {
    let upstream = MockProvider::new().reply("and they lived happily ever after");
    let service = cached(upstream.clone());

    let miss = call(&service, completion("Once upon a time", true))
        .await
        .unwrap();
    assert_eq!(verdict(&miss), Some(CacheVerdict::Miss));
    let original = completion_chunks(miss).await;
    assert_eq!(original.len(), 7, "one chunk per word and a finish chunk");

    let hit = call(&service, completion("Once upon a time", true))
        .await
        .unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));
    assert_eq!(completion_chunks(hit).await, original);

    // And a complete request gets the stream assembled.
    let hit = call(&service, completion("Once upon a time", false))
        .await
        .unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));
    let Payload::Completion(answer) = hit.payload else {
        panic!("expected a complete completion")
    };
    assert_eq!(
        answer,
        CompletionResponse::from_chunks(&original).unwrap(),
        "the stream, assembled"
    );
    assert_eq!(answer.choices[0].text, "and they lived happily ever after");
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn a_stream_that_fails_after_its_chunks_is_never_kept() {
    let error = GatewayError::new(
        ErrorKind::Upstream(http::StatusCode::BAD_GATEWAY),
        "connection reset",
    );
    // Every choice finished before the error: only the error stops it.
    let (upstream, calls) = scripted(vec![
        piece(0, "Paris", None),
        piece(0, ".", Some("stop")),
        Err(error),
    ]);
    let service = cached(upstream);

    let answer = call(&service, chat("Capital?", true)).await.unwrap();
    let items = items(answer).await;
    assert_eq!(items.len(), 3, "the chunks and the error pass on unchanged");
    assert_eq!(items[2].as_ref().unwrap_err().message(), "connection reset");

    assert_not_kept(&service, &calls, || chat("Capital?", true)).await;
}

#[tokio::test]
async fn a_stream_cut_before_its_finish_reason_is_never_kept() {
    let (upstream, calls) = scripted(vec![piece(0, "Par", None), piece(0, "is", None)]);
    let service = cached(upstream);
    assert_not_kept(&service, &calls, || chat("Capital?", true)).await;
    // Nor is it given, assembled, to a complete request.
    let answer = call(&service, chat("Capital?", false)).await.unwrap();
    assert_eq!(verdict(&answer), Some(CacheVerdict::Miss));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_stream_with_a_choice_left_unfinished_is_never_kept() {
    let (upstream, calls) = scripted(vec![
        piece(0, "Paris", None),
        piece(1, "Lyon", None),
        piece(0, ".", Some("stop")),
        piece(1, " and", None),
    ]);
    let service = cached(upstream);
    assert_not_kept(&service, &calls, || with_choices(chat("Capital?", true), 2)).await;
}

#[tokio::test]
async fn a_stream_with_every_choice_finished_is_kept() {
    // The counterpart of the faulty streams above: the same upstream, with
    // both choices finished, is kept.
    let (upstream, calls) = scripted(vec![
        piece(0, "Paris", None),
        piece(1, "Lyon", None),
        piece(0, ".", Some("stop")),
        piece(1, ".", Some("length")),
    ]);
    let service = cached(upstream);
    items(
        call(&service, with_choices(chat("Capital?", true), 2))
            .await
            .unwrap(),
    )
    .await;
    let hit = call(&service, with_choices(chat("Capital?", false), 2))
        .await
        .unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));
    let answer = complete(hit);
    assert_eq!(answer.choices.len(), 2);
    assert_eq!(answer.choices[1].message.text_content().unwrap(), "Lyon.");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_stream_dropped_by_its_reader_is_never_kept() {
    let upstream = MockProvider::new().reply("The capital of France is Paris.");
    let service = cached(upstream.clone());

    let answer = call(&service, chat("Capital?", true)).await.unwrap();
    let Payload::ChatStream(mut stream) = answer.payload else {
        panic!("expected a chat stream")
    };
    stream.next().await.unwrap().unwrap();
    stream.next().await.unwrap().unwrap();
    drop(stream);

    let again = tokio::time::timeout(NEVER_HANGS, call(&service, chat("Capital?", true)))
        .await
        .expect("a dropped stream leaves no call in flight")
        .unwrap();
    assert_eq!(verdict(&again), Some(CacheVerdict::Miss));
    assert_eq!(upstream.calls(), 2);
    assert_eq!(
        streamed_text(&chunks(again).await),
        "The capital of France is Paris."
    );
}

#[tokio::test]
async fn concurrent_misses_wait_for_a_streaming_leader_and_share_its_answer() {
    let upstream = MockProvider::new()
        .reply("one two three four five six seven eight")
        .chunk_interval(Duration::from_millis(20));
    let service = cached(upstream.clone());

    let leader = call(&service, chat("Count", true)).await.unwrap();
    assert_eq!(verdict(&leader), Some(CacheVerdict::Miss));
    let Payload::ChatStream(mut stream) = leader.payload else {
        panic!("expected a chat stream")
    };
    let mut original = vec![stream.next().await.unwrap().unwrap()];

    // Ten identical requests while the leader streams, half of them streamed.
    let followers: Vec<_> = (0..10)
        .map(|i| {
            let service = service.clone();
            tokio::spawn(async move { call(&service, chat("Count", i % 2 == 0)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        followers.iter().all(|follower| !follower.is_finished()),
        "followers wait for the leader's stream to end"
    );
    assert_eq!(upstream.calls(), 1);

    while let Some(chunk) = stream.next().await {
        original.push(chunk.unwrap());
    }
    let answers = tokio::time::timeout(NEVER_HANGS, join_all(followers))
        .await
        .expect("followers are answered once the leader's stream ends");
    for (i, answer) in answers.into_iter().enumerate() {
        let answer = answer.unwrap().unwrap();
        assert_eq!(verdict(&answer), Some(CacheVerdict::Hit));
        if i % 2 == 0 {
            assert_eq!(chunks(answer).await, original);
        } else {
            assert_eq!(text(&complete(answer)), streamed_text(&original));
        }
    }
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn a_leader_whose_stream_is_dropped_lets_a_waiting_miss_call_the_upstream() {
    let upstream = MockProvider::new()
        .reply("one two three four five six seven eight")
        .chunk_interval(Duration::from_millis(20));
    let service = cached(upstream.clone());

    let leader = call(&service, chat("Count", true)).await.unwrap();
    let Payload::ChatStream(mut stream) = leader.payload else {
        panic!("expected a chat stream")
    };
    stream.next().await.unwrap().unwrap();
    stream.next().await.unwrap().unwrap();

    let followers: Vec<_> = (0..3)
        .map(|i| {
            let service = service.clone();
            tokio::spawn(async move {
                let answer = call(&service, chat("Count", i == 2)).await?;
                let verdict = verdict(&answer);
                let text = match answer.payload {
                    Payload::Chat(_) => text(&complete(answer)),
                    _ => streamed_text(&chunks(answer).await),
                };
                Ok::<_, GatewayError>((verdict, text))
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(followers.iter().all(|follower| !follower.is_finished()));
    drop(stream);

    let answers = tokio::time::timeout(NEVER_HANGS, join_all(followers))
        .await
        .expect("a follower leads once the leader's stream is dropped");
    let mut misses = 0;
    for answer in answers {
        let (verdict, text) = answer.unwrap().unwrap();
        assert_eq!(text, "one two three four five six seven eight");
        misses += usize::from(verdict == Some(CacheVerdict::Miss));
    }
    assert_eq!(upstream.calls(), 2);
    assert_eq!(misses, 1, "one follower called the upstream, for all");
}
