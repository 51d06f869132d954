//! Provider adapters: towergate's typed requests to each LLM provider's wire and back.
