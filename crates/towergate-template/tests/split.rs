//! Splits between versions: the share each version gets over many
//! requests, and stickiness per caller. Request ids and caller names are
//! fixed, so every count here is the same on every run.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use tower::{Layer, ServiceExt};
use towergate_template::{PROMPT_HEADER, PromptSelection, TemplateLayer};

fn variables() -> serde_json::Value {
    json!({"words": 20, "text": "The cat sat."})
}

/// Sends each request through `selection`'s layer; counts the versions
/// the provider saw, checking each answer's header names the same one.
async fn versions_seen(
    selection: PromptSelection,
    requests: impl IntoIterator<Item = towergate_core::GatewayRequest>,
) -> Vec<u32> {
    let (provider, seen) = common::capturing();
    let service = TemplateLayer::new(common::library(), selection)
        .unwrap()
        .layer(provider);
    let mut headers = Vec::new();
    for request in requests {
        let answer = service.clone().oneshot(request).await.unwrap();
        headers.push(
            answer.meta.headers[PROMPT_HEADER]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    let seen = seen.lock().unwrap();
    let versions: Vec<u32> = seen
        .iter()
        .map(|(_, choice)| choice.as_ref().unwrap().version)
        .collect();
    let from_headers: Vec<String> = versions.iter().map(|v| format!("summarize@{v}")).collect();
    assert_eq!(headers, from_headers);
    versions
}

fn counts(versions: &[u32]) -> BTreeMap<u32, usize> {
    let mut counts = BTreeMap::new();
    for version in versions {
        *counts.entry(*version).or_default() += 1;
    }
    counts
}

/// Asserts `count` is within `tolerance` of `expected`.
fn near(count: usize, expected: usize, tolerance: usize) {
    assert!(
        count.abs_diff(expected) <= tolerance,
        "{count} is not within {tolerance} of {expected}"
    );
}

#[tokio::test]
async fn a_fifty_fifty_split_halves_ten_thousand_requests() {
    let requests = (0..10_000).map(|i| common::chat_from(&format!("req-{i}"), None, variables()));
    let versions = versions_seen(
        PromptSelection::split("summarize", [(1, 50), (2, 50)]),
        requests,
    )
    .await;
    let counts = counts(&versions);
    assert_eq!(counts.values().sum::<usize>(), 10_000);
    // One standard deviation is 50 requests; allow six.
    near(counts[&1], 5_000, 300);
    near(counts[&2], 5_000, 300);
}

#[tokio::test]
async fn an_uneven_split_follows_its_weights_and_a_zero_weight_gets_nothing() {
    let requests =
        (0..10_000).map(|i| common::chat_from(&format!("0b7c-{i:05}-uuid"), None, variables()));
    let versions = versions_seen(
        PromptSelection::split("summarize", [(1, 9), (2, 1)]),
        requests,
    )
    .await;
    let counts = counts(&versions);
    // One standard deviation is 30 requests; allow six.
    near(counts[&1], 9_000, 180);
    near(counts[&2], 1_000, 180);

    let requests = (0..2_000).map(|i| common::chat_from(&format!("req-{i}"), None, variables()));
    let versions = versions_seen(
        PromptSelection::split("summarize", [(1, 0), (2, 3)]),
        requests,
    )
    .await;
    assert_eq!(counts_of(&versions), BTreeSet::from([2]));
}

fn counts_of(versions: &[u32]) -> BTreeSet<u32> {
    versions.iter().copied().collect()
}

#[tokio::test]
async fn the_same_request_id_always_gets_the_same_version() {
    let requests = (0..200).map(|_| common::chat_from("req-fixed", Some("alice"), variables()));
    let versions = versions_seen(
        PromptSelection::split("summarize", [(1, 50), (2, 50)]),
        requests,
    )
    .await;
    assert_eq!(counts_of(&versions).len(), 1);
}

#[tokio::test]
async fn a_sticky_split_gives_each_caller_one_version_and_spreads_callers() {
    let selection = PromptSelection::split("summarize", [(1, 50), (2, 50)]).sticky(true);
    let mut per_caller = BTreeMap::new();
    for caller in 0..1_000 {
        let name = format!("team-{caller}");
        let requests = (0..10)
            .map(|i| common::chat_from(&format!("req-{caller}-{i}"), Some(&name), variables()));
        let versions = versions_seen(selection.clone(), requests).await;
        let distinct = counts_of(&versions);
        assert_eq!(distinct.len(), 1, "{name} got {distinct:?}");
        per_caller.insert(name, versions[0]);
    }
    let shares = counts(&per_caller.values().copied().collect::<Vec<_>>());
    // One standard deviation is about 16 callers; allow six.
    near(shares[&1], 500, 95);
    near(shares[&2], 500, 95);

    // A caller keeps its version over many requests with fresh ids.
    let requests =
        (0..500).map(|i| common::chat_from(&format!("later-{i}"), Some("team-7"), variables()));
    let versions = versions_seen(selection, requests).await;
    assert_eq!(counts_of(&versions), BTreeSet::from([per_caller["team-7"]]));
}

#[tokio::test]
async fn without_stickiness_or_without_a_caller_each_request_is_chosen_for() {
    let sticky = PromptSelection::split("summarize", [(1, 50), (2, 50)]).sticky(true);
    let anonymous = (0..200).map(|i| common::chat_from(&format!("req-{i}"), None, variables()));
    assert_eq!(
        counts_of(&versions_seen(sticky, anonymous).await),
        BTreeSet::from([1, 2])
    );

    let per_request = PromptSelection::split("summarize", [(1, 50), (2, 50)]);
    let one_caller =
        (0..200).map(|i| common::chat_from(&format!("req-{i}"), Some("alice"), variables()));
    assert_eq!(
        counts_of(&versions_seen(per_request, one_caller).await),
        BTreeSet::from([1, 2])
    );
}

#[test]
fn choose_tells_the_version_without_rendering() {
    let layer = TemplateLayer::new(
        common::library(),
        PromptSelection::split("summarize", [(1, 50), (2, 50)]).sticky(true),
    )
    .unwrap();
    let first = layer
        .choose(&common::chat_from("a", Some("bob"), variables()))
        .clone();
    for i in 0..50 {
        let request = common::chat_from(&format!("b-{i}"), Some("bob"), variables());
        assert_eq!(layer.choose(&request), &first);
    }
}
