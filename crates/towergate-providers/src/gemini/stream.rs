//! `streamGenerateContent?alt=sse` events to chat chunks.
//!
//! Each event is a whole `GenerateContentResponse` holding what is new:
//! text parts become content deltas, `functionCall` parts whole tool-call
//! deltas, and the event with a `finishReason` marks the candidate done.
//! Gemini sends no end marker; when the body ends, each candidate gets its
//! finish chunk and, when Gemini reported usage, a last chunk carries it. A
//! body that ends before any `finishReason` was cut short.

use std::collections::{BTreeMap, VecDeque};

use eventsource_stream::Event;
use towergate_core::{
    GatewayError, Usage,
    chat::{ChatChunk, ChatDelta, ChunkChoice, FunctionCallDelta, Role, ToolCallDelta},
};

use super::{
    decode::{finish_reason, fresh_id, tool_call, usage},
    wire::GenerateContentResponse,
};
use crate::{error, upstream::unix_now};

/// What the stream has seen so far.
pub(super) struct GeminiChunks {
    id: Option<String>,
    model: String,
    created: u64,
    /// Per candidate: tool calls sent so far (present once its role chunk went out).
    candidates: BTreeMap<u32, u32>,
    finished: BTreeMap<u32, &'static str>,
    usage: Option<Usage>,
    blocked: bool,
}

impl GeminiChunks {
    /// A stream from `model` (named until an event names its `modelVersion`).
    pub(super) fn new(model: &str) -> Self {
        Self {
            id: None,
            model: model.to_owned(),
            created: unix_now(),
            candidates: BTreeMap::new(),
            finished: BTreeMap::new(),
            usage: None,
            blocked: false,
        }
    }

    fn chunk(&self, choices: Vec<ChunkChoice>, usage: Option<Usage>) -> ChatChunk {
        ChatChunk {
            id: self.id.clone().unwrap_or_default(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage,
            system_fingerprint: None,
            extra: Default::default(),
        }
    }

    fn delta(&self, index: u32, delta: ChatDelta, finish: Option<&str>) -> ChatChunk {
        self.chunk(
            vec![ChunkChoice {
                index,
                delta,
                finish_reason: finish.map(str::to_owned),
                logprobs: None,
            }],
            None,
        )
    }

    /// The candidate's role chunk, the first time it is seen.
    fn start(&mut self, index: u32, out: &mut VecDeque<ChatChunk>) {
        if self.candidates.contains_key(&index) {
            return;
        }
        self.candidates.insert(index, 0);
        let delta = ChatDelta {
            role: Some(Role::Assistant),
            content: Some(String::new()),
            ..ChatDelta::default()
        };
        out.push_back(self.delta(index, delta, None));
    }
}

impl crate::sse::Translate for GeminiChunks {
    type Chunk = ChatChunk;

    fn event(
        &mut self,
        event: &Event,
        host: &str,
        out: &mut VecDeque<ChatChunk>,
    ) -> Result<bool, GatewayError> {
        let data = event.data.trim();
        if let Some(error) = error::from_stream_event(data) {
            return Err(error);
        }
        let answer: GenerateContentResponse = serde_json::from_str(data).map_err(|parse| {
            GatewayError::bad_gateway(format!(
                "upstream `{host}` sent a stream event that is not a Gemini answer: {parse}"
            ))
        })?;
        if self.id.is_none() {
            self.id = Some(
                answer
                    .response_id
                    .clone()
                    .unwrap_or_else(|| fresh_id("chatcmpl-")),
            );
        }
        if let Some(version) = &answer.model_version {
            self.model.clone_from(version);
        }
        for (position, candidate) in (0u32..).zip(&answer.candidates) {
            let index = candidate.index.unwrap_or(position);
            self.start(index, out);
            let parts = candidate
                .content
                .as_ref()
                .map(|content| content.parts.as_slice())
                .unwrap_or_default();
            for part in parts {
                if let Some(text) = part.answer_text().filter(|text| !text.is_empty()) {
                    let delta = ChatDelta {
                        content: Some(text.to_owned()),
                        ..ChatDelta::default()
                    };
                    out.push_back(self.delta(index, delta, None));
                }
                if let Some(call) = tool_call(part) {
                    let calls = self.candidates.entry(index).or_default();
                    let position = *calls;
                    *calls += 1;
                    let delta = ChatDelta {
                        tool_calls: Some(vec![ToolCallDelta {
                            index: position,
                            id: Some(call.id),
                            kind: Some(call.kind),
                            function: Some(FunctionCallDelta {
                                name: Some(call.function.name),
                                arguments: Some(call.function.arguments),
                            }),
                        }]),
                        ..ChatDelta::default()
                    };
                    out.push_back(self.delta(index, delta, None));
                }
            }
            if let Some(reason) = &candidate.finish_reason {
                let called = self.candidates.get(&index).is_some_and(|calls| *calls > 0);
                self.finished.insert(index, finish_reason(reason, called));
            }
        }
        if let Some(metadata) = &answer.usage_metadata {
            self.usage = Some(usage(metadata));
        }
        if answer
            .prompt_feedback
            .as_ref()
            .is_some_and(|feedback| feedback.block_reason.is_some())
        {
            self.blocked = true;
        }
        Ok(false)
    }

    fn end(&mut self, host: &str, out: &mut VecDeque<ChatChunk>) -> Result<(), GatewayError> {
        if self.finished.is_empty() {
            if !self.blocked {
                return Err(GatewayError::bad_gateway(format!(
                    "upstream `{host}` stream ended before any candidate finished"
                )));
            }
            if self.id.is_none() {
                self.id = Some(fresh_id("chatcmpl-"));
            }
            self.start(0, out);
            self.finished.insert(0, "content_filter");
        }
        let indexes: Vec<u32> = self.candidates.keys().copied().collect();
        for index in indexes {
            let reason = self.finished.get(&index).copied().unwrap_or("stop");
            out.push_back(self.delta(index, ChatDelta::default(), Some(reason)));
        }
        if let Some(usage) = self.usage.take() {
            out.push_back(self.chunk(Vec::new(), Some(usage)));
        }
        Ok(())
    }
}
