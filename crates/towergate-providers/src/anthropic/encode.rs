//! OpenAI's chat request as Anthropic's Messages API request; the mapping
//! is listed in the module docs of [`super`].

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};
use towergate_core::{
    Extra, GatewayError,
    chat::{ChatMessage, ChatRequest, ContentPart, MessageContent, Role, Tool},
};

/// Serializes `chat` for `model`, with `default_max_tokens` when the caller set none.
pub(super) fn encode(
    chat: ChatRequest,
    model: &str,
    default_max_tokens: u32,
) -> Result<Bytes, GatewayError> {
    let request = MessagesRequest::new(chat, model, default_max_tokens)?;
    serde_json::to_vec(&request)
        .map(Bytes::from)
        .map_err(|error| {
            GatewayError::internal(format!("cannot encode the request for Anthropic: {error}"))
        })
}

#[derive(Debug, Serialize)]
struct MessagesRequest {
    model: String,
    max_tokens: u32,
    messages: Vec<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_sequences: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<Vec<ToolDefinition>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Serialize)]
pub(super) struct Message {
    pub(super) role: &'static str,
    pub(super) content: Content,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(super) enum Content {
    Text(String),
    Blocks(Vec<Block>),
}

impl Content {
    fn into_blocks(self) -> Vec<Block> {
        match self {
            Content::Text(text) if text.is_empty() => Vec::new(),
            Content::Text(text) => vec![Block::Text { text }],
            Content::Blocks(blocks) => blocks,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Block {
    Text {
        text: String,
    },
    Image {
        source: ImageSource,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: String,
    },
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum ImageSource {
    Base64 { media_type: String, data: String },
    Url { url: String },
}

#[derive(Debug, Serialize)]
struct ToolDefinition {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    input_schema: Value,
}

fn refuse(param: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::invalid(message).with_param(param)
}

impl MessagesRequest {
    fn new(chat: ChatRequest, model: &str, default_max_tokens: u32) -> Result<Self, GatewayError> {
        if chat.n.is_some_and(|n| n != 1) {
            return Err(refuse("n", "`n` must be 1 for provider anthropic"));
        }
        if let Some(format) = chat.response_format.as_ref().filter(|f| f.kind != "text") {
            return Err(refuse(
                "response_format",
                format!(
                    "`response_format` `{}` is not supported by provider anthropic",
                    format.kind
                ),
            ));
        }
        let (system, messages) = conversation(chat.messages)?;
        let tools = chat.tools.map(tool_definitions).transpose()?;
        let tool_choice = match &tools {
            Some(_) => tool_choice(chat.tool_choice.as_ref(), chat.parallel_tool_calls)?,
            None => None,
        };
        let mut extra = chat.extra;
        extra.remove("model");
        if let Some(user) = chat.user {
            let metadata = extra
                .entry("metadata")
                .or_insert_with(|| Value::Object(Extra::new()));
            if let Some(fields) = metadata.as_object_mut() {
                fields
                    .entry("user_id")
                    .or_insert_with(|| Value::String(user));
            }
        }
        let request = Self {
            model: model.to_owned(),
            max_tokens: chat
                .max_completion_tokens
                .or(chat.max_tokens)
                .unwrap_or(default_max_tokens),
            messages,
            system,
            temperature: chat.temperature.map(|t| t / 2.0),
            top_p: chat.top_p,
            stop_sequences: chat.stop.map(|stop| stop.as_slice().to_vec()),
            stream: chat.stream.filter(|stream| *stream),
            tools,
            tool_choice,
            extra,
        };
        Ok(request.without_shadowed_extras())
    }

    /// Drops the unknown fields that name a field this request sets.
    fn without_shadowed_extras(mut self) -> Self {
        let set = [
            ("max_tokens", true),
            ("messages", true),
            ("system", self.system.is_some()),
            ("temperature", self.temperature.is_some()),
            ("top_p", self.top_p.is_some()),
            ("stop_sequences", self.stop_sequences.is_some()),
            ("stream", self.stream.is_some()),
            ("tools", self.tools.is_some()),
            ("tool_choice", self.tool_choice.is_some()),
        ];
        for (key, is_set) in set {
            if is_set {
                self.extra.remove(key);
            }
        }
        self
    }
}

/// The system text, and the rest of the conversation with alternating roles.
pub(super) fn conversation(
    messages: Vec<ChatMessage>,
) -> Result<(Option<String>, Vec<Message>), GatewayError> {
    let mut system: Vec<String> = Vec::new();
    let mut out: Vec<Message> = Vec::new();
    for (index, message) in messages.into_iter().enumerate() {
        let at = |field: &str| format!("messages[{index}].{field}");
        let (role, content) = match message.role {
            Role::System | Role::Developer => {
                system.push(message.text_content().unwrap_or_default());
                continue;
            }
            Role::User => ("user", user_content(message.content, &at("content"))?),
            Role::Assistant => ("assistant", assistant_content(message, &at)?),
            Role::Tool => {
                let id = message.tool_call_id.clone().ok_or_else(|| {
                    refuse(&at("tool_call_id"), "a tool message needs `tool_call_id`")
                })?;
                let result = Block::ToolResult {
                    tool_use_id: id,
                    content: message.text_content().unwrap_or_default(),
                };
                ("user", Content::Blocks(vec![result]))
            }
            Role::Function => {
                return Err(refuse(
                    &at("role"),
                    "role `function` is not supported by provider anthropic; use `tools`",
                ));
            }
        };
        match out.last_mut() {
            Some(last) if last.role == role => {
                let mut blocks =
                    std::mem::replace(&mut last.content, Content::Blocks(Vec::new())).into_blocks();
                blocks.extend(content.into_blocks());
                last.content = Content::Blocks(blocks);
            }
            _ => out.push(Message { role, content }),
        }
    }
    let system = (!system.is_empty()).then(|| system.join("\n"));
    Ok((system, out))
}

fn user_content(content: Option<MessageContent>, at: &str) -> Result<Content, GatewayError> {
    match content {
        None => Ok(Content::Text(String::new())),
        Some(MessageContent::Text(text)) => Ok(Content::Text(text)),
        Some(MessageContent::Parts(parts)) => parts
            .into_iter()
            .enumerate()
            .map(|(index, part)| part_block(part, &format!("{at}[{index}]")))
            .collect::<Result<_, _>>()
            .map(Content::Blocks),
    }
}

fn part_block(part: ContentPart, at: &str) -> Result<Block, GatewayError> {
    match part {
        ContentPart::Text { text } => Ok(Block::Text { text }),
        ContentPart::ImageUrl { image_url } => Ok(Block::Image {
            source: image_source(&image_url.url, at)?,
        }),
        ContentPart::InputAudio { .. } => Err(refuse(
            at,
            "audio input is not supported by provider anthropic",
        )),
        ContentPart::File { .. } => Err(refuse(
            at,
            "file input is not supported by provider anthropic",
        )),
    }
}

/// A `data:MEDIA;base64,DATA` URL as a base64 source, any other URL as a url source.
fn image_source(url: &str, at: &str) -> Result<ImageSource, GatewayError> {
    let Some(data_url) = url.strip_prefix("data:") else {
        return Ok(ImageSource::Url {
            url: url.to_owned(),
        });
    };
    let Some((media_type, data)) = data_url
        .split_once(',')
        .and_then(|(head, data)| Some((head.strip_suffix(";base64")?, data)))
    else {
        return Err(refuse(
            at,
            "an image `data:` URL must be `data:MEDIA_TYPE;base64,DATA`",
        ));
    };
    Ok(ImageSource::Base64 {
        media_type: media_type.to_owned(),
        data: data.to_owned(),
    })
}

fn assistant_content(
    message: ChatMessage,
    at: &dyn Fn(&str) -> String,
) -> Result<Content, GatewayError> {
    let text = message.text_content().unwrap_or_default();
    let Some(calls) = message.tool_calls.filter(|calls| !calls.is_empty()) else {
        return Ok(Content::Text(text));
    };
    let mut blocks = Content::Text(text).into_blocks();
    for (index, call) in calls.into_iter().enumerate() {
        let arguments = call.function.arguments.trim();
        let input = if arguments.is_empty() {
            json!({})
        } else {
            serde_json::from_str(arguments).map_err(|error| {
                refuse(
                    &at(&format!("tool_calls[{index}].function.arguments")),
                    format!("tool call arguments must be a JSON object: {error}"),
                )
            })?
        };
        blocks.push(Block::ToolUse {
            id: call.id,
            name: call.function.name,
            input,
        });
    }
    Ok(Content::Blocks(blocks))
}

fn tool_definitions(tools: Vec<Tool>) -> Result<Vec<ToolDefinition>, GatewayError> {
    tools
        .into_iter()
        .enumerate()
        .map(|(index, tool)| {
            if tool.kind != "function" {
                return Err(refuse(
                    &format!("tools[{index}].type"),
                    format!(
                        "tool type `{}` is not supported by provider anthropic",
                        tool.kind
                    ),
                ));
            }
            Ok(ToolDefinition {
                name: tool.function.name,
                description: tool.function.description,
                input_schema: tool
                    .function
                    .parameters
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            })
        })
        .collect()
}

fn tool_choice(
    choice: Option<&Value>,
    parallel_tool_calls: Option<bool>,
) -> Result<Option<Value>, GatewayError> {
    let mut choice = match choice {
        None => None,
        Some(Value::String(mode)) => match mode.as_str() {
            "auto" => Some(json!({"type": "auto"})),
            "none" => return Ok(Some(json!({"type": "none"}))),
            "required" => Some(json!({"type": "any"})),
            other => {
                return Err(refuse(
                    "tool_choice",
                    format!("`tool_choice` `{other}` must be auto, none, required or a function"),
                ));
            }
        },
        Some(named) => {
            let name = named
                .pointer("/function/name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    refuse(
                        "tool_choice",
                        "`tool_choice` must be auto, none, required or {\"type\": \"function\", \"function\": {\"name\": …}}",
                    )
                })?;
            Some(json!({"type": "tool", "name": name}))
        }
    };
    if parallel_tool_calls == Some(false) {
        let choice = choice.get_or_insert_with(|| json!({"type": "auto"}));
        choice["disable_parallel_tool_use"] = Value::Bool(true);
    }
    Ok(choice)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sent(body: Value) -> Value {
        let chat: ChatRequest = serde_json::from_value(body).unwrap();
        serde_json::from_slice(&encode(chat, "claude-x", 4096).unwrap()).unwrap()
    }

    fn refused(body: Value) -> GatewayError {
        let chat: ChatRequest = serde_json::from_value(body).unwrap();
        encode(chat, "claude-x", 4096).unwrap_err()
    }

    #[test]
    fn tool_messages_in_a_row_make_one_user_message() {
        let body = sent(json!({"messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "w", "arguments": "{\"c\":1}"}},
                {"id": "b", "type": "function", "function": {"name": "w", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "a", "content": "sunny"},
            {"role": "tool", "tool_call_id": "b", "content": "rainy"},
            {"role": "user", "content": "thanks"}
        ]}));
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(
            messages[1]["content"],
            json!([
                {"type": "tool_use", "id": "a", "name": "w", "input": {"c": 1}},
                {"type": "tool_use", "id": "b", "name": "w", "input": {}}
            ])
        );
        assert_eq!(
            messages[2],
            json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "a", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "b", "content": "rainy"},
                {"type": "text", "text": "thanks"}
            ]})
        );
    }

    #[test]
    fn tool_choice_maps_to_anthropics_modes() {
        let tools = json!([{"type": "function", "function": {"name": "f"}}]);
        let choice = |choice: Value, parallel: Value| {
            sent(
                json!({"messages": [{"role": "user", "content": "x"}], "tools": tools,
                        "tool_choice": choice, "parallel_tool_calls": parallel}),
            )["tool_choice"]
                .clone()
        };
        assert_eq!(choice(json!("auto"), Value::Null), json!({"type": "auto"}));
        assert_eq!(
            choice(json!("required"), Value::Null),
            json!({"type": "any"})
        );
        assert_eq!(choice(json!("none"), json!(false)), json!({"type": "none"}));
        assert_eq!(
            choice(
                json!({"type": "function", "function": {"name": "f"}}),
                json!(false)
            ),
            json!({"type": "tool", "name": "f", "disable_parallel_tool_use": true})
        );
        assert_eq!(
            choice(Value::Null, json!(false)),
            json!({"type": "auto", "disable_parallel_tool_use": true})
        );
        let no_tools =
            sent(json!({"messages": [{"role": "user", "content": "x"}], "tool_choice": "auto"}));
        assert!(no_tools.get("tool_choice").is_none());
    }

    #[test]
    fn what_anthropic_cannot_do_is_refused_naming_the_field() {
        let user = json!([{"role": "user", "content": "x"}]);
        assert_eq!(
            refused(json!({"messages": user, "n": 2})).param(),
            Some("n")
        );
        let error = refused(json!({"messages": user, "response_format": {"type": "json_object"}}));
        assert_eq!(error.param(), Some("response_format"));
        let error = refused(json!({"messages": [
            {"role": "assistant", "tool_calls": [{"id": "a", "type": "function",
             "function": {"name": "w", "arguments": "{oops"}}]}
        ]}));
        assert_eq!(
            error.param(),
            Some("messages[0].tool_calls[0].function.arguments")
        );
        let error = refused(json!({"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}
        ]}]}));
        assert_eq!(error.param(), Some("messages[0].content[0]"));
    }

    #[test]
    fn unknown_fields_pass_and_user_becomes_metadata() {
        let body = sent(json!({
            "messages": [{"role": "user", "content": "x"}],
            "top_k": 5, "user": "u-1", "seed": 3, "presence_penalty": 0.1,
            "stream_options": {"include_usage": true}
        }));
        assert_eq!(body["top_k"], 5);
        assert_eq!(body["metadata"], json!({"user_id": "u-1"}));
        for dropped in ["seed", "presence_penalty", "stream_options", "user"] {
            assert!(body.get(dropped).is_none(), "{dropped}");
        }
    }
}
