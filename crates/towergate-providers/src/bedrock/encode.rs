//! OpenAI's chat request as a Converse request; the mapping is listed in
//! the module docs of [`super`].

use bytes::Bytes;
use serde_json::{Map, Value, json};
use towergate_core::{
    GatewayError,
    chat::{ChatMessage, ChatRequest, ContentPart, MessageContent, Role, Tool},
};

/// Converse's own top-level fields, sent as they came.
const CONVERSE_FIELDS: &[&str] = &[
    "additionalModelRequestFields",
    "additionalModelResponseFieldPaths",
    "guardrailConfig",
    "performanceConfig",
    "promptVariables",
    "requestMetadata",
];

fn refuse(param: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::invalid(message).with_param(param)
}

/// Serializes `chat` as a Converse request body.
pub(super) fn encode(chat: ChatRequest) -> Result<Bytes, GatewayError> {
    let body = converse_request(chat)?;
    serde_json::to_vec(&body).map(Bytes::from).map_err(|error| {
        GatewayError::internal(format!("cannot encode the request for Bedrock: {error}"))
    })
}

fn converse_request(chat: ChatRequest) -> Result<Value, GatewayError> {
    if chat.n.is_some_and(|n| n != 1) {
        return Err(refuse("n", "`n` must be 1 for provider bedrock"));
    }
    let (system, messages) = conversation(chat.messages)?;
    let mut body = Map::new();
    body.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        let blocks = system.into_iter().map(|text| json!({"text": text}));
        body.insert("system".into(), Value::Array(blocks.collect()));
    }
    let mut inference = Map::new();
    if let Some(max) = chat.max_completion_tokens.or(chat.max_tokens) {
        inference.insert("maxTokens".into(), json!(max));
    }
    if let Some(temperature) = chat.temperature {
        inference.insert("temperature".into(), json!(temperature));
    }
    if let Some(top_p) = chat.top_p {
        inference.insert("topP".into(), json!(top_p));
    }
    if let Some(stop) = chat.stop {
        inference.insert("stopSequences".into(), json!(stop.as_slice()));
    }
    if !inference.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(inference));
    }
    if let Some(tools) = chat.tools.filter(|tools| !tools.is_empty()) {
        let mut config = Map::new();
        config.insert("tools".into(), Value::Array(tool_specs(tools)?));
        if let Some(choice) = tool_choice(chat.tool_choice.as_ref())? {
            config.insert("toolChoice".into(), choice);
        }
        body.insert("toolConfig".into(), Value::Object(config));
    }
    let mut additional = Map::new();
    for (key, value) in chat.extra {
        if CONVERSE_FIELDS.contains(&key.as_str()) {
            body.insert(key, value);
        } else if key != "model" {
            additional.insert(key, value);
        }
    }
    if !additional.is_empty() {
        let fields = body
            .entry("additionalModelRequestFields")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(fields) = fields.as_object_mut() {
            for (key, value) in additional {
                fields.entry(key).or_insert(value);
            }
        }
    }
    Ok(Value::Object(body))
}

/// The system texts, and the messages with alternating roles.
fn conversation(messages: Vec<ChatMessage>) -> Result<(Vec<String>, Vec<Value>), GatewayError> {
    let mut system = Vec::new();
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (index, message) in messages.into_iter().enumerate() {
        let at = |field: &str| format!("messages[{index}].{field}");
        let (role, blocks) = match message.role {
            Role::System | Role::Developer => {
                system.push(message.text_content().unwrap_or_default());
                continue;
            }
            Role::User => ("user", user_blocks(message.content, &at("content"))?),
            Role::Assistant => ("assistant", assistant_blocks(message, &at)?),
            Role::Tool => {
                let id = message.tool_call_id.clone().ok_or_else(|| {
                    refuse(&at("tool_call_id"), "a tool message needs `tool_call_id`")
                })?;
                let text = message.text_content().unwrap_or_default();
                let result = json!({"toolResult": {"toolUseId": id, "content": [{"text": text}]}});
                ("user", vec![result])
            }
            Role::Function => {
                return Err(refuse(
                    &at("role"),
                    "role `function` is not supported by provider bedrock; use `tools`",
                ));
            }
        };
        match out.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => out.push((role, blocks)),
        }
    }
    let messages = out
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    Ok((system, messages))
}

fn user_blocks(content: Option<MessageContent>, at: &str) -> Result<Vec<Value>, GatewayError> {
    match content {
        None => Ok(Vec::new()),
        Some(MessageContent::Text(text)) => Ok(vec![json!({"text": text})]),
        Some(MessageContent::Parts(parts)) => parts
            .into_iter()
            .enumerate()
            .map(|(index, part)| part_block(part, &format!("{at}[{index}]")))
            .collect(),
    }
}

fn part_block(part: ContentPart, at: &str) -> Result<Value, GatewayError> {
    match part {
        ContentPart::Text { text } => Ok(json!({"text": text})),
        ContentPart::ImageUrl { image_url } => image_block(&image_url.url, at),
        ContentPart::InputAudio { .. } => Err(refuse(
            at,
            "audio input is not supported by provider bedrock",
        )),
        ContentPart::File { .. } => Err(refuse(
            at,
            "file input is not supported by provider bedrock",
        )),
    }
}

/// A `data:image/FORMAT;base64,DATA` URL as an image block with its bytes.
fn image_block(url: &str, at: &str) -> Result<Value, GatewayError> {
    let parsed = url
        .strip_prefix("data:image/")
        .and_then(|rest| rest.split_once(','))
        .and_then(|(head, data)| Some((head.strip_suffix(";base64")?, data)));
    let Some((format, data)) = parsed else {
        return Err(refuse(
            at,
            "provider bedrock takes images as `data:image/FORMAT;base64,DATA` URLs only",
        ));
    };
    let format = if format == "jpg" { "jpeg" } else { format };
    if !matches!(format, "png" | "jpeg" | "gif" | "webp") {
        return Err(refuse(
            at,
            format!("image format `{format}` is not supported by provider bedrock"),
        ));
    }
    Ok(json!({"image": {"format": format, "source": {"bytes": data}}}))
}

fn assistant_blocks(
    message: ChatMessage,
    at: &dyn Fn(&str) -> String,
) -> Result<Vec<Value>, GatewayError> {
    let text = message.text_content().unwrap_or_default();
    let mut blocks = Vec::new();
    if !text.is_empty() {
        blocks.push(json!({"text": text}));
    }
    for (index, call) in message.tool_calls.into_iter().flatten().enumerate() {
        let arguments = call.function.arguments.trim();
        let input: Value = if arguments.is_empty() {
            json!({})
        } else {
            serde_json::from_str(arguments).map_err(|error| {
                refuse(
                    &at(&format!("tool_calls[{index}].function.arguments")),
                    format!("tool call arguments must be a JSON object: {error}"),
                )
            })?
        };
        blocks.push(json!({"toolUse": {
            "toolUseId": call.id,
            "name": call.function.name,
            "input": input,
        }}));
    }
    Ok(blocks)
}

fn tool_specs(tools: Vec<Tool>) -> Result<Vec<Value>, GatewayError> {
    tools
        .into_iter()
        .enumerate()
        .map(|(index, tool)| {
            if tool.kind != "function" {
                return Err(refuse(
                    &format!("tools[{index}].type"),
                    format!(
                        "tool type `{}` is not supported by provider bedrock",
                        tool.kind
                    ),
                ));
            }
            let schema = tool
                .function
                .parameters
                .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
            let mut spec = Map::new();
            spec.insert("name".into(), Value::String(tool.function.name));
            if let Some(description) = tool.function.description {
                spec.insert("description".into(), Value::String(description));
            }
            spec.insert("inputSchema".into(), json!({"json": schema}));
            Ok(json!({"toolSpec": spec}))
        })
        .collect()
}

/// Converse's `toolChoice` for OpenAI's `tool_choice`; `none` has none.
fn tool_choice(choice: Option<&Value>) -> Result<Option<Value>, GatewayError> {
    let Some(choice) = choice else {
        return Ok(None);
    };
    match choice {
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(Some(json!({"auto": {}}))),
            "required" => Ok(Some(json!({"any": {}}))),
            "none" => Ok(None),
            other => Err(refuse(
                "tool_choice",
                format!("unknown `tool_choice` `{other}`"),
            )),
        },
        Value::Object(fields) => {
            let name = fields
                .get("function")
                .and_then(|function| function.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    refuse("tool_choice", "`tool_choice` must name a `function.name`")
                })?;
            Ok(Some(json!({"tool": {"name": name}})))
        }
        _ => Err(refuse(
            "tool_choice",
            "`tool_choice` must be text or an object",
        )),
    }
}
