use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::chat::{ChatChunk, ChatResponse};
use crate::completion::{CompletionChunk, CompletionResponse};

fn from<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("the test value has the type's shape")
}

/// An OpenAI chat chunk of completion `c1` with `choices` and `rest`.
fn chat_chunk(choices: Value, rest: Value) -> Value {
    let mut chunk = json!({
        "id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "gpt",
        "choices": choices,
    });
    let (Value::Object(chunk_fields), Value::Object(rest)) = (&mut chunk, rest) else {
        panic!("chunks and their extra fields are objects");
    };
    chunk_fields.extend(rest);
    chunk
}

fn usage() -> Value {
    json!({"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13,
           "completion_tokens_details": {"reasoning_tokens": 0}})
}

fn chat_answers() -> Vec<ChatResponse> {
    let answer = |choices: Value, usage: Value| -> ChatResponse {
        from(json!({
            "id": "c1", "object": "chat.completion", "created": 7, "model": "gpt",
            "system_fingerprint": "fp_1", "service_tier": "default",
            "choices": choices, "usage": usage,
        }))
    };
    let text = json!([{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": "Hi there", "annotations": []},
        "logprobs": {"content": [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105],
                                  "top_logprobs": []}], "refusal": null}}]);
    let several = json!([
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "One"}},
        {"index": 1, "finish_reason": "length", "message": {"role": "assistant", "content": ""}},
        {"index": 2, "finish_reason": "stop", "message": {"role": "assistant", "content": "Three"}}
    ]);
    let tools = json!([{"index": 0, "finish_reason": "tool_calls",
    "message": {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_a", "type": "function",
         "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}},
        {"id": "call_b", "type": "function", "function": {"name": "time", "arguments": "{}"}}
    ]}}]);
    let refusal = json!([{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": null, "refusal": "I can't help."}}]);
    vec![
        answer(text.clone(), usage()),
        answer(text, Value::Null),
        answer(several, usage()),
        answer(tools, usage()),
        answer(refusal, usage()),
    ]
}

#[test]
fn chat_chunks_assemble_back_into_the_answer() {
    for answer in chat_answers() {
        let chunks = answer.to_chunks(true);
        assert_eq!(ChatResponse::from_chunks(&chunks).as_ref(), Some(&answer));
    }
}

#[test]
fn chat_chunks_are_messages_then_finishes_then_usage() {
    let answer = chat_answers().swap_remove(2);
    let chunks = answer.to_chunks(true);
    let indexes: Vec<u32> = chunks
        .iter()
        .flat_map(|chunk| chunk.choices.iter().map(|choice| choice.index))
        .collect();
    assert_eq!(indexes, [0, 1, 2, 0, 1, 2]);
    assert_eq!(chunks.len(), 7);
    assert!(chunks.iter().all(|c| c.object == "chat.completion.chunk"
        && c.id == "c1"
        && c.system_fingerprint.as_deref() == Some("fp_1")
        && c.extra["service_tier"] == "default"));
    let (messages, rest) = chunks.split_at(3);
    let (finishes, last) = rest.split_at(3);
    for chunk in messages {
        assert!(chunk.choices[0].delta.role.is_some() && chunk.choices[0].finish_reason.is_none());
    }
    for chunk in finishes {
        assert_eq!(chunk.choices[0].delta, Default::default());
        assert!(chunk.choices[0].finish_reason.is_some());
    }
    assert!(chunks[..6].iter().all(|chunk| chunk.usage.is_none()));
    assert!(last[0].choices.is_empty());
    assert_eq!(last[0].usage, answer.usage);

    let without_usage = answer.to_chunks(false);
    assert_eq!(without_usage, chunks[..6]);
    let assembled = ChatResponse::from_chunks(&without_usage).expect("there are choices");
    assert_eq!(assembled.usage, None);
    assert_eq!(assembled.choices, answer.choices);
}

#[test]
fn assembles_a_streamed_text_answer() {
    let delta = |delta: Value, finish: Value| {
        json!([{"index": 0, "delta": delta,
        "logprobs": null, "finish_reason": finish}])
    };
    let fp = json!({"system_fingerprint": "fp_1", "service_tier": "default"});
    let stream: Vec<ChatChunk> = from(json!([
        chat_chunk(
            delta(
                json!({"role": "assistant", "content": "", "refusal": null}),
                Value::Null
            ),
            fp.clone()
        ),
        chat_chunk(
            delta(json!({"content": "The sky"}), Value::Null),
            fp.clone()
        ),
        chat_chunk(delta(json!({"content": " is"}), Value::Null), fp.clone()),
        chat_chunk(delta(json!({"content": " blue."}), Value::Null), fp.clone()),
        chat_chunk(delta(json!({}), json!("stop")), fp.clone()),
        chat_chunk(
            json!([]),
            json!({"system_fingerprint": "fp_1", "usage": usage()})
        ),
    ]));
    let expected: ChatResponse = from(json!({
        "id": "c1", "object": "chat.completion", "created": 7, "model": "gpt",
        "system_fingerprint": "fp_1", "service_tier": "default",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "The sky is blue."}}],
        "usage": usage(),
    }));
    assert_eq!(ChatResponse::from_chunks(&stream), Some(expected));
}

#[test]
fn assembles_tool_calls_from_fragments() {
    let calls = |calls: Value| json!([{"index": 0, "delta": {"tool_calls": calls}}]);
    let stream: Vec<ChatChunk> = from(json!([
        chat_chunk(
            json!([{"index": 0, "delta": {"role": "assistant", "content": null}}]),
            json!({})
        ),
        chat_chunk(
            calls(json!([{"index": 0, "id": "call_a", "type": "function",
            "function": {"name": "weather", "arguments": ""}}])),
            json!({})
        ),
        chat_chunk(
            calls(json!([{"index": 0, "function": {"arguments": "{\"ci"}}])),
            json!({})
        ),
        chat_chunk(
            calls(json!([{"index": 0, "function": {"arguments": "ty\":\"Oslo\"}"}}])),
            json!({})
        ),
        chat_chunk(
            calls(json!([{"index": 1, "id": "call_b", "type": "function",
            "function": {"name": "time", "arguments": "{"}}])),
            json!({})
        ),
        chat_chunk(
            calls(json!([{"index": 1, "function": {"arguments": "}"}}])),
            json!({})
        ),
        chat_chunk(
            json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
            json!({})
        ),
    ]));
    let expected: ChatResponse = from(json!({
        "id": "c1", "object": "chat.completion", "created": 7, "model": "gpt",
        "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function",
                 "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}},
                {"id": "call_b", "type": "function", "function": {"name": "time", "arguments": "{}"}}
            ]}}],
    }));
    assert_eq!(ChatResponse::from_chunks(&stream), Some(expected));
}

#[test]
fn assembles_interleaved_choices_logprobs_and_extras() {
    let lp =
        |token: &str| json!({"content": [{"token": token, "logprob": -1.0, "top_logprobs": []}]});
    let stream: Vec<ChatChunk> = from(json!([
        // Azure opens with content-filter results and an empty id and model.
        {"id": "", "object": "", "created": 0, "model": "", "choices": [],
         "prompt_filter_results": [{"prompt_index": 0}]},
        chat_chunk(json!([{"index": 1, "delta": {"role": "assistant", "content": "B", "note": 1}}]), json!({})),
        chat_chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": "A"},
                           "logprobs": lp("A")}]), json!({})),
        chat_chunk(json!([{"index": 1, "delta": {"content": "b", "note": 2}, "finish_reason": "stop"}]), json!({})),
        chat_chunk(json!([{"index": 0, "delta": {"content": "a"}, "logprobs": lp("a"),
                           "finish_reason": "length"}]), json!({})),
    ]));
    let answer = ChatResponse::from_chunks(&stream).expect("there are choices");
    assert_eq!(
        (answer.id.as_str(), answer.model.as_str(), answer.created),
        ("c1", "gpt", 7)
    );
    assert_eq!(
        answer.extra["prompt_filter_results"],
        json!([{"prompt_index": 0}])
    );
    let texts: Vec<_> = answer
        .choices
        .iter()
        .map(|c| c.message.text_content())
        .collect();
    assert_eq!(texts, [Some("Aa".to_owned()), Some("Bb".to_owned())]);
    assert_eq!(answer.choices[0].finish_reason.as_deref(), Some("length"));
    assert_eq!(
        answer.choices[0].logprobs,
        Some(
            json!({"content": [{"token": "A", "logprob": -1.0, "top_logprobs": []},
                                {"token": "a", "logprob": -1.0, "top_logprobs": []}]})
        )
    );
    assert_eq!(answer.choices[1].logprobs, None);
    assert_eq!(answer.choices[1].message.extra["note"], 2);
}

#[test]
fn chunks_without_choices_assemble_into_nothing() {
    assert_eq!(ChatResponse::from_chunks(&[]), None);
    assert_eq!(CompletionResponse::from_chunks(&[]), None);
    let only_usage: Vec<ChatChunk> =
        from(json!([chat_chunk(json!([]), json!({"usage": usage()}))]));
    assert_eq!(ChatResponse::from_chunks(&only_usage), None);
}

fn completion_chunk(choices: Value) -> Value {
    json!({"id": "t1", "object": "text_completion", "created": 7, "model": "davinci",
           "choices": choices})
}

#[test]
fn completion_chunks_assemble_back_into_the_answer() {
    let answer: CompletionResponse = from(json!({
        "id": "t1", "object": "text_completion", "created": 7, "model": "davinci",
        "choices": [
            {"index": 0, "text": "Hello world", "finish_reason": "stop",
             "logprobs": {"tokens": ["Hello", " world"], "token_logprobs": [-0.1, -0.2],
                          "top_logprobs": [{"Hello": -0.1}, {" world": -0.2}],
                          "text_offset": [0, 5]}},
            {"index": 1, "text": "Hi", "finish_reason": "length", "logprobs": null}
        ],
        "usage": usage(),
    }));
    let chunks = answer.to_chunks(true);
    assert_eq!(chunks.len(), 3);
    assert!(chunks.iter().all(|chunk| chunk.object == "text_completion"));
    assert_eq!(chunks[2].usage, answer.usage);
    assert!(chunks[2].choices.is_empty());
    assert_eq!(
        CompletionResponse::from_chunks(&chunks).as_ref(),
        Some(&answer)
    );
    assert_eq!(answer.to_chunks(false).len(), 2);
}

#[test]
fn assembles_a_streamed_completion() {
    let piece = |text: &str, token_logprob: f64, offset: u32, finish: Value| {
        completion_chunk(json!([{"index": 0, "text": text, "finish_reason": finish,
            "logprobs": {"tokens": [text], "token_logprobs": [token_logprob],
                         "top_logprobs": null, "text_offset": [offset]}}]))
    };
    let mut stream: Vec<CompletionChunk> = from(json!([
        piece("Hello", -0.1, 0, Value::Null),
        piece(" world", -0.2, 5, Value::Null),
        piece("", -0.3, 11, json!("stop")),
        {"id": "t1", "object": "text_completion", "created": 7, "model": "davinci",
         "choices": [], "usage": usage()},
    ]));
    let expected: CompletionResponse = from(json!({
        "id": "t1", "object": "text_completion", "created": 7, "model": "davinci",
        "choices": [{"index": 0, "text": "Hello world", "finish_reason": "stop",
            "logprobs": {"tokens": ["Hello", " world", ""], "token_logprobs": [-0.1, -0.2, -0.3],
                         "top_logprobs": null, "text_offset": [0, 5, 11]}}],
        "usage": usage(),
    }));
    assert_eq!(
        CompletionResponse::from_chunks(&stream).as_ref(),
        Some(&expected)
    );

    stream[1].choices[0].logprobs = None;
    let assembled = CompletionResponse::from_chunks(&stream).expect("there are choices");
    assert_eq!(assembled.choices[0].text, "Hello world");
    assert_eq!(assembled.choices[0].logprobs, None);
}
