//! Hugging Face Text Generation Inference: `POST /generate` and
//! `POST /generate_stream` (server-sent token events), with TGI's
//! `{"error", "error_type"}` error body. A key, when the server requires
//! one, is an `Authorization: Bearer` header, as Inference Endpoints take it.
//!
//! TGI's validation is kept: `inputs` must be text, `temperature` strictly
//! positive, `top_p` strictly between 0 and 1, `max_new_tokens` at least
//! 1, and `decoder_input_details` is refused in a stream (all 422
//! `validation`). Per-request settings ride in `parameters.mock`.
//!
//! The reply echoes the whole `inputs`. A token is a word of the reply;
//! with `details`, `prefill` lists one token per word of the input. A
//! stream sends one event per token; the last event carries
//! `generated_text` and `details` (with `input_length`), and, when the reply
//! ended naturally, the special token `</s>`.

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, request::Parts};
use serde_json::{Map, Value, json};

use crate::{
    answer::{AnswerSettings, StreamPlan, count_words, split_reply},
    dialect::{Dialect, Ending, Refusal, WireAnswer, bearer, limit_reply, object, reply_text},
    wire::{self, Body},
};

/// TGI's wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tgi;

/// The end-of-sequence token the mock model emits.
const EOS: &str = "</s>";

fn is_stream_path(path: &str) -> bool {
    path.trim_end_matches('/').ends_with("/generate_stream")
}

impl Dialect for Tgi {
    fn answers(&self, method: &Method, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        method == Method::POST && (path.ends_with("/generate") || is_stream_path(path))
    }

    fn presented_key<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        bearer(headers)
    }

    fn error(&self, status: StatusCode, message: &str) -> Response<Body> {
        let kind = match status.as_u16() {
            422 => "validation",
            424 => "generation",
            429 => "overloaded",
            500 => "incomplete_generation",
            _ => "error",
        };
        let body = json!({"error": message, "error_type": kind});
        wire::json_response(status, wire::to_json(&body))
    }

    fn controls<'b>(&self, body: &'b Value) -> &'b Value {
        body.get("parameters").unwrap_or(&Value::Null)
    }

    fn malformed_event(&self) -> &'static [u8] {
        b"data:{not json\n\n"
    }

    fn answer(
        &self,
        request: &Parts,
        body: &Value,
        settings: AnswerSettings<'_>,
        _id: u64,
    ) -> Result<WireAnswer, Refusal> {
        let fields = object(body)?;
        let stream = is_stream_path(request.uri.path());
        let generation = Generation::read(fields, stream, settings)?;
        Ok(if stream {
            WireAnswer::Stream(generation.stream(settings))
        } else {
            WireAnswer::Json(wire::to_json(&generation.complete()))
        })
    }
}

fn validation(message: impl Into<String>) -> Refusal {
    Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

struct Generation {
    inputs: String,
    reply: String,
    ending: Ending,
    details: bool,
    decoder_input_details: bool,
    seed: Option<u64>,
}

impl Generation {
    fn read(
        fields: &Map<String, Value>,
        stream: bool,
        settings: AnswerSettings<'_>,
    ) -> Result<Self, Refusal> {
        let inputs = fields
            .get("inputs")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                validation("Failed to deserialize the JSON body: missing field `inputs`")
            })?;
        if inputs.is_empty() {
            return Err(validation("`inputs` cannot be empty"));
        }
        let empty = Map::new();
        let parameters = match fields.get("parameters") {
            None => &empty,
            Some(Value::Object(parameters)) => parameters,
            Some(_) => return Err(validation("`parameters` must be an object")),
        };
        let number = |key: &str| parameters.get(key).and_then(Value::as_f64);
        if number("temperature").is_some_and(|t| t <= 0.0) {
            return Err(validation("`temperature` must be strictly positive"));
        }
        if number("top_p").is_some_and(|p| p <= 0.0 || p >= 1.0) {
            return Err(validation("`top_p` must be > 0.0 and < 1.0"));
        }
        let max_new_tokens = parameters.get("max_new_tokens").and_then(Value::as_u64);
        if max_new_tokens == Some(0) {
            return Err(validation("`max_new_tokens` must be strictly positive"));
        }
        let flag = |key: &str| parameters.get(key).and_then(Value::as_bool) == Some(true);
        let decoder_input_details = flag("decoder_input_details");
        if stream && decoder_input_details {
            return Err(validation(
                "`decoder_input_details` == true is not supported when streaming tokens",
            ));
        }
        let stops: Vec<String> = match parameters.get("stop") {
            None => Vec::new(),
            Some(stops) => serde_json::from_value(stops.clone())
                .map_err(|_| validation("`stop` must be a list of strings"))?,
        };
        let (reply, ending) = limit_reply(reply_text(settings, inputs), max_new_tokens, &stops);
        Ok(Self {
            inputs: inputs.to_owned(),
            reply,
            ending,
            details: flag("details"),
            decoder_input_details,
            seed: parameters.get("seed").and_then(Value::as_u64),
        })
    }

    fn finish_reason(&self) -> &'static str {
        match self.ending {
            Ending::Complete => "eos_token",
            Ending::MaxTokens => "length",
            Ending::Stop(_) => "stop_sequence",
        }
    }

    /// The generated tokens' texts, the special end token included.
    fn tokens(&self) -> Vec<(String, bool)> {
        let mut tokens: Vec<(String, bool)> = split_reply(&self.reply, None)
            .into_iter()
            .filter(|piece| !piece.is_empty())
            .map(|piece| (piece, false))
            .collect();
        if self.ending == Ending::Complete {
            tokens.push((EOS.to_owned(), true));
        }
        if tokens.is_empty() {
            // A reply cut before its first word still ends with a token.
            tokens.push((String::new(), false));
        }
        tokens
    }

    fn token(id: usize, text: &str, special: bool) -> Value {
        json!({"id": id, "text": text, "logprob": -0.25, "special": special})
    }

    fn complete(&self) -> Value {
        let mut answer = json!({ "generated_text": self.reply });
        if self.details {
            let tokens: Vec<Value> = (0..)
                .zip(self.tokens())
                .map(|(id, (text, special))| Self::token(id, &text, special))
                .collect();
            let prefill: Vec<Value> = if self.decoder_input_details {
                (0..)
                    .zip(self.inputs.split_whitespace())
                    .map(|(id, word)| json!({"id": id, "text": word, "logprob": null}))
                    .collect()
            } else {
                Vec::new()
            };
            answer["details"] = json!({
                "finish_reason": self.finish_reason(),
                "generated_tokens": tokens.len(),
                "seed": self.seed,
                "prefill": prefill,
                "tokens": tokens
            });
        }
        answer
    }

    fn stream(&self, settings: AnswerSettings<'_>) -> StreamPlan<Bytes> {
        let tokens = self.tokens();
        let count = tokens.len();
        let pieces: Vec<(String, bool)> = match settings.chunks {
            // Several words per event when the behavior asks for fewer chunks.
            Some(chunks) if chunks < count => split_reply(&self.reply, Some(chunks))
                .into_iter()
                .map(|piece| (piece, false))
                .chain((self.ending == Ending::Complete).then(|| (EOS.to_owned(), true)))
                .collect(),
            _ => tokens,
        };
        let event = |index: usize, (text, special): &(String, bool), last: bool| {
            let mut data = json!({
                "index": index,
                "token": Self::token(index, text, *special),
                "generated_text": null,
                "details": null
            });
            if last {
                data["generated_text"] = json!(self.reply);
                data["details"] = json!({
                    "finish_reason": self.finish_reason(),
                    "generated_tokens": count,
                    "seed": self.seed,
                    "input_length": count_words(&self.inputs)
                });
            }
            let mut event = b"data:".to_vec();
            event.extend_from_slice(&wire::to_json(&data));
            event.extend_from_slice(b"\n\n");
            Bytes::from(event)
        };
        let mut body: Vec<Bytes> = Vec::new();
        let mut tail = Vec::new();
        for (index, piece) in pieces.iter().enumerate() {
            if index + 1 == pieces.len() {
                tail.push(event(index, piece, true));
            } else {
                body.push(event(index, piece, false));
            }
        }
        StreamPlan {
            head: Vec::new(),
            body,
            tail,
        }
    }
}
