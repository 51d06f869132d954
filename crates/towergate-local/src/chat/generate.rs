//! The token loop: one generation, run on its own OS thread.

use candle_core::Tensor;
use candle_transformers::generation::LogitsProcessor;
use tokenizers::Tokenizer;

use super::model::LoadedModel;

/// How one generation samples and when it stops.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    /// Most tokens to generate.
    pub(crate) max_tokens: usize,
    /// Sampling temperature; `None` or 0 picks the likeliest token.
    pub(crate) temperature: Option<f64>,
    /// Nucleus sampling mass.
    pub(crate) top_p: Option<f64>,
    /// Seed of the sampler.
    pub(crate) seed: u64,
    /// Text that ends the answer (not included in it).
    pub(crate) stop: Vec<String>,
}

/// Why a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FinishReason {
    /// The model ended its turn or a stop sequence appeared.
    Stop,
    /// `max_tokens` (or the context window) was reached.
    Length,
    /// Nobody listens any more.
    Cancelled,
}

impl FinishReason {
    /// OpenAI's `finish_reason`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length | FinishReason::Cancelled => "length",
        }
    }
}

/// How a generation ended and what it cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Finish {
    /// Why it ended.
    pub(crate) reason: FinishReason,
    /// Tokens fed as the prompt.
    pub(crate) prompt_tokens: usize,
    /// Tokens sampled, the one that ended the turn included.
    pub(crate) completion_tokens: usize,
}

/// Turns generated ids into text pieces that are whole UTF-8 and never
/// show a stop sequence or its beginning.
struct TextOut<'a> {
    tokenizer: &'a Tokenizer,
    stop: &'a [String],
    ids: Vec<u32>,
    emitted: usize,
}

/// What a new token did to the text.
enum Step {
    /// Text to hand out now (maybe empty).
    Piece(String),
    /// A stop sequence appeared; this is the text before it not yet handed out.
    Stopped(String),
}

impl<'a> TextOut<'a> {
    fn new(tokenizer: &'a Tokenizer, stop: &'a [String]) -> Self {
        Self {
            tokenizer,
            stop,
            ids: Vec::new(),
            emitted: 0,
        }
    }

    fn decode(&self) -> Result<String, String> {
        self.tokenizer
            .decode(&self.ids, true)
            .map_err(|e| e.to_string())
    }

    fn take(&mut self, end: usize, text: &str) -> String {
        let piece = text.get(self.emitted..end).unwrap_or_default().to_owned();
        self.emitted = self.emitted.max(end);
        piece
    }

    fn push(&mut self, id: u32) -> Result<Step, String> {
        self.ids.push(id);
        let text = self.decode()?;
        if let Some(at) = self
            .stop
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| text.find(s.as_str()))
            .min()
        {
            let at = at.max(self.emitted);
            return Ok(Step::Stopped(self.take(at, &text)));
        }
        if text.ends_with('\u{FFFD}') {
            // A character split across tokens: wait for its other bytes.
            return Ok(Step::Piece(String::new()));
        }
        let mut end = text.len() - self.held_back(&text);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Ok(Step::Piece(self.take(end, &text)))
    }

    /// Length of the longest end of `text` that begins a stop sequence.
    fn held_back(&self, text: &str) -> usize {
        self.stop
            .iter()
            .flat_map(|stop| {
                (1..stop.len())
                    .rev()
                    .filter(|n| stop.is_char_boundary(*n) && text.ends_with(&stop[..*n]))
                    .take(1)
            })
            .max()
            .unwrap_or(0)
    }

    fn rest(&mut self) -> Result<String, String> {
        let text = self.decode()?;
        Ok(self.take(text.len(), &text))
    }
}

/// Generates from `prompt`, handing each text piece to `emit` as soon as it
/// is whole; `emit` answers `false` when nobody listens any more.
pub(crate) fn generate(
    model: &LoadedModel,
    prompt: &[u32],
    params: &Params,
    emit: &mut dyn FnMut(String) -> bool,
) -> Result<Finish, String> {
    let fail = |e: candle_core::Error| e.to_string();
    let mut weights = model.weights.clone();
    let mut sampler = LogitsProcessor::new(params.seed, params.temperature, params.top_p);
    let mut out = TextOut::new(&model.tokenizer.tokenizer, &params.stop);
    let mut finish = Finish {
        reason: FinishReason::Length,
        prompt_tokens: prompt.len(),
        completion_tokens: 0,
    };
    let room = model.context_length.saturating_sub(prompt.len());
    let max_tokens = params.max_tokens.min(room);

    let mut input = Tensor::new(prompt, &model.device)
        .and_then(|t| t.unsqueeze(0))
        .map_err(fail)?;
    let mut position = 0;
    while finish.completion_tokens < max_tokens {
        let fed = input.dim(1).map_err(fail)?;
        let logits = weights
            .forward(&input, position)
            .and_then(|l| l.squeeze(0))
            .map_err(fail)?;
        position += fed;
        let next = sampler.sample(&logits).map_err(fail)?;
        finish.completion_tokens += 1;
        if model.tokenizer.end_ids.contains(&next) {
            finish.reason = FinishReason::Stop;
            break;
        }
        match out.push(next)? {
            Step::Stopped(piece) => {
                finish.reason = FinishReason::Stop;
                if !piece.is_empty() && !emit(piece) {
                    finish.reason = FinishReason::Cancelled;
                }
                return Ok(finish);
            }
            Step::Piece(piece) => {
                if !piece.is_empty() && !emit(piece) {
                    finish.reason = FinishReason::Cancelled;
                    return Ok(finish);
                }
            }
        }
        input = Tensor::new(&[next], &model.device)
            .and_then(|t| t.unsqueeze(0))
            .map_err(fail)?;
    }
    let rest = out.rest()?;
    if !rest.is_empty() && !emit(rest) {
        finish.reason = FinishReason::Cancelled;
    }
    Ok(finish)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::tokenizer::tests::load;

    /// Feeds the ids of `text` one by one; returns the pieces and whether a
    /// stop sequence ended it.
    fn feed(tokenizer: &Tokenizer, text: &str, stop: &[String]) -> (Vec<String>, bool) {
        let ids = tokenizer.encode(text, false).unwrap().get_ids().to_vec();
        let mut out = TextOut::new(tokenizer, stop);
        let mut pieces = Vec::new();
        for id in ids {
            match out.push(id).unwrap() {
                Step::Piece(piece) => pieces.push(piece),
                Step::Stopped(piece) => {
                    pieces.push(piece);
                    return (pieces, true);
                }
            }
        }
        pieces.push(out.rest().unwrap());
        (pieces, false)
    }

    #[test]
    fn pieces_are_whole_characters_even_when_tokens_split_them() {
        let Some(gguf) = load() else { return };
        let text = "héllo 🙂 日本語 ✓ done";
        let ids = gguf.tokenizer.encode(text, false).unwrap();
        // Some token holds only part of a character.
        let split = ids.get_ids().iter().any(|id| {
            let alone = gguf.tokenizer.decode(&[*id], true).unwrap();
            alone.contains('\u{FFFD}')
        });
        assert!(split, "the text must split a character across tokens");
        let (pieces, stopped) = feed(&gguf.tokenizer, text, &[]);
        assert!(!stopped);
        assert!(pieces.iter().all(|p| !p.contains('\u{FFFD}')), "{pieces:?}");
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn a_stop_sequence_and_its_beginning_are_never_handed_out() {
        let Some(gguf) = load() else { return };
        let stop = vec!["Paris.".to_owned()];
        let (pieces, stopped) = feed(&gguf.tokenizer, "The capital is Paris. Yes.", &stop);
        assert!(stopped);
        assert_eq!(pieces.concat(), "The capital is ");
        // A beginning that never completes is handed out at the end.
        let (pieces, stopped) = feed(&gguf.tokenizer, "The capital is Paris", &stop);
        assert!(!stopped);
        assert_eq!(pieces.concat(), "The capital is Paris");
        assert!(pieces[..pieces.len() - 1].concat().len() < "The capital is Paris".len());
    }
}
