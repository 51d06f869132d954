//! A chat rendered to one prompt, in Llama 2's instruction format.
//!
//! TGI's `/generate` takes text, not messages. The conversation is written
//! the way MLflow's gateway writes chats for text-only backends (its
//! MosaicML provider), following <https://huggingface.co/blog/llama2#how-to-prompt-llama-2>:
//!
//! ```text
//! <s>[INST] <<SYS>> {system} <</SYS>> {user 1} [/INST] {answer 1} </s><s>[INST] {user 2} [/INST]
//! ```

use towergate_core::{
    GatewayError,
    chat::{ChatMessage, ContentPart, MessageContent, Role},
};

/// The prompt for `messages`; tool and function messages, and parts other
/// than text, are refused.
pub(super) fn render(messages: &[ChatMessage]) -> Result<String, GatewayError> {
    let mut prompt = String::from("<s>");
    for (i, message) in messages.iter().enumerate() {
        let text = text(message, i)?;
        match message.role {
            Role::System | Role::Developer | Role::User => {
                let mut instruction = if matches!(message.role, Role::User) {
                    text
                } else {
                    format!("<<SYS>> {text} <</SYS>>")
                };
                instruction.push_str(" [/INST]");
                match prompt.strip_suffix("[/INST]") {
                    // Instructions in a row share one [INST] block.
                    Some(open) => prompt.truncate(open.len()),
                    None => instruction.insert_str(0, "[INST] "),
                }
                prompt.push_str(&instruction);
            }
            Role::Assistant => {
                prompt.push(' ');
                prompt.push_str(&text);
                prompt.push_str(" </s><s>");
            }
            Role::Tool | Role::Function => {
                return Err(GatewayError::invalid(format!(
                    "`messages[{i}]`: role `{}` is not supported by provider \
                     huggingface-text-generation-inference (it has no tools); \
                     roles are system, user and assistant",
                    message.role.as_str()
                ))
                .with_param(format!("messages[{i}].role")));
            }
        }
    }
    if let Some(open) = prompt.strip_suffix("</s><s>") {
        prompt.truncate(open.len());
    }
    Ok(prompt)
}

fn text(message: &ChatMessage, i: usize) -> Result<String, GatewayError> {
    if message
        .tool_calls
        .as_ref()
        .is_some_and(|calls| !calls.is_empty())
    {
        return Err(GatewayError::invalid(format!(
            "`messages[{i}].tool_calls`: provider huggingface-text-generation-inference has no tools"
        ))
        .with_param(format!("messages[{i}].tool_calls")));
    }
    match &message.content {
        None => Ok(String::new()),
        Some(MessageContent::Text(text)) => Ok(text.clone()),
        Some(MessageContent::Parts(parts)) => {
            if let Some(j) = parts
                .iter()
                .position(|part| !matches!(part, ContentPart::Text { .. }))
            {
                return Err(GatewayError::invalid(format!(
                    "`messages[{i}].content[{j}]`: provider huggingface-text-generation-inference \
                     takes text only"
                ))
                .with_param(format!("messages[{i}].content[{j}]")));
            }
            Ok(MessageContent::Parts(parts.clone()).text())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn messages(list: &[(Role, &str)]) -> Vec<ChatMessage> {
        list.iter()
            .map(|(role, text)| ChatMessage::text(*role, *text))
            .collect()
    }

    #[test]
    fn a_conversation_in_llama_2_format() {
        let prompt = render(&messages(&[
            (Role::System, "Be brief."),
            (Role::User, "Hi"),
            (Role::Assistant, "Hello!"),
            (Role::User, "How are you?"),
        ]))
        .unwrap();
        assert_eq!(
            prompt,
            "<s>[INST] <<SYS>> Be brief. <</SYS>> Hi [/INST] Hello! </s><s>[INST] How are you? [/INST]"
        );
    }

    #[test]
    fn a_last_assistant_message_is_left_open_to_continue() {
        let prompt = render(&messages(&[
            (Role::User, "Count"),
            (Role::Assistant, "1, 2,"),
        ]))
        .unwrap();
        // As MLflow writes it: the space before the dropped `</s><s>` stays.
        assert_eq!(prompt, "<s>[INST] Count [/INST] 1, 2, ");
    }

    #[test]
    fn tool_messages_are_refused() {
        let mut tool = ChatMessage::text(Role::Tool, "42");
        tool.tool_call_id = Some("c".into());
        let error = render(&[ChatMessage::text(Role::User, "x"), tool]).unwrap_err();
        assert_eq!(error.param(), Some("messages[1].role"));
    }
}
