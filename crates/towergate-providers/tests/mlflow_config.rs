//! `from_mlflow`: MLflow's provider config keys, and the errors that name them.

#![allow(clippy::unwrap_used)]

mod common;

use common::client;
use serde_json::{Map, Value, json};
use towergate_providers::{ProviderConfigError, from_mlflow, provider_names, unknown_config_keys};

fn build(provider: &str, value: Value) -> Result<(), ProviderConfigError> {
    let config: Map<String, Value> = value.as_object().unwrap().clone();
    from_mlflow(provider, "some-model", &config, &client()).map(drop)
}

fn refusal(provider: &str, value: Value) -> ProviderConfigError {
    build(provider, value).unwrap_err()
}

#[test]
fn openai_needs_its_key() {
    let error = refusal("openai", json!({}));
    assert_eq!(
        error.to_string(),
        "provider `openai`: missing `openai_api_key`"
    );
    assert_eq!(error.key(), Some("openai_api_key"));
}

#[test]
fn openai_api_type_must_be_known() {
    let error = refusal(
        "openai",
        json!({"openai_api_key": "k", "openai_api_type": "google"}),
    );
    assert!(
        error
            .to_string()
            .contains("`openai_api_type` must be one of openai, azure, azuread"),
        "{error}"
    );
    assert_eq!(error.key(), Some("openai_api_type"));
}

#[test]
fn azure_needs_base_deployment_and_version() {
    let base = json!({
        "openai_api_key": "k",
        "openai_api_type": "azure",
        "openai_api_base": "https://r.openai.azure.com",
        "openai_deployment_name": "d",
        "openai_api_version": "2024-06-01"
    });
    build("openai", base.clone()).unwrap();
    for key in [
        "openai_api_base",
        "openai_deployment_name",
        "openai_api_version",
    ] {
        let mut config = base.clone();
        config.as_object_mut().unwrap().remove(key);
        let error = refusal("openai", config);
        assert_eq!(
            error.to_string(),
            format!("provider `openai`: missing `{key}`")
        );
        assert_eq!(error.key(), Some(key));
    }
}

#[test]
fn deployment_and_organization_belong_to_their_api_type() {
    let error = refusal(
        "openai",
        json!({"openai_api_key": "k", "openai_deployment_name": "d"}),
    );
    assert_eq!(error.key(), Some("openai_deployment_name"));
    let error = refusal(
        "openai",
        json!({
            "openai_api_key": "k", "openai_api_type": "azure", "openai_organization": "o",
            "openai_api_base": "https://r", "openai_deployment_name": "d", "openai_api_version": "v"
        }),
    );
    assert_eq!(error.key(), Some("openai_organization"));
}

#[test]
fn a_misspelt_key_is_ignored_and_named_by_unknown_config_keys() {
    let config = json!({"openai_api_key": "k", "openai_api_bsae": "x", "temperature": 0});
    build("openai", config.clone()).unwrap();
    assert_eq!(
        unknown_config_keys("openai", config.as_object().unwrap()),
        ["openai_api_bsae", "temperature"]
    );
}

#[test]
fn unknown_config_keys_knows_each_providers_keys() {
    let unknown =
        |provider: &str, value: Value| unknown_config_keys(provider, value.as_object().unwrap());
    let openai = json!({
        "openai_api_key": "k", "openai_api_type": "azure", "openai_api_base": "https://r",
        "openai_api_version": "v", "openai_deployment_name": "d", "openai_organization": "o",
        "api_base": "https://r"
    });
    assert!(unknown("openai", openai).is_empty());
    for provider in ["groq", "deepseek", "xai", "openrouter", "ollama"] {
        let config = json!({"api_key": "k", "api_base": "https://r", "openai_api_key": "k"});
        assert_eq!(unknown(provider, config), ["openai_api_key"], "{provider}");
    }
    assert_eq!(
        unknown(
            "togetherai",
            json!({"togetherai_api_key": "k", "api_key": "k"})
        ),
        ["api_key"]
    );
    assert_eq!(
        unknown(
            "databricks",
            json!({"host": "h", "token": "t", "client_id": "i", "client_secret": "s", "region": "x"})
        ),
        ["region"]
    );
    // Nothing to say about a provider that cannot be built.
    assert!(unknown("ai21labs", json!({"anything": 1})).is_empty());
    assert!(unknown("openia", json!({"anything": 1})).is_empty());
}

#[test]
fn base_urls_must_be_http() {
    let error = refusal(
        "openai",
        json!({"openai_api_key": "k", "openai_api_base": "ftp://x/v1"}),
    );
    assert_eq!(error.key(), Some("openai_api_base"));
    let error = refusal("groq", json!({"api_key": "k", "api_base": "not a url"}));
    assert_eq!(error.key(), Some("api_base"));
}

#[test]
fn a_key_that_cannot_be_a_header_is_refused_without_showing_it() {
    let error = refusal("openai", json!({"openai_api_key": "sk-abc\nevil"}));
    assert_eq!(error.key(), Some("openai_api_key"));
    assert!(!error.to_string().contains("sk-abc"), "{error}");
}

#[test]
fn keys_must_be_text() {
    let error = refusal("groq", json!({"api_key": ["k"]}));
    assert_eq!(
        error.to_string(),
        "provider `groq`: `api_key` must be a string"
    );
}

#[test]
fn compatible_providers_need_their_keys() {
    for provider in ["groq", "deepseek", "xai", "openrouter"] {
        let error = refusal(provider, json!({}));
        assert_eq!(
            error.to_string(),
            format!("provider `{provider}`: missing `api_key`")
        );
        build(provider, json!({"api_key": "k"})).unwrap();
    }
    assert_eq!(
        refusal("togetherai", json!({})).key(),
        Some("togetherai_api_key")
    );
    build("ollama", json!({})).unwrap();
    assert_eq!(
        refusal("databricks", json!({"host": "h"})).key(),
        Some("token")
    );
    assert_eq!(
        refusal("databricks", json!({"token": "t"})).key(),
        Some("host")
    );
    build(
        "databricks",
        json!({"host": "adb-1.azuredatabricks.net", "token": "t"}),
    )
    .unwrap();
    // MLflow's older name, with its own keys, reaches the same wire.
    assert_eq!(
        refusal(
            "databricks-model-serving",
            json!({"databricks_workspace_url": "h"})
        )
        .key(),
        Some("databricks_api_token")
    );
    assert_eq!(
        refusal(
            "databricks-model-serving",
            json!({"databricks_api_token": "t"})
        )
        .key(),
        Some("databricks_workspace_url")
    );
    build(
        "databricks-model-serving",
        json!({"databricks_workspace_url": "https://adb-1.azuredatabricks.net",
               "databricks_api_token": "t"}),
    )
    .unwrap();
}

#[test]
fn providers_without_an_adapter_yet_say_so() {
    for provider in ["ai21labs", "mosaicml", "palm"] {
        assert!(
            refusal(provider, json!({}))
                .to_string()
                .contains("is not supported yet")
        );
    }
}

#[test]
fn unknown_providers_are_named() {
    let error = refusal("openia", json!({}));
    assert!(
        error.to_string().starts_with("unknown provider `openia`"),
        "{error}"
    );
}

#[test]
fn provider_names_lists_what_is_supported() {
    let names = provider_names();
    for name in [
        "openai",
        "groq",
        "deepseek",
        "xai",
        "openrouter",
        "ollama",
        "togetherai",
        "databricks",
        "databricks-model-serving",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    for name in ["bedrock", "amazon-bedrock"] {
        assert_eq!(names.contains(&name), cfg!(feature = "bedrock"), "{name}");
    }
    assert!(!names.contains(&"palm"));
}
