//! `GET /v1/models`: the endpoints and routes the caller may use, as OpenAI models.

use http::Response;
use serde::Serialize;
use towergate_core::{EndpointInfo, GatewayError};

use crate::{
    body::ResponseBody,
    reply::{encode, json_response},
};

#[derive(Serialize)]
struct ModelList<'a> {
    object: &'static str,
    data: Vec<Model<'a>>,
}

#[derive(Serialize)]
struct Model<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    owned_by: &'a str,
}

pub(super) fn respond(endpoints: &[EndpointInfo]) -> Result<Response<ResponseBody>, GatewayError> {
    let list = ModelList {
        object: "list",
        data: endpoints
            .iter()
            .map(|endpoint| Model {
                id: &endpoint.name,
                object: "model",
                created: 0,
                owned_by: endpoint.provider.as_deref().unwrap_or("towergate"),
            })
            .collect(),
    };
    Ok(json_response(encode(&list)?))
}
