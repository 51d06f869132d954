//! Rendering one version with a caller's variables.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use minijinja::{
    ErrorKind as TemplateErrorKind, Value,
    value::{Enumerator, Object, ObjectExt},
};
use towergate_core::{Extra, GatewayError, chat::ChatMessage};

use crate::{TemplateVersion, layer::VARIABLES_FIELD};

impl TemplateVersion {
    /// Renders the messages with `variables`, the caller's
    /// `prompt_variables` object.
    ///
    /// Each message is rendered on its own into the text of one typed
    /// message, so a value is always data: it can neither add a message nor
    /// run as template code. Errors are 400s that name the template and
    /// version: a variable the messages need that `variables` lacks (named,
    /// with param `prompt_variables.<name>`), variables the version does not
    /// use (named; a typo, most often), a template that ran out of fuel, or
    /// a value of the wrong shape for the template's code.
    ///
    /// ```
    /// use towergate_template::{PromptLibrary, PromptSpec};
    ///
    /// let spec: PromptSpec = serde_json::from_value(serde_json::json!({
    ///     "name": "greet",
    ///     "versions": [{"version": 1, "messages": [
    ///         {"role": "system", "content": "Greet {{ name }}."}
    ///     ]}]
    /// })).unwrap();
    /// let library = PromptLibrary::new([spec]).unwrap();
    /// let version = library.get("greet").unwrap().latest();
    ///
    /// let variables = serde_json::json!({"name": "{{ secrets }}"});
    /// let messages = version.render(variables.as_object().unwrap().clone()).unwrap();
    /// assert_eq!(messages[0].text_content().as_deref(), Some("Greet {{ secrets }}."));
    ///
    /// let missing = version.render(Default::default()).unwrap_err();
    /// assert_eq!(missing.param(), Some("prompt_variables.name"));
    /// ```
    pub fn render(&self, variables: Extra) -> Result<Vec<ChatMessage>, GatewayError> {
        self.refuse_unused(&variables)?;
        let context = Arc::new(Variables::new(variables, Arc::clone(&self.inner.variables)));
        let root = Value::from_dyn_object(Arc::clone(&context));
        let mut messages = Vec::with_capacity(self.inner.messages.len());
        for message in &self.inner.messages {
            let template = self
                .inner
                .env
                .get_template(&message.template)
                .map_err(|error| {
                    GatewayError::internal(format!(
                        "template `{}` is not compiled: {error}",
                        self.choice()
                    ))
                })?;
            let text = template
                .render(&root)
                .map_err(|error| self.render_error(&error, &context))?;
            messages.push(ChatMessage::text(message.spec.role, text));
        }
        Ok(messages)
    }

    /// Refuses variables the version does not use.
    fn refuse_unused(&self, variables: &Extra) -> Result<(), GatewayError> {
        let used = self.variables();
        let unused: Vec<&str> = variables
            .keys()
            .filter(|key| used.binary_search(*key).is_err())
            .map(String::as_str)
            .collect();
        let Some(first) = unused.first() else {
            return Ok(());
        };
        let uses = if used.is_empty() {
            "it uses none".to_owned()
        } else {
            format!("it uses `{}`", used.join("`, `"))
        };
        Err(GatewayError::invalid(format!(
            "unknown prompt variable{} `{}` for template `{}` ({uses})",
            if unused.len() == 1 { "" } else { "s" },
            unused.join("`, `"),
            self.choice()
        ))
        .with_param(format!("{VARIABLES_FIELD}.{first}")))
    }

    fn render_error(&self, error: &minijinja::Error, context: &Variables) -> GatewayError {
        let choice = self.choice();
        match error.kind() {
            TemplateErrorKind::OutOfFuel => GatewayError::invalid(format!(
                "template `{choice}` ran out of fuel: a message may run at most {} instructions",
                self.inner.env.fuel().unwrap_or_default()
            ))
            .with_param(VARIABLES_FIELD),
            TemplateErrorKind::UndefinedError => match context.last_missing() {
                Some(variable) => GatewayError::invalid(format!(
                    "missing prompt variable `{variable}` for template `{choice}`"
                ))
                .with_param(format!("{VARIABLES_FIELD}.{variable}")),
                None => GatewayError::invalid(format!(
                    "template `{choice}` met an undefined value: {error}"
                ))
                .with_param(VARIABLES_FIELD),
            },
            _ => GatewayError::invalid(format!("template `{choice}` failed to render: {error}"))
                .with_param(VARIABLES_FIELD),
        }
    }
}

/// The caller's variables as the template's context: it remembers the
/// last variable the template asked for and did not find, to name it.
#[derive(Debug)]
struct Variables {
    values: BTreeMap<String, Value>,
    /// The variables the version uses, sorted; only these count as missing
    /// (other names are globals such as `range`, found after the context).
    used: Arc<[String]>,
    missing: Mutex<Option<String>>,
}

impl Variables {
    fn new(values: Extra, used: Arc<[String]>) -> Self {
        Self {
            values: values
                .into_iter()
                .map(|(name, value)| (name, Value::from_serialize(value)))
                .collect(),
            used,
            missing: Mutex::new(None),
        }
    }

    fn last_missing(&self) -> Option<String> {
        self.missing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl Object for Variables {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        if let Some(value) = self.values.get(name) {
            return Some(value.clone());
        }
        if self
            .used
            .binary_search_by(|used| used.as_str().cmp(name))
            .is_ok()
        {
            *self
                .missing
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(name.to_owned());
        }
        None
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| {
            Box::new(this.values.keys().map(|key| Value::from(key.as_str())))
        })
    }
}
