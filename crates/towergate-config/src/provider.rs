//! MLflow's spellings of its provider names.

/// The providers MLflow's config names (its `Provider` enum), as MLflow
/// spells them.
const MLFLOW_PROVIDERS: &[&str] = &[
    "openai",
    "anthropic",
    "cohere",
    "ai21labs",
    "mlflow-model-serving",
    "mosaicml",
    "huggingface-text-generation-inference",
    "palm",
    "gemini",
    "bedrock",
    "amazon-bedrock",
    "databricks-model-serving",
    "databricks",
    "mistral",
    "togetherai",
    "litellm",
];

/// MLflow's own spelling of `name`: MLflow reads its provider names in any
/// case and with `-` and `_` alike (`OpenAI`, `amazon_bedrock`). Any other
/// name is kept as written.
pub(crate) fn canonical_provider(name: &str) -> String {
    let folded = fold(name);
    MLFLOW_PROVIDERS
        .iter()
        .find(|known| fold(known) == folded)
        .map_or_else(|| name.to_owned(), |known| (*known).to_owned())
}

fn fold(name: &str) -> String {
    name.replace('-', "_").to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlflows_names_are_read_in_any_case_and_with_either_dash() {
        assert_eq!(canonical_provider("openai"), "openai");
        assert_eq!(canonical_provider("OpenAI"), "openai");
        assert_eq!(canonical_provider("amazon_bedrock"), "amazon-bedrock");
        assert_eq!(
            canonical_provider("HUGGINGFACE_TEXT_GENERATION_INFERENCE"),
            "huggingface-text-generation-inference"
        );
    }

    #[test]
    fn other_names_are_kept_as_written() {
        assert_eq!(canonical_provider("groq"), "groq");
        assert_eq!(canonical_provider("Mock"), "Mock");
        assert_eq!(canonical_provider("vertex_ai"), "vertex_ai");
        assert_eq!(canonical_provider(" openai"), " openai");
    }
}
