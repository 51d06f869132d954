//! `GET /api/2.0/endpoints/` and `GET /api/2.0/endpoints/{name}` in MLflow's JSON.

use http::Response;
use serde::Serialize;
use towergate_core::{EndpointInfo, EndpointKind, GatewayError, RateLimitInfo};

use crate::{
    body::ResponseBody,
    reply::{encode, json_response},
};

/// One endpoint as MLflow describes it.
#[derive(Serialize)]
struct Endpoint<'a> {
    name: &'a str,
    endpoint_type: &'static str,
    model: Model<'a>,
    endpoint_url: String,
    limit: Option<Limit<'a>>,
}

#[derive(Serialize)]
struct Model<'a> {
    name: Option<&'a str>,
    provider: Option<&'a str>,
}

#[derive(Serialize)]
struct Limit<'a> {
    calls: u64,
    /// MLflow's per-key limits are not configurable here: always `null`.
    key: Option<&'a str>,
    renewal_period: &'a str,
}

#[derive(Serialize)]
struct Page<'a> {
    endpoints: Vec<Endpoint<'a>>,
    /// `null` on the last page, as MLflow writes it.
    next_page_token: Option<String>,
}

impl<'a> Endpoint<'a> {
    fn of(info: &'a EndpointInfo) -> Self {
        Self {
            name: &info.name,
            endpoint_type: info.endpoint_type.as_str(),
            model: Model {
                name: info.model.as_deref(),
                provider: info.provider.as_deref(),
            },
            endpoint_url: format!("/gateway/{}/invocations", info.name),
            limit: info.limit.as_ref().map(Limit::of),
        }
    }
}

impl<'a> Limit<'a> {
    fn of(limit: &'a RateLimitInfo) -> Self {
        Self {
            calls: limit.calls,
            key: None,
            renewal_period: &limit.renewal_period,
        }
    }
}

fn listed(all: &[EndpointInfo]) -> impl Iterator<Item = &EndpointInfo> {
    all.iter()
        .filter(|info| info.kind == EndpointKind::Endpoint)
}

/// The offset a `page_token` query parameter stands for (0 when absent).
///
/// The token is the decimal offset of the page's first endpoint; clients
/// pass back the `next_page_token` they were given.
pub(super) fn page_offset(query: Option<&str>) -> Result<usize, GatewayError> {
    let token = query
        .into_iter()
        .flat_map(|query| query.split('&'))
        .find_map(|pair| pair.strip_prefix("page_token="));
    match token {
        None | Some("") => Ok(0),
        Some(token) => token.parse().map_err(|_| {
            GatewayError::invalid(
                "invalid `page_token`: pass the `next_page_token` of an earlier page",
            )
            .with_param("page_token")
        }),
    }
}

/// The page of endpoints (routes left out) starting at `offset`.
pub(super) fn page(
    all: &[EndpointInfo],
    offset: usize,
    size: usize,
) -> Result<Response<ResponseBody>, GatewayError> {
    let total = listed(all).count();
    let end = offset.saturating_add(size);
    let page = Page {
        endpoints: listed(all)
            .skip(offset)
            .take(size)
            .map(Endpoint::of)
            .collect(),
        next_page_token: (end < total).then(|| end.to_string()),
    };
    Ok(json_response(encode(&page)?))
}

/// The endpoint called `name`; 404 for a route or an unknown name, as MLflow.
pub(super) fn one(
    all: &[EndpointInfo],
    name: &str,
) -> Result<Response<ResponseBody>, GatewayError> {
    let Some(info) = listed(all).find(|info| info.name == name) else {
        return Err(GatewayError::not_found(format!(
            "The endpoint '{name}' is not present or active on the server. \
             Please verify the endpoint name."
        )));
    };
    Ok(json_response(encode(&Endpoint::of(info))?))
}
