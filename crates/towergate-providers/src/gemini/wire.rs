//! Gemini's JSON, as documented for `generateContent` and the embedding methods.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `contents[]`, `systemInstruction`, `candidates[].content`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Content {
    /// `user` or `model`; absent in `systemInstruction`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) role: Option<String>,
    #[serde(default)]
    pub(super) parts: Vec<Part>,
}

/// One part of a content: text, inline data, a file, a function call or its answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Part {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) inline_data: Option<Blob>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) file_data: Option<FileData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) function_call: Option<FunctionCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) function_response: Option<FunctionResponse>,
    /// Set on a part that is the model's thinking, not its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) thought: Option<bool>,
    /// The model's opaque record of its thinking, to be sent back with the
    /// function call it came with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) thought_signature: Option<String>,
}

impl Part {
    pub(super) fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// Whether the part is answer text (not thinking).
    pub(super) fn answer_text(&self) -> Option<&str> {
        match self.thought {
            Some(true) => None,
            _ => self.text.as_deref(),
        }
    }
}

/// `inlineData`: base64 bytes and their type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Blob {
    pub(super) mime_type: String,
    pub(super) data: String,
}

/// `fileData`: a file by URI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FileData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) mime_type: Option<String>,
    pub(super) file_uri: String,
}

/// `functionCall`: the model asks for a function to be run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct FunctionCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) id: Option<String>,
    pub(super) name: String,
    #[serde(default)]
    pub(super) args: Map<String, Value>,
}

/// `functionResponse`: what a function returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct FunctionResponse {
    pub(super) name: String,
    pub(super) response: Map<String, Value>,
}

/// The body of `generateContent` and `streamGenerateContent`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GenerateContentRequest {
    pub(super) contents: Vec<Content>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) system_instruction: Option<Content>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tools: Option<Vec<ToolSet>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tool_config: Option<ToolConfig>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub(super) generation_config: Map<String, Value>,
    /// Fields of the caller's request towergate does not model
    /// (`safetySettings`, `cachedContent`, …), sent as they came.
    #[serde(flatten)]
    pub(super) extra: Map<String, Value>,
}

/// `tools[]`: a set of function declarations.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ToolSet {
    pub(super) function_declarations: Vec<FunctionDeclaration>,
}

/// One function the model may call.
#[derive(Debug, Serialize)]
pub(super) struct FunctionDeclaration {
    pub(super) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) parameters: Option<Value>,
}

/// `toolConfig`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ToolConfig {
    pub(super) function_calling_config: FunctionCallingConfig,
}

/// `toolConfig.functionCallingConfig`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FunctionCallingConfig {
    /// `AUTO`, `ANY` or `NONE`.
    pub(super) mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) allowed_function_names: Option<Vec<String>>,
}

/// The answer of `generateContent`, and each event of `streamGenerateContent`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GenerateContentResponse {
    #[serde(default)]
    pub(super) candidates: Vec<Candidate>,
    #[serde(default)]
    pub(super) prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    pub(super) usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    pub(super) model_version: Option<String>,
    #[serde(default)]
    pub(super) response_id: Option<String>,
}

/// One candidate answer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Candidate {
    #[serde(default)]
    pub(super) content: Option<Content>,
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
    #[serde(default)]
    pub(super) index: Option<u32>,
}

/// Why the prompt was refused, when it was.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PromptFeedback {
    #[serde(default)]
    pub(super) block_reason: Option<String>,
}

/// `usageMetadata`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UsageMetadata {
    #[serde(default)]
    pub(super) prompt_token_count: u64,
    #[serde(default)]
    pub(super) candidates_token_count: u64,
    #[serde(default)]
    pub(super) total_token_count: u64,
    #[serde(default)]
    pub(super) thoughts_token_count: Option<u64>,
    #[serde(default)]
    pub(super) cached_content_token_count: Option<u64>,
}

/// The answer of `embedContent`.
#[derive(Debug, Deserialize)]
pub(super) struct EmbedContentResponse {
    pub(super) embedding: ContentEmbedding,
}

/// The answer of `batchEmbedContents`.
#[derive(Debug, Deserialize)]
pub(super) struct BatchEmbedContentsResponse {
    pub(super) embeddings: Vec<ContentEmbedding>,
}

/// One embedding.
#[derive(Debug, Deserialize)]
pub(super) struct ContentEmbedding {
    pub(super) values: Vec<f32>,
}
