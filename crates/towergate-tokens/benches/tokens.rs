//! Token counting throughput, and what ContextWindowLayer adds to a request.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tower::{Layer, ServiceExt, service_fn};
use towergate_core::{
    GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
    chat::{ChatMessage, ChatRequest, Role},
};
use towergate_tokens::{ContextWindowLayer, TokenCounter};

const PARAGRAPH: &str = "A gateway sits between applications and the models they call. \
    It checks who is calling, counts the tokens of each prompt before the call, \
    refuses what would blow a budget or overflow a context window, and records \
    what every answer cost. Counting has to be cheap: it runs on every request, \
    on the prompt and again on each streamed chunk, so a slow tokenizer would \
    add latency to every call the gateway makes on behalf of its users.\n\n";

/// About `bytes` of English prose.
fn prose(bytes: usize) -> String {
    let mut text = PARAGRAPH.repeat(bytes / PARAGRAPH.len() + 1);
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

/// A typical short conversation: instructions, two questions, one answer.
fn five_messages() -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::text(
                Role::System,
                "You are a helpful assistant. Answer in plain English and keep answers short.",
            ),
            ChatMessage::text(
                Role::User,
                "What does a context window mean for a language model?",
            ),
            ChatMessage::text(
                Role::Assistant,
                "It is the number of tokens the model can read and write in one call: the prompt and the answer together. Text beyond it is not seen.",
            ),
            ChatMessage::text(Role::User, "So what happens to a long chat history?"),
            ChatMessage::text(
                Role::Assistant,
                "Older turns must be dropped or summarised so that the newest ones still fit.",
            ),
        ],
        max_tokens: Some(256),
        ..ChatRequest::default()
    }
}

/// A conversation of `turns` question-and-answer turns of about 200 bytes each.
fn long_chat(turns: usize) -> ChatRequest {
    let mut messages = vec![ChatMessage::text(Role::System, "You are terse.")];
    for turn in 0..turns {
        messages.push(ChatMessage::text(
            Role::User,
            format!("Question {turn}: {}", prose(200)),
        ));
        messages.push(ChatMessage::text(
            Role::Assistant,
            format!("Answer {turn}: {}", prose(200)),
        ));
    }
    messages.push(ChatMessage::text(Role::User, "And finally?"));
    ChatRequest {
        messages,
        max_tokens: Some(100),
        ..ChatRequest::default()
    }
}

fn counting(c: &mut Criterion) {
    TokenCounter::warm();
    let mut group = c.benchmark_group("count_text");
    for (name, model) in [("o200k", "gpt-4o"), ("cl100k", "gpt-4")] {
        let counter = TokenCounter::for_model(model);
        for size in [1_024, 10_240] {
            let text = prose(size);
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_function(format!("{name}/{size}B"), |b| {
                b.iter(|| counter.count_text(&text))
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("count_chat");
    let counter = TokenCounter::for_model("gpt-4o");
    let chat = five_messages();
    group.throughput(Throughput::Elements(1));
    group.bench_function("five_messages", |b| b.iter(|| counter.count_chat(&chat)));
    group.finish();
}

fn context_window(c: &mut Criterion) {
    TokenCounter::warm();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let answer = service_fn(|_request: GatewayRequest| async {
        Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
    });
    let counter = TokenCounter::for_model("gpt-4o");
    let chat = long_chat(6);
    let prompt = counter.count_chat(&chat);
    let fits = ContextWindowLayer::new(prompt + 100)
        .counter(counter)
        .layer(answer);
    // Room for about two thirds of the turns: the oldest are dropped.
    let trims = ContextWindowLayer::new(prompt * 2 / 3)
        .counter(counter)
        .layer(answer);
    let request = || GatewayRequest::new("chat", Operation::Chat(chat.clone()));

    let mut group = c.benchmark_group("context_window");
    group.bench_function("direct_baseline", |b| {
        b.to_async(&runtime)
            .iter_batched(request, |r| answer.oneshot(r), BatchSize::SmallInput);
    });
    group.bench_function("fits", |b| {
        b.to_async(&runtime).iter_batched(
            request,
            |r| fits.clone().oneshot(r),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("trims", |b| {
        b.to_async(&runtime).iter_batched(
            request,
            |r| trims.clone().oneshot(r),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, counting, context_window);
criterion_main!(benches);
