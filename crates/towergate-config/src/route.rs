//! `routes`: MLflow's traffic splits over endpoints.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
};

use serde_yaml_ng::{Mapping, Value};
use towergate_core::{EndpointInfo, EndpointKind, EndpointType};

use crate::{
    endpoint::{EXPECTED_TYPE, endpoint_type_named, endpoint_type_suggestion},
    loader::{Keys, Loader},
    names::{Declared, is_valid_name},
    number::whole_number,
    path::FieldPath,
};

/// The keys of one route. `route_type` is read apart, to refuse it.
const ROUTE_KEYS: Keys = Keys {
    known: &[
        "name",
        "task_type",
        "destinations",
        "routing_strategy",
        "route_type",
    ],
    planned: &[],
};

/// The keys of one destination.
const DESTINATION_KEYS: Keys = Keys {
    known: &["name", "traffic_percentage"],
    planned: &[],
};

/// What `destinations` looks like, for messages.
const EXPECTED_DESTINATIONS: &str = "a list of endpoints, each with `name` and `traffic_percentage`, the percentages summing to 100";

/// What a traffic percentage looks like, for messages.
const EXPECTED_PERCENTAGE: &str = "expected a whole number from 0 to 100";

/// How a route picks the endpoint for each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RoutingStrategy {
    /// MLflow's `TRAFFIC_SPLIT`: each request goes to one destination, at
    /// random, in proportion to the destinations' traffic percentages.
    TrafficSplit,
}

impl RoutingStrategy {
    /// MLflow's name for the strategy: `TRAFFIC_SPLIT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TrafficSplit => "TRAFFIC_SPLIT",
        }
    }
}

impl fmt::Display for RoutingStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of a route's destinations: an endpoint and its share of the traffic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    name: String,
    traffic_percentage: u8,
}

impl Destination {
    /// The endpoint's name (always an endpoint, never a route).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its share of the route's requests, from 0 to 100; a route's shares
    /// sum to 100.
    pub fn traffic_percentage(&self) -> u8 {
        self.traffic_percentage
    }
}

/// One route: a name clients call, whose requests are split among endpoints
/// that serve its task.
///
/// ```
/// use towergate_config::{Config, RoutingStrategy};
/// use towergate_core::{EndpointKind, EndpointType};
///
/// let yaml = "\
/// endpoints:
///   - name: chat
///     endpoint_type: llm/v1/chat
///     model: {provider: openai, name: gpt-4o-mini}
///   - name: chat-backup
///     endpoint_type: llm/v1/chat
///     model: {provider: openai, name: gpt-4o}
/// routes:
///   - name: chat-ab
///     task_type: llm/v1/chat
///     destinations:
///       - {name: chat, traffic_percentage: 80}
///       - {name: chat-backup, traffic_percentage: 20}
///     routing_strategy: TRAFFIC_SPLIT
/// ";
/// let config = Config::from_str_with_env(yaml, "gateway.yaml", |_| None).unwrap();
/// let route = config.route("chat-ab").unwrap();
/// assert_eq!(route.task_type(), EndpointType::Chat);
/// assert_eq!(route.routing_strategy(), RoutingStrategy::TrafficSplit);
/// let shares: Vec<(&str, u8)> = route
///     .destinations()
///     .iter()
///     .map(|destination| (destination.name(), destination.traffic_percentage()))
///     .collect();
/// assert_eq!(shares, [("chat", 80), ("chat-backup", 20)]);
/// assert_eq!(route.info().kind, EndpointKind::Route);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    name: String,
    task_type: EndpointType,
    destinations: Vec<Destination>,
    routing_strategy: RoutingStrategy,
}

impl RouteConfig {
    /// The name clients use (`[a-zA-Z0-9_.-]+`, unique among endpoints and
    /// routes).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The task it serves; every destination serves it too.
    pub fn task_type(&self) -> EndpointType {
        self.task_type
    }

    /// The endpoints it splits requests among, in file order (at least one).
    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }

    /// How it picks a destination.
    pub fn routing_strategy(&self) -> RoutingStrategy {
        self.routing_strategy
    }

    /// What clients are told about this route.
    pub fn info(&self) -> EndpointInfo {
        EndpointInfo {
            name: self.name.clone(),
            kind: EndpointKind::Route,
            endpoint_type: self.task_type,
            provider: None,
            model: None,
            limit: None,
        }
    }
}

/// The routes that loaded, and every name the file gives a route.
pub(crate) struct ParsedRoutes {
    pub(crate) routes: Vec<RouteConfig>,
    pub(crate) declared: Vec<Declared>,
}

/// What a destination may name.
struct Targets<'a> {
    /// Every endpoint and the task it serves, when the endpoints could be
    /// read at all.
    endpoints: Option<BTreeMap<&'a str, Option<EndpointType>>>,
    /// Every route's name.
    routes: BTreeSet<String>,
}

/// Reads `routes`, the value at `at`; `endpoints` are the endpoints the
/// file declares (`None` when `endpoints` itself could not be read).
pub(crate) fn parse_routes(
    loader: &mut Loader<'_>,
    value: &Value,
    at: &FieldPath,
    endpoints: Option<&[Declared]>,
) -> ParsedRoutes {
    let mut parsed = ParsedRoutes {
        routes: Vec::new(),
        declared: Vec::new(),
    };
    let items = match value {
        Value::Null => return parsed,
        Value::Sequence(items) => items,
        _ => {
            loader.error(
                at.clone(),
                "expected a list of routes, each with `name`, `task_type` and `destinations`",
            );
            return parsed;
        }
    };
    let targets = Targets {
        endpoints: endpoints.map(|declared| {
            declared
                .iter()
                .map(|entry| (entry.name.as_str(), entry.endpoint_type))
                .collect()
        }),
        routes: items
            .iter()
            .filter_map(|item| item.get("name")?.as_str().map(str::to_owned))
            .collect(),
    };
    for (index, item) in items.iter().enumerate() {
        let (declared, route) = parse_route(loader, item, &at.index(index), &targets);
        parsed.declared.extend(declared);
        parsed.routes.extend(route);
    }
    parsed
}

/// Reads one route: its name (if it has one) and the route if it has no
/// problem.
fn parse_route(
    loader: &mut Loader<'_>,
    item: &Value,
    at: &FieldPath,
    targets: &Targets<'_>,
) -> (Option<Declared>, Option<RouteConfig>) {
    let Value::Mapping(map) = item else {
        loader.error(
            at.clone(),
            "expected a route: a mapping with `name`, `task_type` and `destinations`",
        );
        return (None, None);
    };
    if legacy_entry(loader, map, at) {
        return (None, None);
    }
    let errors_before = loader.error_count();
    loader.check_keys(map, at, &ROUTE_KEYS);
    let name = loader.required_text(
        map,
        "name",
        at,
        "the route's name, made of letters, digits, `_`, `.` and `-`",
    );
    if let Some(name) = name.as_deref().filter(|name| !is_valid_name(name)) {
        loader.error(
            at.key("name"),
            format!(
                "`{name}` is not a valid route name: expected letters, digits, `_`, `.` and `-` only"
            ),
        );
    }
    let task_type = loader
        .required_text(map, "task_type", at, EXPECTED_TYPE)
        .and_then(|text| {
            let found = endpoint_type_named(&text);
            if found.is_none() {
                loader.error(
                    at.key("task_type"),
                    format!("`{text}` is not a task type: expected {EXPECTED_TYPE}"),
                );
            }
            found
        });
    let destinations = parse_destinations(loader, map, at, task_type, targets);
    let routing_strategy = parse_routing_strategy(loader, map, at);

    let declared = name.clone().map(|name| Declared {
        name,
        at: at.clone(),
        endpoint_type: task_type,
    });
    let route = match (name, task_type, destinations, routing_strategy) {
        (Some(name), Some(task_type), Some(destinations), Some(routing_strategy))
            if loader.error_count() == errors_before =>
        {
            Some(RouteConfig {
                name,
                task_type,
                destinations,
                routing_strategy,
            })
        }
        _ => None,
    };
    (declared, route)
}

/// An entry in MLflow's old format, where `routes` listed endpoints (with
/// `route_type` and `model`): an error with MLflow's hint. Returns whether
/// the entry is one, and so is not read as a route.
fn legacy_entry(loader: &mut Loader<'_>, map: &Mapping, at: &FieldPath) -> bool {
    let is_route = map.contains_key("task_type") || map.contains_key("destinations");
    if let Some(value) = map.get("route_type") {
        let message = if is_route {
            "the `route_type` key is not supported in the configuration file: a route names its task in `task_type`".to_owned()
        } else {
            format!(
                "the `route_type` key is not supported in the configuration file: in MLflow's old format `routes` listed endpoints; move this entry under `endpoints` and use {} instead",
                endpoint_type_suggestion(value)
            )
        };
        loader.key_error(at.key("route_type"), message);
        return !is_route;
    }
    if !is_route && (map.contains_key("model") || map.contains_key("endpoint_type")) {
        loader.error(
            at.clone(),
            "this entry is an endpoint (it has `model` or `endpoint_type`): `routes` holds traffic splits, each with `name`, `task_type` and `destinations`; move it under `endpoints`",
        );
        return true;
    }
    false
}

/// Reads `destinations`: endpoints serving `task_type`, whose percentages
/// sum to 100.
fn parse_destinations(
    loader: &mut Loader<'_>,
    route: &Mapping,
    route_at: &FieldPath,
    task_type: Option<EndpointType>,
    targets: &Targets<'_>,
) -> Option<Vec<Destination>> {
    let at = route_at.key("destinations");
    let items = match route.get("destinations") {
        None | Some(Value::Null) => {
            loader.missing(route, "destinations", route_at, EXPECTED_DESTINATIONS);
            return None;
        }
        Some(Value::Sequence(items)) if items.is_empty() => {
            loader.error(
                at,
                format!("`destinations` is empty: expected {EXPECTED_DESTINATIONS}"),
            );
            return None;
        }
        Some(Value::Sequence(items)) => items,
        Some(_) => {
            loader.error(at, format!("expected {EXPECTED_DESTINATIONS}"));
            return None;
        }
    };
    let mut destinations = Vec::with_capacity(items.len());
    let mut shares = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let (destination, share) =
            parse_destination(loader, item, &at.index(index), task_type, targets);
        destinations.extend(destination);
        shares.push(share);
    }
    // The sum is checked when every share could be read.
    let sum = shares.iter().try_fold(0_u32, |sum, share| {
        share.map(|share| sum + u32::from(share))
    });
    if let Some(sum) = sum.filter(|sum| *sum != 100) {
        loader.error(
            at,
            format!(
                "the destinations' traffic percentages sum to {sum}: for each route they must sum to 100"
            ),
        );
        return None;
    }
    (destinations.len() == items.len()).then_some(destinations)
}

/// Reads one destination; also returns its share when that could be read.
fn parse_destination(
    loader: &mut Loader<'_>,
    item: &Value,
    at: &FieldPath,
    task_type: Option<EndpointType>,
    targets: &Targets<'_>,
) -> (Option<Destination>, Option<u8>) {
    let Value::Mapping(map) = item else {
        loader.error(
            at.clone(),
            "expected a destination: a mapping with `name` (an endpoint) and `traffic_percentage`",
        );
        return (None, None);
    };
    loader.check_keys(map, at, &DESTINATION_KEYS);
    let name = loader
        .required_text(map, "name", at, "the name of one of the `endpoints`")
        .filter(|name| check_target(loader, name, &at.key("name"), task_type, targets));
    let share = parse_percentage(loader, map, at);
    let destination = name
        .zip(share)
        .map(|(name, traffic_percentage)| Destination {
            name,
            traffic_percentage,
        });
    (destination, share)
}

/// Whether `name` is an endpoint serving `task_type`; records why not.
fn check_target(
    loader: &mut Loader<'_>,
    name: &str,
    at: &FieldPath,
    task_type: Option<EndpointType>,
    targets: &Targets<'_>,
) -> bool {
    let Some(endpoints) = &targets.endpoints else {
        return true;
    };
    match endpoints.get(name) {
        Some(Some(served)) if task_type.is_some_and(|task_type| task_type != *served) => {
            let task_type = task_type.map_or("", EndpointType::as_str);
            loader.error(
                at.clone(),
                format!(
                    "endpoint `{name}` serves `{}`, but the route's `task_type` is `{task_type}`: every destination must serve the route's task type",
                    served.as_str()
                ),
            );
            false
        }
        Some(_) => true,
        None if targets.routes.contains(name) => {
            loader.error(
                at.clone(),
                format!(
                    "`{name}` is a route: a route's destinations must be endpoints, not routes"
                ),
            );
            false
        }
        None => {
            loader.error(
                at.clone(),
                format!("`{name}` is not an endpoint: expected the name of one of the `endpoints`"),
            );
            false
        }
    }
}

fn parse_percentage(loader: &mut Loader<'_>, map: &Mapping, at: &FieldPath) -> Option<u8> {
    let value = match map.get("traffic_percentage") {
        None | Some(Value::Null) => {
            loader.missing(
                map,
                "traffic_percentage",
                at,
                "this destination's share of the traffic, a whole number from 0 to 100",
            );
            return None;
        }
        Some(value) => value,
    };
    let Some(number) = whole_number(value) else {
        let message = match value {
            Value::Number(number) => {
                format!("`{number}` is not a whole number: {EXPECTED_PERCENTAGE}")
            }
            Value::String(text) => format!("`{text}` is not a number: {EXPECTED_PERCENTAGE}"),
            _ => EXPECTED_PERCENTAGE.to_owned(),
        };
        loader.error(at.key("traffic_percentage"), message);
        return None;
    };
    match u8::try_from(number) {
        Ok(percentage) if percentage <= 100 => Some(percentage),
        _ => {
            loader.error(
                at.key("traffic_percentage"),
                format!("the traffic percentage must be between 0 and 100, not {number}"),
            );
            None
        }
    }
}

fn parse_routing_strategy(
    loader: &mut Loader<'_>,
    map: &Mapping,
    at: &FieldPath,
) -> Option<RoutingStrategy> {
    const EXPECTED: &str = "expected `TRAFFIC_SPLIT`";
    let strategy = RoutingStrategy::TrafficSplit;
    let message = match map.get("routing_strategy") {
        None | Some(Value::Null) => return Some(strategy),
        Some(Value::String(text)) if text == strategy.as_str() => return Some(strategy),
        Some(Value::String(text)) if text.eq_ignore_ascii_case(strategy.as_str()) => {
            format!("`{text}` is not a routing strategy: {EXPECTED}, in capitals")
        }
        Some(Value::String(text)) => format!("`{text}` is not a routing strategy: {EXPECTED}"),
        Some(_) => EXPECTED.to_owned(),
    };
    loader.error(at.key("routing_strategy"), message);
    None
}
