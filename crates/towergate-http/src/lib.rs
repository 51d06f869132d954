//! The HTTP fronts of towergate: OpenAI's API, SSE, error bodies, body limits.
