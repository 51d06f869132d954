use std::{collections::HashMap, fmt};

use tower::util::BoxCloneSyncService;
use tower_service::Service;
use towergate_core::{EndpointInfo, GatewayError, GatewayRequest, GatewayResponse};

/// The type-erased service behind one endpoint.
pub type BoxEndpoint = BoxCloneSyncService<GatewayRequest, GatewayResponse, GatewayError>;

/// One name in the table: what it is, and the service that answers it.
#[derive(Clone)]
pub struct Endpoint {
    info: EndpointInfo,
    service: BoxEndpoint,
}

impl Endpoint {
    /// What clients are told about this endpoint.
    pub fn info(&self) -> &EndpointInfo {
        &self.info
    }

    /// The service that answers it.
    pub fn service(&self) -> &BoxEndpoint {
        &self.service
    }
}

/// Endpoint and route names and their services, in the order they were added.
#[derive(Clone, Default)]
pub struct EndpointTable {
    entries: Vec<Endpoint>,
    by_name: HashMap<String, usize>,
}

impl EndpointTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the endpoint named by `info`.
    pub fn insert<S>(&mut self, info: EndpointInfo, service: S)
    where
        S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        let endpoint = Endpoint {
            service: BoxCloneSyncService::new(service),
            info,
        };
        match self.by_name.get(&endpoint.info.name) {
            Some(&at) => self.entries[at] = endpoint,
            None => {
                self.by_name
                    .insert(endpoint.info.name.clone(), self.entries.len());
                self.entries.push(endpoint);
            }
        }
    }

    /// Adds (or replaces) an endpoint, builder style.
    pub fn with_endpoint<S>(mut self, info: EndpointInfo, service: S) -> Self
    where
        S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.insert(info, service);
        self
    }

    /// The endpoint called `name`.
    pub fn get(&self, name: &str) -> Option<&Endpoint> {
        self.by_name.get(name).map(|&at| &self.entries[at])
    }

    /// Every endpoint, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &Endpoint> {
        self.entries.iter()
    }

    /// How many names the table holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Debug for EndpointTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| &e.info.name))
            .finish()
    }
}
