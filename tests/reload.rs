//! Hot reload under load: the config file changes (in place, by rename,
//! and once into something invalid) while requests keep flowing; none fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use common::post_json;
use serde_json::json;
use tokio::net::TcpListener;
use towergate::{config::Config, gateway::Gateway, reload};
use towergate_testkit::MockUpstream;

fn config(upstream: &MockUpstream, model: &str) -> String {
    format!(
        "endpoints:\n  - name: chat\n    endpoint_type: llm/v1/chat\n    model:\n      provider: openai\n      name: {model}\n      config:\n        openai_api_key: sk-test\n        openai_api_base: {}\n",
        upstream.base_url()
    )
}

/// Waits until the upstream sees a request for `model`; how long it took.
async fn applied(upstream: &MockUpstream, model: &str) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let seen = upstream
            .requests()
            .iter()
            .rev()
            .take(20)
            .any(|request| request.body["model"] == model);
        if seen {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the change to `{model}` was never applied");
}

fn write_in_place(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn write_by_rename(path: &Path, text: &str) {
    let staged = path.with_extension("yaml.new");
    std::fs::write(&staged, text).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_apply_under_load_with_no_failed_request() {
    let upstream = MockUpstream::start().await;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("gateway.yaml");
    write_in_place(&path, &config(&upstream, "model-v1"));

    let running = Config::from_file(&path).unwrap();
    let gateway = Gateway::from_config(&running).unwrap();
    let _watcher = reload::watch(&path, gateway.clone(), &running).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/chat/completions",
        listener.local_addr().unwrap()
    );
    let (stop_serving, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = gateway.clone();
    let server = tokio::spawn(async move {
        serving
            .serve(listener, async move {
                let _ = stopped.await;
            })
            .await
    });

    let stop = Arc::new(AtomicBool::new(false));
    let succeeded = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (url, stop) = (url.clone(), Arc::clone(&stop));
            let (succeeded, failed) = (Arc::clone(&succeeded), Arc::clone(&failed));
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let body =
                        json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]});
                    let reply = post_json(&url, &[], body).await;
                    if reply.status == 200 {
                        succeeded.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("failed: {} {}", reply.status, reply.text());
                    }
                }
            })
        })
        .collect();

    applied(&upstream, "model-v1").await;
    write_in_place(&path, &config(&upstream, "model-v2"));
    let in_place = applied(&upstream, "model-v2").await;
    write_by_rename(&path, &config(&upstream, "model-v3"));
    let renamed = applied(&upstream, "model-v3").await;

    // An invalid change is refused and the running config stays.
    write_in_place(
        &path,
        "endpoints:\n  - name: chat\n    endpoint_type: llm/v1/nonsense\n",
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let before = upstream.request_count();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let recent = upstream.requests();
    assert!(recent.len() > before, "requests stopped flowing");
    assert!(
        recent[before..]
            .iter()
            .all(|r| r.body["model"] == "model-v3")
    );

    // And a valid one after it applies again.
    write_by_rename(&path, &config(&upstream, "model-v4"));
    applied(&upstream, "model-v4").await;

    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    let _ = stop_serving.send(());
    server.await.unwrap();

    println!(
        "applied in {in_place:?} (in place) and {renamed:?} (rename); {} requests",
        succeeded.load(Ordering::Relaxed)
    );
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "requests failed during reloads"
    );
    assert!(succeeded.load(Ordering::Relaxed) > 50);
}

#[tokio::test]
async fn a_reload_keeps_what_a_limit_has_spent() {
    let upstream = MockUpstream::start().await;
    let yaml = |model: &str| {
        format!(
            "{}    limit:\n      renewal_period: day\n      calls: 2\n",
            config(&upstream, model)
        )
    };
    let gateway = Gateway::from_config(
        &Config::from_str_with_env(&yaml("a"), "test.yaml", |_| None).unwrap(),
    )
    .unwrap();
    let call = || {
        let service = gateway.service();
        async move {
            let chat =
                serde_json::from_value(json!({"messages": [{"role": "user", "content": "x"}]}))
                    .unwrap();
            tower::ServiceExt::oneshot(
                service,
                towergate::core::GatewayRequest::new(
                    "chat",
                    towergate::core::Operation::Chat(chat),
                ),
            )
            .await
        }
    };
    assert!(call().await.is_ok());
    gateway
        .reload(&Config::from_str_with_env(&yaml("b"), "test.yaml", |_| None).unwrap())
        .unwrap();
    assert!(call().await.is_ok());
    let refused = call().await.unwrap_err();
    assert_eq!(refused.status().as_u16(), 429);
}

#[tokio::test]
async fn a_change_made_before_the_watch_began_is_applied_too() {
    let upstream = MockUpstream::start().await;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("gateway.yaml");
    write_in_place(&path, &config(&upstream, "model-loaded"));
    let running = Config::from_file(&path).unwrap();
    let gateway = Gateway::from_config(&running).unwrap();

    write_in_place(&path, &config(&upstream, "model-changed-meanwhile"));
    let _watcher = reload::watch(&path, gateway.clone(), &running).unwrap();

    let mut seen = String::new();
    for _ in 0..200 {
        let chat = serde_json::from_value(json!({"messages": [{"role": "user", "content": "x"}]}))
            .unwrap();
        let request =
            towergate::core::GatewayRequest::new("chat", towergate::core::Operation::Chat(chat));
        tower::ServiceExt::oneshot(gateway.service(), request)
            .await
            .unwrap();
        seen = upstream.requests().last().unwrap().body["model"]
            .as_str()
            .unwrap()
            .to_owned();
        if seen == "model-changed-meanwhile" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, "model-changed-meanwhile");
}
