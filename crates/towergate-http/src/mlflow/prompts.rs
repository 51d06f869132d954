//! `GET /api/2.0/prompts/` and `GET /api/2.0/prompts/{name}`.

use http::{HeaderMap, Response};
use tower_service::Service;
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, RequestId};

use super::Settings;
use crate::{
    body::ResponseBody,
    listing,
    reply::{encode, json_response},
};

/// Every template, as `{"prompts": [...]}`. The caller must be one the
/// stack would let list endpoints (with auth on: any valid key).
pub(super) async fn list<S>(
    inner: S,
    settings: &Settings,
    headers: HeaderMap,
    request_id: &RequestId,
) -> Result<Response<ResponseBody>, GatewayError>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>,
{
    listing::fetch(inner, headers, request_id, None).await?;
    let prompts = settings
        .prompts
        .as_ref()
        .map_or_else(|| serde_json::json!([]), |catalog| catalog.list());
    Ok(json_response(encode(
        &serde_json::json!({ "prompts": prompts }),
    )?))
}

/// The template called `name`; 404 when there is none.
pub(super) async fn one<S>(
    inner: S,
    settings: &Settings,
    headers: HeaderMap,
    request_id: &RequestId,
    name: &str,
) -> Result<Response<ResponseBody>, GatewayError>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>,
{
    listing::fetch(inner, headers, request_id, None).await?;
    let found = settings
        .prompts
        .as_ref()
        .and_then(|catalog| catalog.get(name));
    match found {
        Some(prompt) => Ok(json_response(encode(&prompt)?)),
        None => Err(GatewayError::not_found(format!(
            "no prompt template named `{name}`"
        ))),
    }
}
