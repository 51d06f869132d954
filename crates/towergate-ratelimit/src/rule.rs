//! One limit on one unit, and the buckets a request counts in.

use std::sync::Arc;

use towergate_core::GatewayRequest;
use towergate_state::{Rate, format_duration};

use crate::{CallLimit, limits::Unit};

/// Whose bucket a limit counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyBy {
    /// One bucket per endpoint, for all callers together.
    Endpoint,
    /// One bucket per caller, across every endpoint it calls. Requests
    /// with no caller (no auth) are not limited by it.
    Caller,
    /// One bucket per caller on each endpoint; requests with no caller (no
    /// auth) share one bucket per endpoint.
    CallerOnEndpoint,
}

/// How a refusal is worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wording {
    /// Ours, in the manner of OpenAI's: what, whose, and how long to wait.
    Standard,
    /// MLflow's, for its `limit`: `Rate limit exceeded: 10 per 1 minute`.
    Mlflow(CallLimit),
}

/// One rate on one unit, keyed one way.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) key_by: KeyBy,
    /// The only caller the rule applies to, if it is one caller's.
    pub(crate) caller: Option<Arc<str>>,
    pub(crate) unit: Unit,
    pub(crate) rate: Rate,
    pub(crate) wording: Wording,
}

/// The bucket one request counts in for one rule.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub(crate) rule: usize,
    pub(crate) key: String,
    /// Whose bucket it is, for messages: "caller `alice` on endpoint `chat`".
    pub(crate) whose: String,
    pub(crate) cost: u64,
}

impl Rule {
    /// The bucket `request` counts in, if the rule applies to it.
    pub(crate) fn check(
        &self,
        index: usize,
        request: &GatewayRequest,
        tokens: u64,
    ) -> Option<Check> {
        let caller = request.caller().map(|caller| caller.name());
        if let Some(only) = &self.caller
            && caller != Some(&**only)
        {
            return None;
        }
        let endpoint = &request.endpoint;
        let (scope, whose) = match (self.key_by, caller) {
            (KeyBy::Endpoint, _) | (KeyBy::CallerOnEndpoint, None) => (
                format!("endpoint:{endpoint}"),
                format!("endpoint `{endpoint}`"),
            ),
            (KeyBy::Caller, None) => return None,
            (KeyBy::Caller, Some(caller)) => {
                (format!("caller:{caller}"), format!("caller `{caller}`"))
            }
            (KeyBy::CallerOnEndpoint, Some(caller)) => (
                format!("caller:{caller}:endpoint:{endpoint}"),
                format!("caller `{caller}` on endpoint `{endpoint}`"),
            ),
        };
        let cost = match self.unit {
            crate::Unit::Requests => 1,
            crate::Unit::Tokens => tokens,
        };
        Some(Check {
            rule: index,
            key: format!("{}:{scope}", self.unit),
            whose,
            cost,
        })
    }

    /// `tokens per minute`, `requests per 10s`.
    pub(crate) fn phrase(&self) -> String {
        let period = match self.rate.period().as_secs() {
            1 => "second".to_owned(),
            60 => "minute".to_owned(),
            3600 => "hour".to_owned(),
            86_400 => "day".to_owned(),
            _ => format_duration(self.rate.period()),
        };
        format!("{} per {period}", self.unit)
    }
}
