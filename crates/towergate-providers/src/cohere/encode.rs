//! OpenAI's requests as Cohere v2 chat and embed requests; the mapping is
//! listed in the module docs of [`super`].

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};
use towergate_core::{
    Extra, GatewayError,
    chat::{
        ChatMessage, ChatRequest, ContentPart, FunctionDefinition, ImageUrl, MessageContent, Role,
        Tool, ToolCall,
    },
    embeddings::{EmbeddingInput, EmbeddingsRequest},
};

fn refuse(param: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::invalid(message).with_param(param)
}

fn to_bytes(value: &impl Serialize) -> Result<Bytes, GatewayError> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|error| {
        GatewayError::internal(format!("cannot encode the request for Cohere: {error}"))
    })
}

#[derive(Debug, Serialize)]
struct ChatV2 {
    model: String,
    messages: Vec<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<Vec<CohereTool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    strict_tools: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_sequences: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Serialize)]
struct Message {
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<Content>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<Vec<ToolCall>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part {
    Text { text: String },
    ImageUrl { image_url: ImageUrl },
}

#[derive(Debug, Serialize)]
struct CohereTool {
    #[serde(rename = "type")]
    kind: &'static str,
    function: CohereFunction,
}

#[derive(Debug, Serialize)]
struct CohereFunction {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Value>,
}

/// The v2 chat request for `model`.
pub(super) fn chat(chat: ChatRequest, model: &str) -> Result<Bytes, GatewayError> {
    if chat.n.is_some_and(|n| n != 1) {
        return Err(refuse("n", "`n` must be 1 for provider cohere"));
    }
    let response_format = match &chat.response_format {
        None => None,
        Some(format) => match format.kind.as_str() {
            "text" => None,
            "json_object" => Some(json!({"type": "json_object"})),
            "json_schema" => {
                let schema = format
                    .json_schema
                    .as_ref()
                    .and_then(|spec| spec.get("schema"))
                    .cloned()
                    .ok_or_else(|| {
                        refuse(
                            "response_format.json_schema.schema",
                            "`response_format` `json_schema` needs `json_schema.schema`",
                        )
                    })?;
                Some(json!({"type": "json_object", "json_schema": schema}))
            }
            other => {
                return Err(refuse(
                    "response_format",
                    format!("`response_format` `{other}` is not supported by provider cohere"),
                ));
            }
        },
    };
    let strict_tools = chat
        .tools
        .iter()
        .flatten()
        .any(|tool| tool.function.strict == Some(true))
        .then_some(true);
    let (tools, tool_choice) = tools(chat.tools, chat.tool_choice.as_ref())?;
    let messages = chat
        .messages
        .into_iter()
        .enumerate()
        .map(|(index, message)| self::message(index, message))
        .collect::<Result<_, _>>()?;
    let mut extra = chat.extra;
    extra.remove("model");
    let request = ChatV2 {
        model: model.to_owned(),
        messages,
        tools,
        strict_tools,
        tool_choice,
        max_tokens: chat.max_completion_tokens.or(chat.max_tokens),
        stop_sequences: chat.stop.map(|stop| stop.as_slice().to_vec()),
        temperature: chat.temperature,
        p: chat.top_p,
        seed: chat.seed,
        frequency_penalty: chat.frequency_penalty,
        presence_penalty: chat.presence_penalty,
        logprobs: chat.logprobs,
        response_format,
        stream: chat.stream.filter(|stream| *stream),
        extra,
    };
    to_bytes(&request)
}

/// Cohere's tools and `tool_choice`: `auto` is Cohere's default, `none` and
/// `required` are `NONE` and `REQUIRED`; Cohere cannot force one tool by
/// name, so a named function leaves only that tool, `REQUIRED`.
fn tools(
    tools: Option<Vec<Tool>>,
    choice: Option<&Value>,
) -> Result<(Option<Vec<CohereTool>>, Option<&'static str>), GatewayError> {
    let Some(tools) = tools else {
        return Ok((None, None));
    };
    let (only, choice) = match choice {
        None => (None, None),
        Some(Value::String(mode)) => match mode.as_str() {
            "auto" => (None, None),
            "none" => (None, Some("NONE")),
            "required" => (None, Some("REQUIRED")),
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
            (Some(name.to_owned()), Some("REQUIRED"))
        }
    };
    let mut converted = Vec::with_capacity(tools.len());
    for (index, tool) in tools.into_iter().enumerate() {
        if tool.kind != "function" {
            return Err(refuse(
                &format!("tools[{index}].type"),
                format!(
                    "tool type `{}` is not supported by provider cohere",
                    tool.kind
                ),
            ));
        }
        if only
            .as_ref()
            .is_some_and(|name| *name != tool.function.name)
        {
            continue;
        }
        let FunctionDefinition {
            name,
            description,
            parameters,
            ..
        } = tool.function;
        converted.push(CohereTool {
            kind: "function",
            function: CohereFunction {
                name,
                description,
                parameters,
            },
        });
    }
    if let Some(name) = only.filter(|_| converted.is_empty()) {
        return Err(refuse(
            "tool_choice",
            format!("`tool_choice` names `{name}`, which is not in `tools`"),
        ));
    }
    Ok((Some(converted), choice))
}

fn message(index: usize, message: ChatMessage) -> Result<Message, GatewayError> {
    let at = |field: &str| format!("messages[{index}].{field}");
    let text = |message: &ChatMessage| message.text_content().unwrap_or_default();
    let plain = |role, content| Message {
        role,
        content: Some(Content::Text(content)),
        tool_calls: None,
        tool_call_id: None,
    };
    Ok(match message.role {
        Role::System | Role::Developer => plain("system", text(&message)),
        Role::User => Message {
            content: Some(user_content(message.content, &at("content"))?),
            ..plain("user", String::new())
        },
        Role::Assistant => {
            let content = text(&message);
            let calls = message.tool_calls.filter(|calls| !calls.is_empty());
            if content.is_empty() && calls.is_none() {
                return Err(refuse(
                    &at("content"),
                    "an assistant message needs content or tool_calls",
                ));
            }
            Message {
                role: "assistant",
                content: (!content.is_empty()).then_some(Content::Text(content)),
                tool_calls: calls,
                tool_call_id: None,
            }
        }
        Role::Tool => {
            let id = message.tool_call_id.clone().ok_or_else(|| {
                refuse(&at("tool_call_id"), "a tool message needs `tool_call_id`")
            })?;
            Message {
                tool_call_id: Some(id),
                ..plain("tool", text(&message))
            }
        }
        Role::Function => {
            return Err(refuse(
                &at("role"),
                "role `function` is not supported by provider cohere; use `tools`",
            ));
        }
    })
}

fn user_content(content: Option<MessageContent>, at: &str) -> Result<Content, GatewayError> {
    match content {
        None => Ok(Content::Text(String::new())),
        Some(MessageContent::Text(text)) => Ok(Content::Text(text)),
        Some(MessageContent::Parts(parts)) => parts
            .into_iter()
            .enumerate()
            .map(|(index, part)| match part {
                ContentPart::Text { text } => Ok(Part::Text { text }),
                ContentPart::ImageUrl { image_url } => Ok(Part::ImageUrl { image_url }),
                ContentPart::InputAudio { .. } | ContentPart::File { .. } => Err(refuse(
                    &format!("{at}[{index}]"),
                    "only text and image parts are supported by provider cohere",
                )),
            })
            .collect::<Result<_, _>>()
            .map(Content::Parts),
    }
}

#[derive(Debug, Serialize)]
struct Embed<'a> {
    model: &'a str,
    texts: Vec<&'a str>,
    input_type: Value,
    embedding_types: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimension: Option<u32>,
    #[serde(flatten)]
    extra: Extra,
}

/// The v2 embed request for `model`: float vectors of `texts`, with
/// `input_type` from the request's own field or `default_input_type`.
pub(super) fn embed(
    request: &EmbeddingsRequest,
    model: &str,
    default_input_type: &str,
) -> Result<Bytes, GatewayError> {
    let texts: Vec<&str> = match &request.input {
        EmbeddingInput::Text(text) => vec![text.as_str()],
        EmbeddingInput::Texts(texts) => texts.iter().map(String::as_str).collect(),
        EmbeddingInput::Tokens(_) | EmbeddingInput::TokenBatches(_) => {
            return Err(refuse(
                "input",
                "token ids as `input` are not supported by provider cohere; send text",
            ));
        }
    };
    if let Some(format) = request
        .encoding_format
        .as_deref()
        .filter(|format| !matches!(*format, "float" | "base64"))
    {
        return Err(refuse(
            "encoding_format",
            format!("`encoding_format` must be float or base64, not `{format}`"),
        ));
    }
    let mut extra = request.extra.clone();
    for set_here in ["model", "texts", "embedding_types", "output_dimension"] {
        extra.remove(set_here);
    }
    let input_type = extra
        .remove("input_type")
        .unwrap_or_else(|| Value::from(default_input_type));
    to_bytes(&Embed {
        model,
        texts,
        input_type,
        embedding_types: ["float"],
        output_dimension: request.dimensions,
        extra,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sent(body: Value) -> Value {
        let request: ChatRequest = serde_json::from_value(body).unwrap();
        serde_json::from_slice(&chat(request, "command-r").unwrap()).unwrap()
    }

    #[test]
    fn a_named_tool_choice_keeps_only_that_tool_and_requires_it() {
        let body = sent(json!({
            "messages": [{"role": "user", "content": "x"}],
            "tools": [
                {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}, "strict": true}},
                {"type": "function", "function": {"name": "b"}}
            ],
            "tool_choice": {"type": "function", "function": {"name": "b"}}
        }));
        assert_eq!(body["tool_choice"], "REQUIRED");
        assert_eq!(
            body["tools"],
            json!([{"type": "function", "function": {"name": "b"}}])
        );
        assert_eq!(body["strict_tools"], true);
    }

    #[test]
    fn json_schema_becomes_cohere_json_object_with_schema() {
        let body = sent(json!({
            "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object"}}},
            "top_p": 0.5, "max_completion_tokens": 9, "user": "u"
        }));
        assert_eq!(
            body["response_format"],
            json!({"type": "json_object", "json_schema": {"type": "object"}})
        );
        assert_eq!(body["p"], 0.5);
        assert_eq!(body["max_tokens"], 9);
        assert!(body.get("top_p").is_none());
        assert!(body.get("user").is_none());
    }

    #[test]
    fn embed_takes_the_requests_own_input_type() {
        let request: EmbeddingsRequest =
            serde_json::from_value(json!({"input": "q", "input_type": "search_query"})).unwrap();
        let body: Value =
            serde_json::from_slice(&embed(&request, "embed-v4.0", "search_document").unwrap())
                .unwrap();
        assert_eq!(
            body,
            json!({"model": "embed-v4.0", "texts": ["q"], "input_type": "search_query", "embedding_types": ["float"]})
        );
    }
}
