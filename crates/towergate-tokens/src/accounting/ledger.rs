//! [`Ledger`]: what one request's usage record needs, until it is closed.

use std::{
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use towergate_core::{
    CacheVerdict, Caller, GatewayError, GatewayRequest, Operation, PromptChoice, ResponseMeta,
    Usage,
    settle::{Settlements, Spent},
};

use super::{Outcome, UsageRecord, UsageSource, layer::Shared};
use crate::TokenCounter;

/// Facts gathered on the way in and from the response's metadata; closed
/// exactly once, into one record and one settlement.
pub(crate) struct Ledger {
    shared: Arc<Shared>,
    request_id: String,
    caller: Option<String>,
    requested: String,
    /// The request as sent, to count its prompt when the upstream does not.
    operation: Operation,
    settlements: Option<Settlements>,
    started: Instant,
    stream: bool,
    answered: Answered,
}

/// What the response's metadata said.
#[derive(Default)]
struct Answered {
    endpoint: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    cache: Option<CacheVerdict>,
    prompt: Option<String>,
}

impl Ledger {
    /// Opens the ledger of `request`, before it goes to the inner service.
    pub(crate) fn open(shared: Arc<Shared>, request: &GatewayRequest) -> Self {
        Self {
            shared,
            request_id: request.request_id.as_str().to_owned(),
            caller: request
                .extensions
                .get::<Caller>()
                .map(|caller| caller.name().to_owned()),
            requested: request.endpoint.clone(),
            operation: request.operation.clone(),
            settlements: request.extensions.get::<Settlements>().cloned(),
            started: Instant::now(),
            stream: request.operation.is_stream(),
            answered: Answered::default(),
        }
    }

    /// Takes in what the response's metadata says about who answered.
    pub(crate) fn answered_by(&mut self, meta: &ResponseMeta) {
        self.answered = Answered {
            endpoint: meta.endpoint.clone(),
            provider: meta.provider.clone(),
            model: meta.model.clone(),
            cache: meta.cache,
            prompt: prompt_named_in(&meta.headers),
        };
    }

    /// The endpoint that answered, else the one asked for.
    fn endpoint(&self) -> &str {
        self.answered.endpoint.as_deref().unwrap_or(&self.requested)
    }

    /// The counter for the model that answered.
    pub(crate) fn counter(&self) -> TokenCounter {
        match self.answered.model.as_deref() {
            Some(model) => TokenCounter::for_model(model),
            None => self.shared.prices.counter_for(self.endpoint()),
        }
    }

    /// Usage counted by the gateway: the prompt, and `completion` text.
    pub(crate) fn count_usage(&self, completion: &str) -> Usage {
        let counter = self.counter();
        Usage::new(
            counter.count_request(&self.operation),
            counter.count_text(completion),
        )
    }

    /// What `usage` cost; 0 for a cache hit.
    pub(crate) fn cost(&self, usage: &Usage) -> f64 {
        if self.answered.cache == Some(CacheVerdict::Hit) {
            return 0.0;
        }
        self.shared
            .prices
            .cost(self.endpoint(), self.answered.model.as_deref(), usage)
    }

    /// Whether the caller asked for usage in its stream's last chunk.
    pub(crate) fn wants_stream_usage(&self) -> bool {
        match &self.operation {
            Operation::Chat(chat) => chat.wants_stream_usage(),
            Operation::Completion(completion) => completion.wants_stream_usage(),
            Operation::Embeddings(_) | Operation::ListEndpoints => false,
        }
    }

    /// Closes a request that succeeded (or a stream that ended or was dropped).
    pub(crate) fn close(self, usage: Usage, source: UsageSource, outcome: Outcome) {
        let status = if outcome == Outcome::Ok { 200 } else { 499 };
        self.finish(usage, source, outcome, status, None);
    }

    /// Closes a request that failed with `error`, charging `usage` (what
    /// a stream produced before it failed; zero otherwise).
    pub(crate) fn fail(mut self, error: &GatewayError, usage: Usage, source: UsageSource) {
        if self.answered.prompt.is_none() {
            self.answered.prompt = error.headers().and_then(prompt_named_in);
        }
        let status = error.status().as_u16();
        self.finish(
            usage,
            source,
            Outcome::Error,
            status,
            Some(error.kind().type_name()),
        );
    }

    fn finish(
        self,
        usage: Usage,
        source: UsageSource,
        outcome: Outcome,
        status: u16,
        error: Option<&'static str>,
    ) {
        let cost_usd = self.cost(&usage);
        if let Some(settlements) = &self.settlements {
            // A cache hit spent no upstream tokens: limits get them back.
            let spent = if self.answered.cache == Some(CacheVerdict::Hit) {
                Usage::default()
            } else {
                usage.clone()
            };
            settlements.settle(&Spent::new(spent, cost_usd));
        }
        let Some(sink) = &self.shared.sink else {
            return;
        };
        let endpoint = self.endpoint().to_owned();
        let requested = (endpoint != self.requested).then(|| self.requested.clone());
        sink.record(UsageRecord {
            request_id: self.request_id,
            caller: self.caller,
            endpoint,
            requested,
            provider: self.answered.provider,
            model: self.answered.model,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            usage_source: source,
            cost_usd,
            latency_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            cache: self.answered.cache.map(CacheVerdict::as_str),
            prompt: self.answered.prompt,
            stream: self.stream,
            outcome,
            status,
            error,
            timestamp_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| {
                    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
                }),
        });
    }
}

/// The template version named in an answer's `x-towergate-prompt` header.
fn prompt_named_in(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get(PromptChoice::HEADER)?;
    value.to_str().ok().map(str::to_owned)
}
