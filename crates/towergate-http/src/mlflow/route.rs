//! Which of MLflow's paths a request asks for.

use http::Method;
use towergate_core::{ErrorKind, GatewayError};

/// A request's target, by method and path.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Route<'a> {
    /// `GET /health`.
    Health,
    /// `GET /api/2.0/endpoints/`.
    List,
    /// `GET /api/2.0/endpoints/{name}`.
    Get(&'a str),
    /// `POST /endpoints/{name}/invocations` or `POST /gateway/{name}/invocations`.
    Invoke(&'a str),
    /// `GET /api/2.0/prompts/`.
    Prompts,
    /// `GET /api/2.0/prompts/{name}`.
    Prompt(&'a str),
}

const ENDPOINTS_API: &str = "/api/2.0/endpoints";

impl<'a> Route<'a> {
    /// The route for `method` and `path`: 404 for an unknown path, 405 for
    /// a known path with another method.
    pub(super) fn of(method: &Method, path: &'a str) -> Result<Self, GatewayError> {
        let (route, allowed) = if path == "/health" {
            (Route::Health, Method::GET)
        } else if path == ENDPOINTS_API || path == "/api/2.0/endpoints/" {
            (Route::List, Method::GET)
        } else if let Some(name) = path
            .strip_prefix("/api/2.0/endpoints/")
            .filter(|name| is_segment(name))
        {
            (Route::Get(name), Method::GET)
        } else if path == "/api/2.0/prompts" || path == "/api/2.0/prompts/" {
            (Route::Prompts, Method::GET)
        } else if let Some(name) = path
            .strip_prefix("/api/2.0/prompts/")
            .filter(|name| is_segment(name))
        {
            (Route::Prompt(name), Method::GET)
        } else if let Some(name) = invocation(path) {
            (Route::Invoke(name), Method::POST)
        } else {
            return Err(GatewayError::not_found(format!("no such path: `{path}`")));
        };
        if *method != allowed {
            return Err(GatewayError::new(
                ErrorKind::MethodNotAllowed,
                format!("`{path}` takes {allowed}, not {method}"),
            ));
        }
        Ok(route)
    }
}

/// The name in `/endpoints/{name}/invocations` or `/gateway/{name}/invocations`.
fn invocation(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix("/endpoints/")
        .or_else(|| path.strip_prefix("/gateway/"))?;
    rest.strip_suffix("/invocations")
        .filter(|name| is_segment(name))
}

fn is_segment(name: &str) -> bool {
    !name.is_empty() && !name.contains('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_paths() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(Route::of(&get, "/health").unwrap(), Route::Health);
        assert_eq!(Route::of(&get, "/api/2.0/endpoints/").unwrap(), Route::List);
        assert_eq!(Route::of(&get, "/api/2.0/endpoints").unwrap(), Route::List);
        assert_eq!(
            Route::of(&get, "/api/2.0/endpoints/chat").unwrap(),
            Route::Get("chat")
        );
        assert_eq!(
            Route::of(&post, "/endpoints/chat/invocations").unwrap(),
            Route::Invoke("chat")
        );
        assert_eq!(
            Route::of(&post, "/gateway/my.chat-2/invocations").unwrap(),
            Route::Invoke("my.chat-2")
        );
    }

    #[test]
    fn unknown_paths_and_wrong_methods() {
        let post = Method::POST;
        for path in [
            "/endpoints//invocations",
            "/endpoints/a/b/invocations",
            "/gateway/chat",
            "/api/2.0/endpoints/a/b",
            "/",
        ] {
            let error = Route::of(&post, path).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::NotFound, "{path}");
        }
        let error = Route::of(&Method::GET, "/endpoints/chat/invocations").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::MethodNotAllowed);
        let error = Route::of(&post, "/api/2.0/endpoints/").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::MethodNotAllowed);
    }
}
