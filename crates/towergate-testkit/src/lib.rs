//! A mock LLM upstream speaking OpenAI's wire, with faults on demand, and an in-process mock provider.
