//! The template layer and the service it makes.

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use http::{HeaderName, HeaderValue};
use tower_layer::Layer;
use tower_service::Service;
use towergate_core::{
    Extra, GatewayError, GatewayRequest, GatewayResponse, Operation, PromptChoice,
};

use crate::{
    PromptLibrary, PromptSelection, SelectionError,
    future::{PromptHeader, ResponseFuture},
    pick::Picker,
};

/// The request body field that carries the caller's variables.
pub const VARIABLES_FIELD: &str = "prompt_variables";

/// The response header naming the template version used, `name@version`.
pub const PROMPT_HEADER: HeaderName = HeaderName::from_static("x-towergate-prompt");

/// Renders a template version before the caller's chat messages.
///
/// Cheap to clone: the library and the resolved selection are shared.
#[derive(Clone)]
pub struct TemplateLayer {
    shared: Arc<Shared>,
}

struct Shared {
    library: PromptLibrary,
    selection: PromptSelection,
    picker: Picker,
}

impl TemplateLayer {
    /// A layer rendering the version(s) `selection` names from `library`;
    /// an error when a version it names does not exist or a split has no
    /// weight.
    pub fn new(library: PromptLibrary, selection: PromptSelection) -> Result<Self, SelectionError> {
        let picker = Picker::new(&library, &selection)?;
        Ok(Self {
            shared: Arc::new(Shared {
                library,
                selection,
                picker,
            }),
        })
    }

    /// The library templates come from.
    pub fn library(&self) -> &PromptLibrary {
        &self.shared.library
    }

    /// The versions this layer chooses from.
    pub fn selection(&self) -> &PromptSelection {
        &self.shared.selection
    }

    /// The version `request` would be rendered with.
    pub fn choose(&self, request: &GatewayRequest) -> &PromptChoice {
        self.shared.picker.pick(request).choice()
    }

    /// Renders the chosen version into a chat request; returns the header
    /// to answer with, if a template was rendered.
    fn apply(&self, request: &mut GatewayRequest) -> Result<Option<HeaderValue>, GatewayError> {
        match &request.operation {
            Operation::Chat(_) => {}
            Operation::Completion(completion) => {
                return refuse_variables(&request.endpoint, "completions", &completion.extra);
            }
            Operation::Embeddings(embeddings) => {
                return refuse_variables(&request.endpoint, "embeddings", &embeddings.extra);
            }
            Operation::ListEndpoints => return Ok(None),
        }
        let version = self.shared.picker.pick(request);
        let header = version.header_value().clone();
        let with_header = |mut error: GatewayError| {
            error.headers_mut().insert(PROMPT_HEADER, header.clone());
            error
        };
        let Operation::Chat(chat) = &mut request.operation else {
            return Ok(None);
        };
        let variables = match chat.extra.remove(VARIABLES_FIELD) {
            None => Extra::new(),
            Some(serde_json::Value::Object(variables)) => variables,
            Some(_) => {
                return Err(with_header(
                    GatewayError::invalid(format!("`{VARIABLES_FIELD}` must be a JSON object"))
                        .with_param(VARIABLES_FIELD),
                ));
            }
        };
        let rendered = version.render(variables).map_err(with_header)?;
        chat.messages.splice(0..0, rendered);
        request.extensions.insert(version.choice().clone());
        Ok(Some(header))
    }
}

/// Refuses `prompt_variables` on an operation templates do not apply to.
fn refuse_variables(
    endpoint: &str,
    served: &str,
    extra: &Extra,
) -> Result<Option<HeaderValue>, GatewayError> {
    if extra.contains_key(VARIABLES_FIELD) {
        return Err(GatewayError::invalid(format!(
            "prompt templates apply to chat endpoints; `{endpoint}` got a {served} request \
             with `{VARIABLES_FIELD}`"
        ))
        .with_param(VARIABLES_FIELD));
    }
    Ok(None)
}

impl fmt::Debug for TemplateLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemplateLayer")
            .field("selection", &self.shared.selection)
            .finish()
    }
}

impl<S> Layer<S> for TemplateLayer {
    type Service = Templated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Templated::new(inner, self.clone())
    }
}

/// A service whose chat requests start with a rendered template version.
///
/// See [`TemplateLayer`] and the [crate docs](crate).
#[derive(Clone, Debug)]
pub struct Templated<S> {
    inner: S,
    layer: TemplateLayer,
}

impl<S> Templated<S> {
    /// `inner`, with `layer`'s template before its chat requests.
    pub fn new(inner: S, layer: TemplateLayer) -> Self {
        Self { inner, layer }
    }

    /// A layer making this service; see [`TemplateLayer::new`].
    pub fn layer(
        library: PromptLibrary,
        selection: PromptSelection,
    ) -> Result<TemplateLayer, SelectionError> {
        TemplateLayer::new(library, selection)
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<GatewayRequest> for Templated<S>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>,
{
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: GatewayRequest) -> Self::Future {
        match self.layer.apply(&mut request) {
            Ok(header) => {
                ResponseFuture::called(self.inner.call(request), header.map(PromptHeader))
            }
            Err(error) => ResponseFuture::refused(error),
        }
    }
}
