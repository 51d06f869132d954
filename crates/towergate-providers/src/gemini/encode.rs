//! OpenAI-shaped requests to Gemini's `generateContent` and embedding bodies.

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value, json};
use towergate_core::{
    GatewayError, Operation,
    chat::{ChatMessage, ChatRequest, ContentPart, MessageContent, Role, Tool},
    completion::CompletionRequest,
    embeddings::{EmbeddingInput, EmbeddingsRequest},
};

use super::wire::{
    Blob, Content, FileData, FunctionCall, FunctionCallingConfig, FunctionDeclaration,
    FunctionResponse, GenerateContentRequest, Part, ToolConfig, ToolSet,
};
use crate::completions_over_chat::completion_to_chat;

/// The provider's name in error messages.
const PROVIDER: &str = "gemini";

/// A request ready to send.
#[derive(Debug)]
pub(super) enum Encoded {
    /// `generateContent` or `streamGenerateContent`.
    Generate {
        body: Bytes,
        stream: bool,
        /// The caller asked for a text completion, served over chat.
        completion: bool,
    },
    /// `embedContent` (one input) or `batchEmbedContents` (several).
    Embed {
        body: Bytes,
        batch: bool,
        /// The caller asked for base64 vectors.
        base64: bool,
    },
}

/// Encodes `operation` for the model at `model_path` (`models/NAME`).
pub(super) fn encode(operation: Operation, model_path: &str) -> Result<Encoded, GatewayError> {
    match operation {
        Operation::Chat(chat) => generate(chat, false),
        Operation::Completion(completion) => completion_body(completion),
        Operation::Embeddings(embeddings) => embed(embeddings, model_path),
        Operation::ListEndpoints => Err(crate::service::cannot_list_endpoints()),
    }
}

fn completion_body(completion: CompletionRequest) -> Result<Encoded, GatewayError> {
    generate(completion_to_chat(completion)?, true)
}

fn generate(chat: ChatRequest, completion: bool) -> Result<Encoded, GatewayError> {
    let stream = chat.is_stream();
    let body = to_bytes(&generate_content(chat)?)?;
    Ok(Encoded::Generate {
        body,
        stream,
        completion,
    })
}

fn to_bytes(value: &impl Serialize) -> Result<Bytes, GatewayError> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|error| {
        GatewayError::internal(format!(
            "cannot encode the request for the upstream: {error}"
        ))
    })
}

fn invalid(param: String, message: impl AsRef<str>) -> GatewayError {
    GatewayError::invalid(format!("`{param}`: {}", message.as_ref())).with_param(param)
}

/// The `generateContent` body for a chat request.
pub(super) fn generate_content(chat: ChatRequest) -> Result<GenerateContentRequest, GatewayError> {
    let mut request = GenerateContentRequest::default();
    let mut system = Vec::new();
    for (i, message) in chat.messages.iter().enumerate() {
        match message.role {
            Role::System | Role::Developer => {
                if let Some(text) = message.text_content() {
                    system.push(Part::text(text));
                }
            }
            Role::User => {
                let parts = user_parts(message.content.as_ref(), i)?;
                push(&mut request.contents, "user", parts);
            }
            Role::Assistant => {
                let parts = assistant_parts(message, i)?;
                if !parts.is_empty() {
                    push(&mut request.contents, "model", parts);
                }
            }
            Role::Tool | Role::Function => {
                let part = function_response(&chat.messages, i)?;
                push(&mut request.contents, "user", vec![part]);
            }
        }
    }
    if request.contents.is_empty() {
        return Err(GatewayError::invalid(
            "`messages` must hold at least one user message for provider gemini",
        )
        .with_param("messages"));
    }
    if !system.is_empty() {
        request.system_instruction = Some(Content {
            role: None,
            parts: system,
        });
    }
    if let Some(tools) = &chat.tools {
        request.tools = Some(vec![ToolSet {
            function_declarations: declarations(tools)?,
        }]);
    }
    if let Some(choice) = &chat.tool_choice {
        request.tool_config = Some(tool_config(choice)?);
    }
    request.generation_config = generation_config(&chat)?;
    for (key, value) in chat.extra {
        match (key.as_str(), value) {
            ("model", _) => {}
            ("top_k", value) => {
                request.generation_config.insert("topK".to_owned(), value);
            }
            ("generationConfig" | "generation_config", Value::Object(fields)) => {
                request.generation_config.extend(fields);
            }
            (_, value) => {
                request.extra.insert(key, value);
            }
        }
    }
    Ok(request)
}

/// Appends `parts` as a content of `role`, joining it to the last content
/// when that has the same role (Gemini wants turns, and all the answers to
/// one turn's function calls in one content).
fn push(contents: &mut Vec<Content>, role: &str, parts: Vec<Part>) {
    if let Some(last) = contents.last_mut()
        && last.role.as_deref() == Some(role)
    {
        last.parts.extend(parts);
        return;
    }
    contents.push(Content {
        role: Some(role.to_owned()),
        parts,
    });
}

fn user_parts(content: Option<&MessageContent>, i: usize) -> Result<Vec<Part>, GatewayError> {
    match content {
        None => Ok(vec![Part::text("")]),
        Some(MessageContent::Text(text)) => Ok(vec![Part::text(text.clone())]),
        Some(MessageContent::Parts(parts)) => parts
            .iter()
            .enumerate()
            .map(|(j, part)| media_part(part, &format!("messages[{i}].content[{j}]")))
            .collect(),
    }
}

/// One OpenAI content part as a Gemini part.
fn media_part(part: &ContentPart, param: &str) -> Result<Part, GatewayError> {
    Ok(match part {
        ContentPart::Text { text } => Part::text(text.clone()),
        ContentPart::ImageUrl { image_url } => match data_url(&image_url.url) {
            Some(blob) => Part {
                inline_data: Some(blob),
                ..Part::default()
            },
            None if image_url.url.starts_with("http://")
                || image_url.url.starts_with("https://")
                || image_url.url.starts_with("gs://") =>
            {
                Part {
                    file_data: Some(FileData {
                        mime_type: mime_from_extension(&image_url.url).map(str::to_owned),
                        file_uri: image_url.url.clone(),
                    }),
                    ..Part::default()
                }
            }
            None => {
                return Err(invalid(
                    format!("{param}.image_url.url"),
                    "must be an http(s) URL or a base64 `data:` URL",
                ));
            }
        },
        ContentPart::InputAudio { input_audio } => {
            let data = input_audio.get("data").and_then(Value::as_str);
            let format = input_audio.get("format").and_then(Value::as_str);
            let (Some(data), Some(format)) = (data, format) else {
                return Err(invalid(
                    format!("{param}.input_audio"),
                    "needs `data` and `format`",
                ));
            };
            Part {
                inline_data: Some(Blob {
                    mime_type: format!("audio/{format}"),
                    data: data.to_owned(),
                }),
                ..Part::default()
            }
        }
        ContentPart::File { file } => {
            let blob = file
                .get("file_data")
                .and_then(Value::as_str)
                .and_then(data_url);
            match blob {
                Some(blob) => Part {
                    inline_data: Some(blob),
                    ..Part::default()
                },
                None => {
                    return Err(invalid(
                        format!("{param}.file"),
                        "provider gemini takes a file as a base64 `data:` URL in `file_data`",
                    ));
                }
            }
        }
    })
}

/// `data:MIME;base64,DATA` as inline data.
fn data_url(url: &str) -> Option<Blob> {
    let rest = url.strip_prefix("data:")?;
    let (header, data) = rest.split_once(',')?;
    let mime_type = header.strip_suffix(";base64")?;
    if mime_type.is_empty() {
        return None;
    }
    Some(Blob {
        mime_type: mime_type.to_owned(),
        data: data.to_owned(),
    })
}

fn mime_from_extension(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

fn assistant_parts(message: &ChatMessage, i: usize) -> Result<Vec<Part>, GatewayError> {
    let mut parts = Vec::new();
    if let Some(text) = message.text_content().filter(|text| !text.is_empty()) {
        parts.push(Part::text(text));
    }
    for (j, call) in message.tool_calls.iter().flatten().enumerate() {
        let param = format!("messages[{i}].tool_calls[{j}].function.arguments");
        let args = arguments(&call.function.arguments, param)?;
        let (_, signature) = split_call_id(&call.id);
        parts.push(Part {
            function_call: Some(FunctionCall {
                id: None,
                name: call.function.name.clone(),
                args,
            }),
            thought_signature: signature.map(str::to_owned),
            ..Part::default()
        });
    }
    Ok(parts)
}

/// A call's JSON arguments as an object; empty text is no arguments.
fn arguments(text: &str, param: String) -> Result<Map<String, Value>, GatewayError> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str(text) {
        Ok(Value::Object(args)) => Ok(args),
        _ => Err(invalid(param, "must be a JSON object")),
    }
}

/// The separator between a tool call's id and the thought signature that
/// came with it; Gemini needs the signature back with the call.
const SIGNATURE_SEPARATOR: &str = "~ts~";

/// A tool call id for the caller: `base`, and the signature when there is one.
pub(super) fn call_id(base: &str, signature: Option<&str>) -> String {
    match signature {
        Some(signature) => format!("{base}{SIGNATURE_SEPARATOR}{signature}"),
        None => base.to_owned(),
    }
}

/// The parts of an id made by [`call_id`].
fn split_call_id(id: &str) -> (&str, Option<&str>) {
    match id.split_once(SIGNATURE_SEPARATOR) {
        Some((base, signature)) => (base, Some(signature)),
        None => (id, None),
    }
}

/// A `tool` (or legacy `function`) message as a `functionResponse` part.
fn function_response(messages: &[ChatMessage], i: usize) -> Result<Part, GatewayError> {
    let message = &messages[i];
    let name = match message.role {
        Role::Function => Some(message.name.clone().ok_or_else(|| {
            invalid(
                format!("messages[{i}].name"),
                "a function message needs the function's name",
            )
        })?),
        _ => {
            let Some(id) = message.tool_call_id.as_deref() else {
                return Err(invalid(
                    format!("messages[{i}].tool_call_id"),
                    "a tool message needs the id of the call it answers",
                ));
            };
            called_function(&messages[..i], id)
        }
    };
    let Some(name) = name else {
        return Err(invalid(
            format!("messages[{i}].tool_call_id"),
            "names no tool call of an earlier assistant message",
        ));
    };
    let text = message.text_content().unwrap_or_default();
    let response = match serde_json::from_str(&text) {
        Ok(Value::Object(object)) => object,
        Ok(other) => json_object("result", other),
        Err(_) => json_object("result", Value::String(text)),
    };
    Ok(Part {
        function_response: Some(FunctionResponse { name, response }),
        ..Part::default()
    })
}

fn json_object(key: &str, value: Value) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert(key.to_owned(), value);
    object
}

/// The name of the function the latest assistant tool call with `id` called.
fn called_function(earlier: &[ChatMessage], id: &str) -> Option<String> {
    earlier
        .iter()
        .rev()
        .filter(|message| message.role == Role::Assistant)
        .flat_map(|message| message.tool_calls.iter().flatten())
        .find(|call| call.id == id)
        .map(|call| call.function.name.clone())
}

fn declarations(tools: &[Tool]) -> Result<Vec<FunctionDeclaration>, GatewayError> {
    tools
        .iter()
        .enumerate()
        .map(|(i, tool)| {
            if tool.kind != "function" {
                return Err(invalid(
                    format!("tools[{i}].type"),
                    format!(
                        "provider gemini takes tools of type `function`, not `{}`",
                        tool.kind
                    ),
                ));
            }
            let parameters = tool
                .function
                .parameters
                .clone()
                .map(gemini_schema)
                .filter(|schema| !is_empty_object_schema(schema));
            Ok(FunctionDeclaration {
                name: tool.function.name.clone(),
                description: tool.function.description.clone(),
                parameters,
            })
        })
        .collect()
}

/// A JSON schema as Gemini's schema: without the keys Gemini refuses
/// (`$schema`, `additionalProperties`), at every level.
pub(super) fn gemini_schema(schema: Value) -> Value {
    match schema {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .filter(|(key, _)| key != "$schema" && key != "additionalProperties")
                .map(|(key, value)| {
                    let value = match (key.as_str(), value) {
                        // Property names are the caller's, not schema keywords.
                        ("properties", Value::Object(properties)) => Value::Object(
                            properties
                                .into_iter()
                                .map(|(name, schema)| (name, gemini_schema(schema)))
                                .collect(),
                        ),
                        (_, value) => gemini_schema(value),
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(gemini_schema).collect()),
        other => other,
    }
}

/// `{"type": "object", "properties": {}}`: no parameters, which Gemini wants left out.
fn is_empty_object_schema(schema: &Value) -> bool {
    let Some(fields) = schema.as_object() else {
        return false;
    };
    let no_properties = fields
        .get("properties")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    fields
        .keys()
        .all(|key| key == "type" || key == "properties")
        && no_properties
}

fn tool_config(choice: &Value) -> Result<ToolConfig, GatewayError> {
    let config = |mode, names| ToolConfig {
        function_calling_config: FunctionCallingConfig {
            mode,
            allowed_function_names: names,
        },
    };
    match choice {
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(config("AUTO", None)),
            "none" => Ok(config("NONE", None)),
            "required" => Ok(config("ANY", None)),
            other => Err(invalid(
                "tool_choice".to_owned(),
                format!("must be none, auto, required or a named function (got `{other}`)"),
            )),
        },
        Value::Object(_) => match choice.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => Ok(config("ANY", Some(vec![name.to_owned()]))),
            None => Err(invalid(
                "tool_choice".to_owned(),
                "a named tool choice needs `function.name`",
            )),
        },
        _ => Err(invalid(
            "tool_choice".to_owned(),
            "must be a string or an object",
        )),
    }
}

fn generation_config(chat: &ChatRequest) -> Result<Map<String, Value>, GatewayError> {
    let mut config = Map::new();
    let mut set = |key: &str, value: Value| {
        config.insert(key.to_owned(), value);
    };
    if let Some(temperature) = chat.temperature {
        set("temperature", json!(temperature));
    }
    if let Some(top_p) = chat.top_p {
        set("topP", json!(top_p));
    }
    if let Some(max) = chat.max_completion_tokens.or(chat.max_tokens) {
        set("maxOutputTokens", json!(max));
    }
    if let Some(stop) = &chat.stop {
        set("stopSequences", json!(stop.as_slice()));
    }
    if let Some(n) = chat.n {
        set("candidateCount", json!(n));
    }
    if let Some(seed) = chat.seed {
        set("seed", json!(seed));
    }
    if let Some(penalty) = chat.presence_penalty {
        set("presencePenalty", json!(penalty));
    }
    if let Some(penalty) = chat.frequency_penalty {
        set("frequencyPenalty", json!(penalty));
    }
    if chat.logprobs == Some(true) {
        set("responseLogprobs", json!(true));
        if let Some(top) = chat.top_logprobs {
            set("logprobs", json!(top));
        }
    }
    if let Some(format) = &chat.response_format {
        match format.kind.as_str() {
            "text" => {}
            "json_object" => set("responseMimeType", json!("application/json")),
            "json_schema" => {
                set("responseMimeType", json!("application/json"));
                let schema = format
                    .json_schema
                    .as_ref()
                    .and_then(|wrapper| wrapper.get("schema"))
                    .cloned();
                if let Some(schema) = schema {
                    set("responseSchema", gemini_schema(schema));
                }
            }
            other => {
                return Err(invalid(
                    "response_format.type".to_owned(),
                    format!("must be text, json_object or json_schema (got `{other}`)"),
                ));
            }
        }
    }
    Ok(config)
}

fn embed(request: EmbeddingsRequest, model_path: &str) -> Result<Encoded, GatewayError> {
    let texts = match request.input {
        EmbeddingInput::Text(text) => vec![text],
        EmbeddingInput::Texts(texts) if !texts.is_empty() => texts,
        EmbeddingInput::Texts(_) => {
            return Err(invalid("input".to_owned(), "must not be empty"));
        }
        EmbeddingInput::Tokens(_) | EmbeddingInput::TokenBatches(_) => {
            return Err(invalid(
                "input".to_owned(),
                format!("provider {PROVIDER} embeds text, not token ids"),
            ));
        }
    };
    let base64 = match request.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(invalid(
                "encoding_format".to_owned(),
                format!("must be float or base64 (got `{other}`)"),
            ));
        }
    };
    let mut options = Map::new();
    if let Some(dimensions) = request.dimensions {
        options.insert("outputDimensionality".to_owned(), json!(dimensions));
    }
    for (key, value) in request.extra {
        if key != "model" {
            options.insert(key, value);
        }
    }
    let one = |text: String| {
        let mut body = json_object("content", json!({"parts": [{"text": text}]}));
        body.extend(options.clone());
        body
    };
    let batch = texts.len() > 1;
    let body = if batch {
        let requests: Vec<Value> = texts
            .into_iter()
            .map(|text| {
                let mut request = json_object("model", json!(model_path));
                request.extend(one(text));
                Value::Object(request)
            })
            .collect();
        json!({ "requests": requests })
    } else {
        Value::Object(one(texts.into_iter().next().unwrap_or_default()))
    };
    Ok(Encoded::Embed {
        body: to_bytes(&body)?,
        batch,
        base64,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn encode_chat(body: Value) -> Value {
        let chat: ChatRequest = serde_json::from_value(body).unwrap();
        serde_json::to_value(generate_content(chat).unwrap()).unwrap()
    }

    #[test]
    fn schema_cleanup_keeps_property_names() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "additionalProperties": {"type": "string"},
                "nested": {"type": "object", "additionalProperties": false, "properties": {}}
            }
        });
        assert_eq!(
            gemini_schema(schema),
            json!({
                "type": "object",
                "properties": {
                    "additionalProperties": {"type": "string"},
                    "nested": {"type": "object", "properties": {}}
                }
            })
        );
    }

    #[test]
    fn consecutive_tool_answers_share_one_content() {
        let sent = encode_chat(json!({
            "messages": [
                {"role": "user", "content": "both"},
                {"role": "assistant", "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "b", "type": "function", "function": {"name": "g", "arguments": ""}}
                ]},
                {"role": "tool", "tool_call_id": "a", "content": "1"},
                {"role": "tool", "tool_call_id": "b", "content": "not json"}
            ]
        }));
        assert_eq!(sent["contents"].as_array().unwrap().len(), 3);
        assert_eq!(
            sent["contents"][2],
            json!({"role": "user", "parts": [
                {"functionResponse": {"name": "f", "response": {"result": 1}}},
                {"functionResponse": {"name": "g", "response": {"result": "not json"}}}
            ]})
        );
    }

    #[test]
    fn audio_and_files_become_inline_data() {
        let sent = encode_chat(json!({"messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}}
        ]}]}));
        assert_eq!(
            sent["contents"][0]["parts"],
            json!([
                {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
                {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}}
            ])
        );
        let chat: ChatRequest =
            serde_json::from_value(json!({"messages": [{"role": "user", "content": [
                {"type": "file", "file": {"file_id": "file-1"}}
            ]}]}))
            .unwrap();
        let error = generate_content(chat).unwrap_err();
        assert_eq!(error.param(), Some("messages[0].content[0].file"));
    }

    #[test]
    fn a_tool_answer_without_its_call_is_refused() {
        let chat: ChatRequest = serde_json::from_value(json!({
            "messages": [{"role": "user", "content": "x"},
                         {"role": "tool", "tool_call_id": "nope", "content": "1"}]
        }))
        .unwrap();
        let error = generate_content(chat).unwrap_err();
        assert_eq!(error.param(), Some("messages[1].tool_call_id"));
    }

    #[test]
    fn thought_signatures_ride_in_the_call_id() {
        let id = call_id("call_1", Some("c2ln"));
        assert_eq!(split_call_id(&id), ("call_1", Some("c2ln")));
        assert_eq!(split_call_id("call_2"), ("call_2", None));
    }
}
