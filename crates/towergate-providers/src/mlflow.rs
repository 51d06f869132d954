//! Providers built from an MLflow AI Gateway `model` block.
//!
//! [`from_mlflow`] takes the block's `provider`, `name` and `config` (with
//! `$VAR`s already resolved) and returns a boxed provider service. The
//! config keys are MLflow's own, so an MLflow `config.yaml` works unchanged;
//! every provider also takes `api_base`, which overrides its base URL.
//! Keys a provider does not read are ignored, as MLflow ignores them;
//! [`unknown_config_keys`] lists them, so that the caller can warn.
//!
//! | provider | keys |
//! |---|---|
//! | `openai` | `openai_api_key`, `openai_api_type` (`openai`, `azure`, `azuread`), `openai_api_base`, `openai_api_version`, `openai_deployment_name`, `openai_organization` |
//! | `groq`, `deepseek`, `xai`, `openrouter` | `api_key`, `api_base` |
//! | `ollama` | `api_key` (optional), `api_base` |
//! | `togetherai` | `togetherai_api_key`, `api_base` |
//! | `databricks` | `host` (the workspace URL) or `api_base`, `token` |
//! | `gemini` | `gemini_api_key`, `gemini_api_base` |
//! | `huggingface-text-generation-inference` | `hf_server_url` |
//! | `mlflow-model-serving` | `model_server_url` |
//! | `anthropic` | `anthropic_api_key`, `anthropic_version` (default `2023-06-01`), `anthropic_api_base` |
//! | `mistral` | `mistral_api_key`, `mistral_api_base` |
//! | `cohere` | `cohere_api_key`, `api_base` |
//!
//! ```
//! use serde_json::json;
//! use towergate_providers::{HttpClient, from_mlflow, unknown_config_keys};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = HttpClient::new()?;
//! let config = json!({"api_key": "gsk-test", "api_base": "http://127.0.0.1:9000/v1"});
//! let provider = from_mlflow("groq", "llama-3.1-8b-instant", config.as_object().unwrap(), &client)?;
//! # drop(provider);
//!
//! let error = from_mlflow("openai", "gpt-4o-mini", &Default::default(), &client).unwrap_err();
//! assert_eq!(error.to_string(), "provider `openai`: missing `openai_api_key`");
//! assert_eq!(error.key(), Some("openai_api_key"));
//!
//! let config = json!({"openai_api_key": "sk-test", "openai_api_bsae": "http://127.0.0.1:9000/v1"});
//! let config = config.as_object().unwrap();
//! assert!(from_mlflow("openai", "gpt-4o-mini", config, &client).is_ok());
//! assert_eq!(unknown_config_keys("openai", config), ["openai_api_bsae"]);
//! # Ok(())
//! # }
//! ```

use serde_json::{Map, Value};
use tower::util::BoxCloneSyncService;
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};

use crate::{
    HttpClient, ProviderConfigError,
    openai::{Compatible, OpenAi, OpenAiBuilder, check_base_url},
};

/// Any provider, boxed: what [`from_mlflow`] returns and the router holds.
pub type BoxProvider = BoxCloneSyncService<GatewayRequest, GatewayResponse, GatewayError>;

/// The MLflow provider names [`from_mlflow`] can build.
const SUPPORTED: &[&str] = &[
    "openai",
    "groq",
    "deepseek",
    "xai",
    "openrouter",
    "ollama",
    "togetherai",
    "databricks",
    "databricks-model-serving",
    #[cfg(feature = "gemini")]
    "gemini",
    #[cfg(feature = "tgi")]
    "huggingface-text-generation-inference",
    #[cfg(feature = "mlflow-serving")]
    "mlflow-model-serving",
    #[cfg(feature = "anthropic")]
    "anthropic",
    #[cfg(feature = "mistral")]
    "mistral",
    #[cfg(feature = "cohere")]
    "cohere",
    #[cfg(feature = "bedrock")]
    "bedrock",
    #[cfg(feature = "bedrock")]
    "amazon-bedrock",
];

/// Provider names MLflow (or towergate's config) knows that have no adapter here yet.
const NOT_YET: &[&str] = &[
    #[cfg(not(feature = "anthropic"))]
    "anthropic",
    #[cfg(not(feature = "gemini"))]
    "gemini",
    "vertex_ai",
    #[cfg(not(feature = "cohere"))]
    "cohere",
    #[cfg(not(feature = "mistral"))]
    "mistral",
    #[cfg(not(feature = "bedrock"))]
    "bedrock",
    #[cfg(not(feature = "bedrock"))]
    "amazon-bedrock",
    #[cfg(not(feature = "tgi"))]
    "huggingface-text-generation-inference",
    #[cfg(not(feature = "mlflow-serving"))]
    "mlflow-model-serving",
    "ai21labs",
    "mosaicml",
    "palm",
    "litellm",
    "local",
    "mock",
];

/// The provider names [`from_mlflow`] supports, as MLflow spells them.
pub fn provider_names() -> &'static [&'static str] {
    SUPPORTED
}

/// The `config` keys each provider [`from_mlflow`] builds reads.
fn config_keys(provider: &str) -> Option<&'static [&'static str]> {
    Some(match provider {
        "openai" => OPENAI_KEYS,
        "groq" | "deepseek" | "xai" | "openrouter" | "ollama" => COMPATIBLE_KEYS,
        "togetherai" => TOGETHERAI_KEYS,
        "databricks" => DATABRICKS_KEYS,
        "databricks-model-serving" => DATABRICKS_MODEL_SERVING_KEYS,
        #[cfg(feature = "gemini")]
        "gemini" => GEMINI_KEYS,
        #[cfg(feature = "tgi")]
        "huggingface-text-generation-inference" => TGI_KEYS,
        #[cfg(feature = "mlflow-serving")]
        "mlflow-model-serving" => MLFLOW_SERVING_KEYS,
        #[cfg(feature = "anthropic")]
        "anthropic" => ANTHROPIC_KEYS,
        #[cfg(feature = "mistral")]
        "mistral" => MISTRAL_KEYS,
        #[cfg(feature = "cohere")]
        "cohere" => COHERE_KEYS,
        #[cfg(feature = "bedrock")]
        "bedrock" | "amazon-bedrock" => BEDROCK_KEYS,
        _ => return None,
    })
}

/// The keys of `config` that `provider` does not read, in `config`'s
/// order: [`from_mlflow`] ignores them (as MLflow does), so a caller can
/// warn about them, a misspelt key most of all. Empty for a provider
/// [`from_mlflow`] cannot build.
///
/// ```
/// use serde_json::json;
/// use towergate_providers::unknown_config_keys;
///
/// let config = json!({"api_key": "k", "temperature": 0, "api_base": "http://127.0.0.1:1/v1"});
/// assert_eq!(unknown_config_keys("groq", config.as_object().unwrap()), ["temperature"]);
/// assert!(unknown_config_keys("no-such-provider", config.as_object().unwrap()).is_empty());
/// ```
pub fn unknown_config_keys(provider: &str, config: &Map<String, Value>) -> Vec<String> {
    let Some(known) = config_keys(provider) else {
        return Vec::new();
    };
    config
        .keys()
        .filter(|key| !known.contains(&key.as_str()))
        .cloned()
        .collect()
}

/// Builds the provider MLflow's `model: {provider, name, config}` block describes.
///
/// Errors name the provider and the key: "provider `openai`: missing
/// `openai_api_key`"; a provider MLflow has but towergate does not adapt
/// yet: "provider `anthropic` is not supported yet"; any other name:
/// "unknown provider `X`". Keys a provider does not read are ignored, as
/// MLflow ignores them; [`unknown_config_keys`] names them.
pub fn from_mlflow(
    provider: &str,
    model_name: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<BoxProvider, ProviderConfigError> {
    let service = match provider {
        "openai" => openai(model_name, &Keys::new("openai", config), client)?,
        "groq" => keyed(Compatible::Groq, model_name, config, client)?,
        "deepseek" => keyed(Compatible::DeepSeek, model_name, config, client)?,
        "xai" => keyed(Compatible::Xai, model_name, config, client)?,
        "openrouter" => keyed(Compatible::OpenRouter, model_name, config, client)?,
        "ollama" => ollama(model_name, config, client)?,
        "togetherai" => togetherai(model_name, config, client)?,
        "databricks" => databricks(model_name, config, client)?,
        "databricks-model-serving" => databricks_model_serving(model_name, config, client)?,
        #[cfg(feature = "gemini")]
        "gemini" => {
            return Ok(BoxCloneSyncService::new(gemini(
                model_name, config, client,
            )?));
        }
        #[cfg(feature = "tgi")]
        "huggingface-text-generation-inference" => {
            return Ok(BoxCloneSyncService::new(tgi(model_name, config, client)?));
        }
        #[cfg(feature = "mlflow-serving")]
        "mlflow-model-serving" => {
            let service = mlflow_serving(model_name, config, client)?;
            return Ok(BoxCloneSyncService::new(service));
        }
        #[cfg(feature = "anthropic")]
        "anthropic" => {
            return Ok(BoxCloneSyncService::new(anthropic(
                model_name, config, client,
            )?));
        }
        #[cfg(feature = "mistral")]
        "mistral" => {
            return Ok(BoxCloneSyncService::new(mistral(
                model_name, config, client,
            )?));
        }
        #[cfg(feature = "cohere")]
        "cohere" => {
            return Ok(BoxCloneSyncService::new(cohere(
                model_name, config, client,
            )?));
        }
        #[cfg(feature = "bedrock")]
        name @ ("bedrock" | "amazon-bedrock") => {
            return Ok(BoxCloneSyncService::new(bedrock(
                name, model_name, config, client,
            )?));
        }
        other if NOT_YET.contains(&other) => {
            return Err(ProviderConfigError::new(format!(
                "provider `{other}` is not supported yet"
            )));
        }
        other => {
            return Err(ProviderConfigError::new(format!(
                "unknown provider `{other}` (supported: {})",
                SUPPORTED.join(", ")
            )));
        }
    };
    Ok(BoxCloneSyncService::new(service))
}

const OPENAI_KEYS: &[&str] = &[
    "openai_api_key",
    "openai_api_type",
    "openai_api_base",
    "openai_api_version",
    "openai_deployment_name",
    "openai_organization",
    "api_base",
];

/// Groq, DeepSeek, xAI, OpenRouter and Ollama.
const COMPATIBLE_KEYS: &[&str] = &["api_key", "api_base"];

const TOGETHERAI_KEYS: &[&str] = &["togetherai_api_key", "api_base"];

const DATABRICKS_KEYS: &[&str] = &["host", "token", "client_id", "client_secret", "api_base"];

const DATABRICKS_MODEL_SERVING_KEYS: &[&str] = &[
    "databricks_workspace_url",
    "databricks_api_token",
    "api_base",
];

#[cfg(feature = "gemini")]
const GEMINI_KEYS: &[&str] = &["gemini_api_key", "gemini_api_base", "api_base"];

#[cfg(feature = "tgi")]
const TGI_KEYS: &[&str] = &["hf_server_url", "api_base"];

#[cfg(feature = "mlflow-serving")]
const MLFLOW_SERVING_KEYS: &[&str] = &["model_server_url", "api_base"];

/// Google Gemini: MLflow's `gemini_api_key`, and `gemini_api_base` or `api_base`.
#[cfg(feature = "gemini")]
fn gemini(
    model: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<crate::gemini::Gemini, ProviderConfigError> {
    let keys = Keys::new("gemini", config);
    let api_key = keys.required("gemini_api_key")?;
    let mut builder = crate::gemini::Gemini::builder(keys.model(model)?).api_key(api_key);
    let (base_key, api_base) = keys.base("gemini_api_base")?;
    if let Some(api_base) = api_base {
        builder = builder.api_base(api_base);
    }
    builder.build(client).map_err(|error| {
        let key = match error.key() {
            Some("api_base") => base_key,
            Some("api_key") => "gemini_api_key",
            Some(other) => other,
            None => "config",
        };
        keys.error(key, error.message())
    })
}

#[cfg(feature = "bedrock")]
const BEDROCK_KEYS: &[&str] = &["aws_config", "api_base"];

/// Amazon Bedrock: MLflow's `aws_config` (`aws_region`,
/// `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`), and
/// `api_base`. Without keys in `aws_config` (MLflow's region-only form),
/// the `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`
/// and `AWS_REGION` environment variables are read, as boto3 reads them.
#[cfg(feature = "bedrock")]
fn bedrock(
    provider: &str,
    model: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<crate::bedrock::Bedrock, ProviderConfigError> {
    let keys = Keys::new(provider, config);
    let aws = match config.get("aws_config") {
        Some(Value::Object(aws)) => Keys::new(provider, aws),
        Some(_) => return Err(keys.error("aws_config", "`aws_config` must be a mapping")),
        None => return Err(keys.missing("aws_config")),
    };
    if aws.optional("aws_role_arn")?.is_some() {
        return Err(keys.error(
            "aws_role_arn",
            "assuming a role (`aws_role_arn`) is not supported; give `aws_access_key_id` \
             and `aws_secret_access_key`",
        ));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let region = aws
        .optional("aws_region")?
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .ok_or_else(|| keys.missing("aws_region"))?;
    let id = aws.optional("aws_access_key_id")?;
    let secret = aws.optional("aws_secret_access_key")?;
    let (id, secret, token) = match (id, secret) {
        (Some(id), Some(secret)) => (id, secret, aws.optional("aws_session_token")?),
        (Some(_), None) => return Err(keys.missing("aws_secret_access_key")),
        (None, Some(_)) => return Err(keys.missing("aws_access_key_id")),
        (None, None) => (
            env("AWS_ACCESS_KEY_ID").ok_or_else(|| keys.missing("aws_access_key_id"))?,
            env("AWS_SECRET_ACCESS_KEY").ok_or_else(|| keys.missing("aws_secret_access_key"))?,
            env("AWS_SESSION_TOKEN"),
        ),
    };
    let mut builder = crate::bedrock::Bedrock::builder(keys.model(model)?)
        .region(region)
        .credentials(id, secret);
    if let Some(token) = token {
        builder = builder.session_token(token);
    }
    if let Some(api_base) = keys.optional("api_base")? {
        builder = builder.api_base(api_base);
    }
    builder
        .build(client)
        .map_err(|error| keys.error(error.key().unwrap_or("config"), error.message()))
}

/// Text Generation Inference: MLflow's `hf_server_url`, or `api_base`.
#[cfg(feature = "tgi")]
fn tgi(
    model: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<crate::tgi::Tgi, ProviderConfigError> {
    let keys = Keys::new("huggingface-text-generation-inference", config);
    let (base_key, server_url) = keys.base("hf_server_url")?;
    let server_url = server_url.ok_or_else(|| keys.missing("hf_server_url"))?;
    let mut builder = crate::tgi::Tgi::builder(server_url);
    if !model.trim().is_empty() {
        builder = builder.model(model);
    }
    builder
        .build(client)
        .map_err(|error| keys.error(base_key, error.message()))
}

/// A model served by MLflow: MLflow's `model_server_url`, or `api_base`.
#[cfg(feature = "mlflow-serving")]
fn mlflow_serving(
    model: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<crate::mlflow_serving::MlflowServing, ProviderConfigError> {
    let keys = Keys::new("mlflow-model-serving", config);
    let (base_key, server_url) = keys.base("model_server_url")?;
    let server_url = server_url.ok_or_else(|| keys.missing("model_server_url"))?;
    crate::mlflow_serving::MlflowServing::builder(server_url, keys.model(model)?)
        .build(client)
        .map_err(|error| keys.error(base_key, error.message()))
}

#[cfg(feature = "anthropic")]
const ANTHROPIC_KEYS: &[&str] = &[
    "anthropic_api_key",
    "anthropic_version",
    "anthropic_api_base",
    "api_base",
];

#[cfg(feature = "mistral")]
const MISTRAL_KEYS: &[&str] = &["mistral_api_key", "mistral_api_base", "api_base"];

#[cfg(feature = "cohere")]
const COHERE_KEYS: &[&str] = &["cohere_api_key", "api_base"];

/// Names MLflow's key in an error a provider's builder found.
#[cfg(any(feature = "anthropic", feature = "mistral", feature = "cohere"))]
fn renamed(
    keys: &Keys<'_>,
    error: &ProviderConfigError,
    rename: impl Fn(&str) -> &str,
) -> ProviderConfigError {
    let key = error.key().map(&rename).unwrap_or("config");
    keys.error(key, error.message())
}

/// Anthropic: MLflow's `anthropic_api_key` and `anthropic_version`, and
/// `anthropic_api_base` or `api_base`.
#[cfg(feature = "anthropic")]
fn anthropic(
    model: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<crate::anthropic::Anthropic, ProviderConfigError> {
    let keys = Keys::new("anthropic", config);
    let api_key = keys.required("anthropic_api_key")?;
    let mut builder = crate::anthropic::Anthropic::builder(keys.model(model)?).api_key(api_key);
    if let Some(version) = keys.optional("anthropic_version")? {
        builder = builder.version(version);
    }
    let (base_key, api_base) = keys.base("anthropic_api_base")?;
    if let Some(api_base) = api_base {
        builder = builder.api_base(api_base);
    }
    builder.build(client).map_err(|error| {
        renamed(&keys, &error, |key| match key {
            "api_base" => base_key,
            "api_key" => "anthropic_api_key",
            "version" => "anthropic_version",
            other => other,
        })
    })
}

/// Mistral: MLflow's `mistral_api_key`, and `mistral_api_base` or `api_base`.
#[cfg(feature = "mistral")]
fn mistral(
    model: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<crate::mistral::Mistral, ProviderConfigError> {
    let keys = Keys::new("mistral", config);
    let api_key = keys.required("mistral_api_key")?;
    let mut builder = crate::mistral::Mistral::builder(keys.model(model)?).api_key(api_key);
    let (base_key, api_base) = keys.base("mistral_api_base")?;
    if let Some(api_base) = api_base {
        builder = builder.api_base(api_base);
    }
    builder.build(client).map_err(|error| {
        renamed(&keys, &error, |key| match key {
            "api_base" => base_key,
            "api_key" => "mistral_api_key",
            other => other,
        })
    })
}

/// Cohere: MLflow's `cohere_api_key`, and `api_base`.
#[cfg(feature = "cohere")]
fn cohere(
    model: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<crate::cohere::Cohere, ProviderConfigError> {
    let keys = Keys::new("cohere", config);
    let api_key = keys.required("cohere_api_key")?;
    let mut builder = crate::cohere::Cohere::builder(keys.model(model)?).api_key(api_key);
    let (base_key, api_base) = keys.base("api_base")?;
    if let Some(api_base) = api_base {
        builder = builder.api_base(api_base);
    }
    builder.build(client).map_err(|error| {
        renamed(&keys, &error, |key| match key {
            "api_base" => base_key,
            "api_key" => "cohere_api_key",
            other => other,
        })
    })
}

fn openai(
    model: &str,
    keys: &Keys<'_>,
    client: &HttpClient,
) -> Result<OpenAi, ProviderConfigError> {
    let api_key = keys.required("openai_api_key")?;
    let api_type = keys
        .optional("openai_api_type")?
        .map(|t| t.to_ascii_lowercase());
    let (base_key, api_base) = keys.base("openai_api_base")?;
    let deployment = keys.optional("openai_deployment_name")?;
    let api_version = keys.optional("openai_api_version")?;
    let organization = keys.optional("openai_organization")?;

    let mut builder = match api_type.as_deref().unwrap_or("openai") {
        "openai" => {
            if deployment.is_some() {
                return Err(keys.error(
                    "openai_deployment_name",
                    "`openai_deployment_name` needs `openai_api_type` azure or azuread",
                ));
            }
            let mut builder = OpenAi::builder(keys.model(model)?).api_key(api_key);
            if let Some(organization) = organization {
                builder = builder.organization(organization);
            }
            builder
        }
        kind @ ("azure" | "azuread") => {
            if organization.is_some() {
                return Err(keys.error(
                    "openai_organization",
                    "`openai_organization` needs `openai_api_type` openai",
                ));
            }
            if api_base.is_none() {
                return Err(keys.missing("openai_api_base"));
            }
            let deployment = deployment.ok_or_else(|| keys.missing("openai_deployment_name"))?;
            let api_version = api_version.ok_or_else(|| keys.missing("openai_api_version"))?;
            let builder = OpenAi::builder(model).azure(deployment, api_version);
            if kind == "azure" {
                builder.api_key(api_key)
            } else {
                builder.azure_ad_token(api_key)
            }
        }
        other => {
            return Err(keys.error(
                "openai_api_type",
                format!("`openai_api_type` must be one of openai, azure, azuread (got `{other}`)"),
            ));
        }
    };
    if let Some(api_base) = api_base {
        builder = builder.api_base(api_base);
    }
    keys.build(builder, client, |key| match key {
        "api_base" => base_key,
        "api_key" => "openai_api_key",
        "organization" => "openai_organization",
        "deployment" => "openai_deployment_name",
        "api_version" => "openai_api_version",
        other => other,
    })
}

/// Groq, DeepSeek, xAI, OpenRouter: MLflow's `api_key` and `api_base`.
fn keyed(
    kind: Compatible,
    model: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<OpenAi, ProviderConfigError> {
    let keys = Keys::new(kind.name(), config);
    let api_key = keys.required("api_key")?;
    let builder = OpenAi::compatible(kind, keys.model(model)?).api_key(api_key);
    compatible_build(&keys, builder, "api_key", client)
}

fn ollama(
    model: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<OpenAi, ProviderConfigError> {
    let keys = Keys::new("ollama", config);
    let mut builder = OpenAi::compatible(Compatible::Ollama, keys.model(model)?);
    // MLflow's placeholder key "ollama" means no key at all.
    if let Some(api_key) = keys.optional("api_key")?.filter(|key| key != "ollama") {
        builder = builder.api_key(api_key);
    }
    compatible_build(&keys, builder, "api_key", client)
}

fn togetherai(
    model: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<OpenAi, ProviderConfigError> {
    let keys = Keys::new("togetherai", config);
    let api_key = keys.required("togetherai_api_key")?;
    let builder = OpenAi::compatible(Compatible::TogetherAi, keys.model(model)?).api_key(api_key);
    compatible_build(&keys, builder, "togetherai_api_key", client)
}

/// Databricks serving endpoints: MLflow's `host` and `token`.
fn databricks(
    model: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<OpenAi, ProviderConfigError> {
    let keys = Keys::new("databricks", config);
    for oauth in ["client_id", "client_secret"] {
        if keys.optional(oauth)?.is_some() {
            return Err(keys.error(
                oauth,
                format!("`{oauth}` (OAuth machine-to-machine) is not supported yet; use `token`"),
            ));
        }
    }
    serving_endpoints(model, &keys, "host", "token", client)
}

/// MLflow's older name for Databricks serving endpoints, with its keys
/// `databricks_workspace_url` and `databricks_api_token`; the same
/// OpenAI-compatible wire as `databricks`.
fn databricks_model_serving(
    model: &str,
    config: &Map<String, Value>,
    client: &HttpClient,
) -> Result<OpenAi, ProviderConfigError> {
    let keys = Keys::new("databricks-model-serving", config);
    serving_endpoints(
        model,
        &keys,
        "databricks_workspace_url",
        "databricks_api_token",
        client,
    )
}

/// A Databricks workspace's `/serving-endpoints`, from its URL under
/// `host_key` (or `api_base`) and the token under `token_key`.
fn serving_endpoints(
    model: &str,
    keys: &Keys<'_>,
    host_key: &'static str,
    token_key: &'static str,
    client: &HttpClient,
) -> Result<OpenAi, ProviderConfigError> {
    let token = keys.required(token_key)?;
    let mut builder = OpenAi::compatible(Compatible::Databricks, keys.model(model)?).api_key(token);
    if keys.optional("api_base")?.is_none() {
        let host = keys.optional(host_key)?.ok_or_else(|| {
            keys.error(
                host_key,
                format!("missing `{host_key}` (the workspace URL) or `api_base`"),
            )
        })?;
        let host = host.trim_end_matches('/');
        let base = if host.starts_with("https://") || host.starts_with("http://") {
            format!("{host}/serving-endpoints")
        } else {
            format!("https://{host}/serving-endpoints")
        };
        check_base_url(&base).map_err(|message| keys.error(host_key, message))?;
        builder = builder.api_base(base);
    }
    compatible_build(keys, builder, token_key, client)
}

fn compatible_build(
    keys: &Keys<'_>,
    mut builder: OpenAiBuilder,
    key_name: &'static str,
    client: &HttpClient,
) -> Result<OpenAi, ProviderConfigError> {
    let (base_key, api_base) = keys.base("api_base")?;
    if let Some(api_base) = api_base {
        builder = builder.api_base(api_base);
    }
    keys.build(builder, client, |key| match key {
        "api_base" => base_key,
        "api_key" => key_name,
        other => other,
    })
}

/// One provider's `config` map, read key by key.
struct Keys<'a> {
    provider: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> Keys<'a> {
    fn new(provider: &'a str, map: &'a Map<String, Value>) -> Self {
        Self { provider, map }
    }

    fn error(&self, key: &str, message: impl AsRef<str>) -> ProviderConfigError {
        ProviderConfigError::for_key(
            key,
            format!("provider `{}`: {}", self.provider, message.as_ref()),
        )
    }

    fn missing(&self, key: &str) -> ProviderConfigError {
        self.error(key, format!("missing `{key}`"))
    }

    /// A text value; numbers are taken as their text; null and "" are absent.
    fn optional(&self, key: &str) -> Result<Option<String>, ProviderConfigError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.trim().to_owned())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(_) => Err(self.error(key, format!("`{key}` must be a string"))),
        }
    }

    fn required(&self, key: &str) -> Result<String, ProviderConfigError> {
        self.optional(key)?.ok_or_else(|| self.missing(key))
    }

    /// The base URL and the key it came from: `api_base` wins over the
    /// provider's own key (`openai_api_base`).
    fn base(
        &self,
        own_key: &'static str,
    ) -> Result<(&'static str, Option<String>), ProviderConfigError> {
        for key in ["api_base", own_key] {
            if let Some(base) = self.optional(key)? {
                check_base_url(&base)
                    .map_err(|message| self.error(key, format!("`{key}`: {message}")))?;
                return Ok((key, Some(base)));
            }
        }
        Ok((own_key, None))
    }

    fn model<'m>(&self, model: &'m str) -> Result<&'m str, ProviderConfigError> {
        if model.trim().is_empty() {
            return Err(self.error("name", "missing the model `name`"));
        }
        Ok(model)
    }

    /// Builds, naming MLflow's key in any error the builder finds.
    fn build(
        &self,
        builder: OpenAiBuilder,
        client: &HttpClient,
        rename: impl Fn(&str) -> &str,
    ) -> Result<OpenAi, ProviderConfigError> {
        builder.build(client).map_err(|error| {
            let key = error.key().map(&rename).unwrap_or("config");
            self.error(key, error.message())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_provider_lists_its_keys() {
        for provider in SUPPORTED {
            let keys = config_keys(provider).unwrap_or_default();
            assert!(keys.contains(&"api_base"), "{provider}");
        }
        for provider in NOT_YET {
            assert!(config_keys(provider).is_none(), "{provider}");
        }
    }
}
