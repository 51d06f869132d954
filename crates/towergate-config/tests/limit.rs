//! An endpoint's `limit`: MLflow's `calls` per `renewal_period`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use towergate_config::{Config, RenewalPeriod};
use towergate_core::RateLimitInfo;

/// One endpoint whose `limit` is `limit` (line 5 onwards).
fn with_limit(limit: &str) -> String {
    format!(
        "\
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {{provider: openai, name: gpt-4o-mini}}
    limit:{limit}"
    )
}

fn load(limit: &str) -> Result<Config, Vec<String>> {
    Config::check_str_with_env(&with_limit(limit), "gateway.yaml", |_| None)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

#[test]
fn a_limit_is_read_and_told_to_clients() {
    let config = load("\n      renewal_period: minute\n      calls: 10\n").unwrap();
    let chat = config.endpoint("chat").unwrap();
    let limit = chat.limit().unwrap();
    assert_eq!(limit.renewal_period(), RenewalPeriod::Minute);
    assert_eq!(limit.renewal_period().duration(), Duration::from_secs(60));
    assert_eq!(limit.calls(), 10);
    assert_eq!(
        chat.info().limit,
        Some(RateLimitInfo {
            renewal_period: "minute".to_owned(),
            calls: 10
        })
    );
    assert!(config.warnings().is_empty());
}

#[test]
fn no_limit_or_a_null_one_is_none() {
    let config = load(" ~\n").unwrap();
    assert_eq!(config.endpoint("chat").unwrap().limit(), None);
    assert_eq!(config.endpoint("chat").unwrap().info().limit, None);
    let yaml = with_limit(" {calls: 1, renewal_period: day}\n").replace("    limit:", "    other:");
    let config = Config::from_str_with_env(&yaml, "gateway.yaml", |_| None).unwrap();
    assert_eq!(config.endpoint("chat").unwrap().limit(), None);
}

#[test]
fn periods_and_calls_are_read_as_mlflow_reads_them() {
    for (limit, period, calls) in [
        (
            "{renewal_period: second, calls: 1}",
            RenewalPeriod::Second,
            1,
        ),
        (
            "{renewal_period: Hours, calls: '25'}",
            RenewalPeriod::Hour,
            25,
        ),
        (
            "{renewal_period: DAY, calls: 1000.0}",
            RenewalPeriod::Day,
            1000,
        ),
        (
            "{renewal_period: minute, calls: 5, key: null}",
            RenewalPeriod::Minute,
            5,
        ),
    ] {
        let config = load(&format!(" {limit}\n")).unwrap();
        let read = *config.endpoint("chat").unwrap().limit().unwrap();
        assert_eq!(
            (read.renewal_period(), read.calls()),
            (period, calls),
            "{limit}"
        );
    }
}

#[test]
fn each_problem_is_named_with_its_line_and_field() {
    let cases = [
        (
            " {renewal_period: minute}\n",
            "gateway.yaml:5:12: endpoints[0].limit: `calls` is required: expected how many calls each `renewal_period` allows, at least 1",
        ),
        (
            " {calls: 10}\n",
            "gateway.yaml:5:12: endpoints[0].limit: `renewal_period` is required: expected `second`, `minute`, `hour` or `day`",
        ),
        (
            " {renewal_period: minute, calls: 0}\n",
            "gateway.yaml:5:44: endpoints[0].limit.calls: `0`: expected how many calls each `renewal_period` allows, at least 1",
        ),
        (
            " {renewal_period: minute, calls: -3}\n",
            "gateway.yaml:5:44: endpoints[0].limit.calls: `-3`: expected how many calls each `renewal_period` allows, at least 1",
        ),
        (
            " {renewal_period: minute, calls: ten}\n",
            "gateway.yaml:5:44: endpoints[0].limit.calls: `ten`: expected how many calls each `renewal_period` allows, at least 1",
        ),
        (
            " {renewal_period: fortnight, calls: 1}\n",
            "gateway.yaml:5:29: endpoints[0].limit.renewal_period: `fortnight` is not a renewal period: expected `second`, `minute`, `hour` or `day`",
        ),
        (
            " {renewal_period: [minute], calls: 1}\n",
            "gateway.yaml:5:29: endpoints[0].limit.renewal_period: expected `second`, `minute`, `hour` or `day`",
        ),
        (
            " 10/minute\n",
            "gateway.yaml:5:12: endpoints[0].limit: expected a mapping with `calls` and `renewal_period`, such as `{calls: 10, renewal_period: minute}`",
        ),
    ];
    for (limit, expected) in cases {
        assert_eq!(load(limit).unwrap_err(), [expected], "{limit}");
    }
}

#[test]
fn what_mlflow_takes_but_towergate_does_not_count_yet_is_refused_at_load() {
    assert_eq!(
        load("\n      renewal_period: month\n      calls: 1000\n").unwrap_err(),
        [
            "gateway.yaml:6:23: endpoints[0].limit.renewal_period: a renewal period of a month is not supported yet: expected `second`, `minute`, `hour` or `day`"
        ]
    );
    assert_eq!(
        load("\n      renewal_period: 2 minutes\n      calls: 1\n").unwrap_err(),
        [
            "gateway.yaml:6:23: endpoints[0].limit.renewal_period: `2 minutes`: a count in `renewal_period` is not supported yet: expected `second`, `minute`, `hour` or `day` (one unit)"
        ]
    );
    assert_eq!(
        load("\n      renewal_period: minute\n      calls: 5\n      key: user\n").unwrap_err(),
        ["gateway.yaml:8:7: endpoints[0].limit.key: `limit.key` is not supported yet"]
    );
}

#[test]
fn unknown_keys_in_a_limit_are_warnings() {
    let config = load("\n      renewal_period: minute\n      calls: 5\n      burst: 10\n").unwrap();
    let shown: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        ["gateway.yaml:8:7: endpoints[0].limit.burst: unknown key `burst` is ignored"]
    );
    assert_eq!(config.endpoint("chat").unwrap().limit().unwrap().calls(), 5);
}
