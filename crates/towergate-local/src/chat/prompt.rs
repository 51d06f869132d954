//! The chat template: the GGUF file's own `tokenizer.chat_template`
//! (a Jinja template, rendered with minijinja), or plain ChatML when the
//! file has none or it cannot be rendered.

use minijinja::{Environment, ErrorKind, context};
use serde::Serialize;
use towergate_core::{GatewayError, chat::ChatMessage};

/// A message as chat templates see it.
#[derive(Serialize)]
struct TemplateMessage<'a> {
    role: &'a str,
    content: String,
}

/// Renders a conversation into the prompt the model was trained on.
#[derive(Debug)]
pub(crate) struct ChatTemplate {
    /// The Jinja source, if the model has a usable one.
    source: Option<String>,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    /// The template `source` from the model's metadata; falls back to
    /// ChatML when there is none or it fails on a plain conversation.
    pub(crate) fn new(source: Option<String>, bos_token: String, eos_token: String) -> Self {
        let mut template = Self {
            source,
            bos_token,
            eos_token,
        };
        let probe = [ChatMessage::text(towergate_core::chat::Role::User, "Hi")];
        if template.source.is_some()
            && let Err(error) = template.render(&probe)
        {
            tracing::warn!(%error, "the model's chat template fails; using ChatML instead");
            template.source = None;
        }
        template
    }

    /// The prompt for `messages`, ending where the assistant's turn begins.
    pub(crate) fn render(&self, messages: &[ChatMessage]) -> Result<String, GatewayError> {
        let Some(source) = &self.source else {
            return Ok(chatml(messages));
        };
        let messages: Vec<TemplateMessage<'_>> = messages
            .iter()
            .map(|message| TemplateMessage {
                role: message.role.as_str(),
                content: message.text_content().unwrap_or_default(),
            })
            .collect();
        let mut env = Environment::new();
        env.add_function("raise_exception", |message: String| -> Result<String, _> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
        });
        env.render_str(
            source,
            context! {
                messages => messages,
                add_generation_prompt => true,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            },
        )
        .map_err(|e| {
            GatewayError::invalid(format!(
                "the model's chat template refused the messages: {e}"
            ))
            .with_param("messages")
        })
    }
}

/// Renders `messages` as ChatML and opens the assistant's turn:
/// `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then
/// `<|im_start|>assistant\n`.
pub(crate) fn chatml(messages: &[ChatMessage]) -> String {
    let mut prompt = String::new();
    for message in messages {
        prompt.push_str("<|im_start|>");
        prompt.push_str(message.role.as_str());
        prompt.push('\n');
        prompt.push_str(&message.text_content().unwrap_or_default());
        prompt.push_str("<|im_end|>\n");
    }
    prompt.push_str("<|im_start|>assistant\n");
    prompt
}

#[cfg(test)]
mod tests {
    use towergate_core::chat::Role;

    use super::*;

    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are SmolLM<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    fn template(source: Option<&str>) -> ChatTemplate {
        ChatTemplate::new(source.map(Into::into), "<s>".into(), "</s>".into())
    }

    #[test]
    fn chatml_renders_each_message_and_opens_the_assistant_turn() {
        let messages = [
            ChatMessage::text(Role::System, "Be brief."),
            ChatMessage::text(Role::User, "Hi"),
        ];
        let expected = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
        assert_eq!(chatml(&messages), expected);
        assert_eq!(template(None).render(&messages).unwrap(), expected);
        // The model's own template agrees when a system message is given.
        assert_eq!(template(Some(SMOLLM2)).render(&messages).unwrap(), expected);
    }

    #[test]
    fn the_models_template_adds_its_default_system_message() {
        let messages = [ChatMessage::text(Role::User, "Hi")];
        assert_eq!(
            template(Some(SMOLLM2)).render(&messages).unwrap(),
            "<|im_start|>system\nYou are SmolLM<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn a_broken_template_falls_back_to_chatml() {
        let messages = [ChatMessage::text(Role::User, "Hi")];
        let broken = template(Some("{{ raise_exception('no') }}"));
        assert_eq!(broken.render(&messages).unwrap(), chatml(&messages));
        let unparsable = template(Some("{% for %}"));
        assert_eq!(unparsable.render(&messages).unwrap(), chatml(&messages));
    }

    #[test]
    fn bos_and_eos_tokens_are_available_to_templates() {
        let messages = [ChatMessage::text(Role::User, "Hi")];
        let source =
            "{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}";
        assert_eq!(
            template(Some(source)).render(&messages).unwrap(),
            "<s>Hi</s>"
        );
    }
}
