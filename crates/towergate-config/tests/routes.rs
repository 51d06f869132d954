//! `routes`: MLflow's traffic splits, and every rule MLflow checks on them.
#![allow(clippy::unwrap_used)]

use towergate_config::{Config, RoutingStrategy};
use towergate_core::{EndpointInfo, EndpointKind, EndpointType};

/// Three endpoints (lines 1-10), then `routes` from line 11.
fn with_routes(routes: &str) -> String {
    format!(
        "\
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {{provider: openai, name: gpt-4o-mini}}
  - name: chat-backup
    endpoint_type: llm/v1/chat
    model: {{provider: openai, name: gpt-4o}}
  - name: embed
    endpoint_type: llm/v1/embeddings
    model: {{provider: openai, name: text-embedding-3-small}}
routes:
{routes}"
    )
}

fn load(routes: &str) -> Result<Config, Vec<String>> {
    Config::check_str_with_env(&with_routes(routes), "gateway.yaml", |_| None)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

fn errors(routes: &str) -> Vec<String> {
    load(routes).unwrap_err()
}

const AB: &str = "  - name: chat-ab
    task_type: llm/v1/chat
    destinations:
      - name: chat
        traffic_percentage: 80
      - name: chat-backup
        traffic_percentage: 20
    routing_strategy: TRAFFIC_SPLIT
";

#[test]
fn a_route_is_read_in_file_order() {
    let config = load(AB).unwrap();
    assert_eq!(config.routes().len(), 1);
    let route = &config.routes()[0];
    assert_eq!(config.route("chat-ab"), Some(route));
    assert_eq!(route.name(), "chat-ab");
    assert_eq!(route.task_type(), EndpointType::Chat);
    assert_eq!(route.routing_strategy(), RoutingStrategy::TrafficSplit);
    assert_eq!(route.routing_strategy().as_str(), "TRAFFIC_SPLIT");
    let destinations: Vec<(&str, u8)> = route
        .destinations()
        .iter()
        .map(|d| (d.name(), d.traffic_percentage()))
        .collect();
    assert_eq!(destinations, [("chat", 80), ("chat-backup", 20)]);
    assert!(config.route("chat").is_none());
    assert!(config.endpoint("chat-ab").is_none());
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
}

#[test]
fn info_describes_a_route() {
    let config = load(AB).unwrap();
    assert_eq!(
        config.route("chat-ab").unwrap().info(),
        EndpointInfo {
            name: "chat-ab".to_owned(),
            kind: EndpointKind::Route,
            endpoint_type: EndpointType::Chat,
            provider: None,
            model: None,
            limit: None,
        }
    );
}

#[test]
fn the_strategy_defaults_to_traffic_split_and_zero_shares_are_allowed() {
    let config = load(
        "  - name: chat-canary
    task_type: llm/v1/chat
    destinations:
      - {name: chat, traffic_percentage: 100}
      - {name: chat-backup, traffic_percentage: 0}
",
    )
    .unwrap();
    let route = config.route("chat-canary").unwrap();
    assert_eq!(route.routing_strategy(), RoutingStrategy::TrafficSplit);
    assert_eq!(route.destinations()[1].traffic_percentage(), 0);
}

#[test]
fn no_routes_or_a_null_list_is_fine() {
    assert!(load("").unwrap().routes().is_empty());
    assert!(load("  []\n").unwrap().routes().is_empty());
}

#[test]
fn an_unknown_routing_strategy_is_refused() {
    assert_eq!(
        errors(&AB.replace("TRAFFIC_SPLIT", "ROUND_ROBIN")),
        [
            "gateway.yaml:19:23: routes[0].routing_strategy: `ROUND_ROBIN` is not a routing strategy: expected `TRAFFIC_SPLIT`"
        ]
    );
    assert_eq!(
        errors(&AB.replace("TRAFFIC_SPLIT", "traffic_split")),
        [
            "gateway.yaml:19:23: routes[0].routing_strategy: `traffic_split` is not a routing strategy: expected `TRAFFIC_SPLIT`, in capitals"
        ]
    );
}

#[test]
fn a_route_needs_destinations() {
    assert_eq!(
        errors("  - name: r\n    task_type: llm/v1/chat\n    destinations: []\n"),
        [
            "gateway.yaml:14:19: routes[0].destinations: `destinations` is empty: expected a list of endpoints, each with `name` and `traffic_percentage`, the percentages summing to 100"
        ]
    );
    assert_eq!(
        errors("  - name: r\n    task_type: llm/v1/chat\n"),
        [
            "gateway.yaml:12:5: routes[0]: `destinations` is required: expected a list of endpoints, each with `name` and `traffic_percentage`, the percentages summing to 100"
        ]
    );
    assert_eq!(
        errors("  - name: r\n    task_type: llm/v1/chat\n    destinations: chat\n"),
        [
            "gateway.yaml:14:19: routes[0].destinations: expected a list of endpoints, each with `name` and `traffic_percentage`, the percentages summing to 100"
        ]
    );
}

#[test]
fn percentages_must_be_whole_numbers_from_0_to_100() {
    assert_eq!(
        errors(
            &AB.replace("traffic_percentage: 80", "traffic_percentage: 150")
                .replace("traffic_percentage: 20", "traffic_percentage: -50")
        ),
        [
            "gateway.yaml:16:29: routes[0].destinations[0].traffic_percentage: the traffic percentage must be between 0 and 100, not 150",
            "gateway.yaml:18:29: routes[0].destinations[1].traffic_percentage: the traffic percentage must be between 0 and 100, not -50",
        ]
    );
    assert_eq!(
        errors(
            &AB.replace("traffic_percentage: 80", "traffic_percentage: 79.5")
                .replace("traffic_percentage: 20", "traffic_percentage: lots")
        ),
        [
            "gateway.yaml:16:29: routes[0].destinations[0].traffic_percentage: `79.5` is not a whole number: expected a whole number from 0 to 100",
            "gateway.yaml:18:29: routes[0].destinations[1].traffic_percentage: `lots` is not a number: expected a whole number from 0 to 100",
        ]
    );
    assert_eq!(
        errors(&AB.replace("        traffic_percentage: 20\n", "")),
        [
            "gateway.yaml:17:9: routes[0].destinations[1]: `traffic_percentage` is required: expected this destination's share of the traffic, a whole number from 0 to 100"
        ]
    );
}

#[test]
fn percentages_must_sum_to_100() {
    assert_eq!(
        errors(&AB.replace("traffic_percentage: 20", "traffic_percentage: 10")),
        [
            "gateway.yaml:15:7: routes[0].destinations: the destinations' traffic percentages sum to 90: for each route they must sum to 100"
        ]
    );
    assert_eq!(
        errors(&AB.replace("traffic_percentage: 20", "traffic_percentage: 30")),
        [
            "gateway.yaml:15:7: routes[0].destinations: the destinations' traffic percentages sum to 110: for each route they must sum to 100"
        ]
    );
}

#[test]
fn destinations_must_be_existing_endpoints() {
    assert_eq!(
        errors(&AB.replace("name: chat-backup", "name: chat-backpu")),
        [
            "gateway.yaml:17:15: routes[0].destinations[1].name: `chat-backpu` is not an endpoint: expected the name of one of the `endpoints`"
        ]
    );
}

#[test]
fn destinations_cannot_be_routes() {
    let routes = format!(
        "{AB}  - name: nested
    task_type: llm/v1/chat
    destinations: [{{name: chat-ab, traffic_percentage: 100}}]
"
    );
    assert_eq!(
        errors(&routes),
        [
            "gateway.yaml:22:27: routes[1].destinations[0].name: `chat-ab` is a route: a route's destinations must be endpoints, not routes"
        ]
    );
}

#[test]
fn destinations_must_serve_the_routes_task_type() {
    assert_eq!(
        errors(&AB.replace("name: chat-backup", "name: embed")),
        [
            "gateway.yaml:17:15: routes[0].destinations[1].name: endpoint `embed` serves `llm/v1/embeddings`, but the route's `task_type` is `llm/v1/chat`: every destination must serve the route's task type"
        ]
    );
}

#[test]
fn route_names_and_task_types_are_checked_as_endpoints_are() {
    assert_eq!(
        errors(
            &AB.replace("name: chat-ab", "name: chat ab")
                .replace("task_type: llm/v1/chat", "task_type: chat")
        ),
        [
            "gateway.yaml:12:11: routes[0].name: `chat ab` is not a valid route name: expected letters, digits, `_`, `.` and `-` only",
            "gateway.yaml:13:16: routes[0].task_type: `chat` is not a task type: expected one of `llm/v1/chat`, `llm/v1/completions`, `llm/v1/embeddings`",
        ]
    );
    assert_eq!(
        errors(
            "  - task_type: llm/v1/chat\n    destinations: [{name: chat, traffic_percentage: 100}]\n"
        ),
        [
            "gateway.yaml:12:5: routes[0]: `name` is required: expected the route's name, made of letters, digits, `_`, `.` and `-`"
        ]
    );
    assert_eq!(
        errors("  - name: r\n    destinations: [{name: chat, traffic_percentage: 100}]\n"),
        [
            "gateway.yaml:12:5: routes[0]: `task_type` is required: expected one of `llm/v1/chat`, `llm/v1/completions`, `llm/v1/embeddings`"
        ]
    );
    assert_eq!(
        errors("  name: r\n"),
        [
            "gateway.yaml:12:3: routes: expected a list of routes, each with `name`, `task_type` and `destinations`"
        ]
    );
}

#[test]
fn names_are_unique_across_endpoints_and_routes() {
    assert_eq!(
        errors(&AB.replace("name: chat-ab", "name: embed")),
        [
            "gateway.yaml:12:11: routes[0].name: duplicate name `embed`: `endpoints[2]` (line 8) has it already; names must be unique across endpoints and routes"
        ]
    );
    let twice = format!("{AB}{AB}");
    assert_eq!(
        errors(&twice),
        [
            "gateway.yaml:20:11: routes[1].name: duplicate name `chat-ab`: `routes[0]` (line 12) has it already; names must be unique across endpoints and routes"
        ]
    );
}

#[test]
fn a_duplicate_is_reported_at_the_second_occurrence_in_the_file() {
    let yaml = "\
routes:
  - name: chat
    task_type: llm/v1/chat
    destinations: [{name: chat, traffic_percentage: 100}]
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini}
";
    let errors = Config::check_str_with_env(yaml, "gateway.yaml", |_| None).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "gateway.yaml:6:11: endpoints[0].name: duplicate name `chat`: `routes[0]` (line 2) has it already; names must be unique across endpoints and routes"
        ]
    );
    assert_eq!(errors[0].line(), Some(6));
    assert_eq!(errors[0].path(), Some("endpoints[0].name"));
}

#[test]
fn a_broken_endpoint_is_reported_once_not_again_by_its_routes() {
    let yaml = with_routes(AB).replace(
        "endpoint_type: llm/v1/chat\n    model: {provider: openai, name: gpt-4o}",
        "endpoint_type: llm/v9\n    model: {provider: openai, name: gpt-4o}",
    );
    let errors = Config::check_str_with_env(&yaml, "gateway.yaml", |_| None).unwrap_err();
    let paths: Vec<Option<&str>> = errors.iter().map(|error| error.path()).collect();
    assert_eq!(paths, [Some("endpoints[1].endpoint_type")]);
}

#[test]
fn every_routes_problems_are_reported_in_file_order() {
    let routes = "  - name: one
    task_type: llm/v1/chat
    destinations:
      - {name: nope, traffic_percentage: 50}
      - {name: chat, traffic_percentage: 500}
  - name: two
    task_type: llm/v1/embeddings
    destinations: [{name: embed, traffic_percentage: 99}]
    routing_strategy: RANDOM
";
    let errors =
        Config::check_str_with_env(&with_routes(routes), "gateway.yaml", |_| None).unwrap_err();
    let summary: Vec<(Option<usize>, Option<&str>)> =
        errors.iter().map(|e| (e.line(), e.path())).collect();
    assert_eq!(
        summary,
        [
            (Some(15), Some("routes[0].destinations[0].name")),
            (
                Some(16),
                Some("routes[0].destinations[1].traffic_percentage")
            ),
            (Some(19), Some("routes[1].destinations")),
            (Some(20), Some("routes[1].routing_strategy")),
        ],
        "{errors:#?}"
    );
}

#[test]
fn mlflows_old_format_under_routes_gets_mlflows_hint() {
    // Before `endpoints`, MLflow's `routes` listed the endpoints themselves.
    let yaml = "\
routes:
  - name: chat
    route_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini}
  - name: embed
    endpoint_type: llm/v1/embeddings
    model: {provider: openai, name: text-embedding-3-small}
endpoints: []
";
    let errors: Vec<String> = Config::check_str_with_env(yaml, "gateway.yaml", |_| None)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "gateway.yaml:3:5: routes[0].route_type: the `route_type` key is not supported in the configuration file: in MLflow's old format `routes` listed endpoints; move this entry under `endpoints` and use `endpoint_type: llm/v1/chat` instead",
            "gateway.yaml:5:5: routes[1]: this entry is an endpoint (it has `model` or `endpoint_type`): `routes` holds traffic splits, each with `name`, `task_type` and `destinations`; move it under `endpoints`",
        ]
    );
}

#[test]
fn route_type_in_a_real_route_is_refused_too() {
    assert_eq!(
        errors(&AB.replace(
            "    task_type: llm/v1/chat\n",
            "    task_type: llm/v1/chat\n    route_type: llm/v1/chat\n"
        )),
        [
            "gateway.yaml:14:5: routes[0].route_type: the `route_type` key is not supported in the configuration file: a route names its task in `task_type`"
        ]
    );
}

#[test]
fn unknown_keys_in_routes_and_destinations_are_warnings() {
    let config = load(
        "  - name: chat-ab
    task_type: llm/v1/chat
    description: A/B test
    destinations:
      - {name: chat, traffic_percentage: 50, weight: 5}
      - {name: chat-backup, traffic_percentage: 50}
",
    )
    .unwrap();
    let shown: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "gateway.yaml:14:5: routes[0].description: unknown key `description` is ignored",
            "gateway.yaml:16:46: routes[0].destinations[0].weight: unknown key `weight` is ignored",
        ]
    );
    assert_eq!(config.routes().len(), 1);
}
