//! Wiring: settings -> store -> engine -> hub -> workers -> router.
//!
//! [`Application::build`] binds the listener (port 0 gives a free port,
//! which is how tests run many apps side by side) and starts the
//! background loops; [`Application::run_until_stopped`] serves until the
//! shutdown token is cancelled (or a background task fails: see
//! `supervisor`), then waits for the loops to finish and closes the
//! database.

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use axum::{
    Router,
    extract::Request,
    middleware::{from_fn, from_fn_with_state},
    response::IntoResponse,
};
use leptos::{
    config::LeptosOptions,
    nonce::Nonce,
    prelude::{provide_context, use_context},
};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::{
    net::TcpListener,
    sync::{Notify, mpsc},
};
use tokio_util::sync::CancellationToken;
use tower::{Service, ServiceBuilder};
use tower_http::{compression::CompressionLayer, services::ServeDir, trace::TraceLayer};

use crate::{
    app::{App, shell},
    server::{
        AppState,
        events::{EventBus, Hub, Relay, publisher},
        highlight::{
            DynEngine, IsolatedTreeSitter, Languages, NativeEngine, RemoteEngine, SyntectEngine,
            theme,
        },
        http,
        jobs::{JobContext, Pruner, Rescuer, Sweeper, WorkerPool, system_clock},
        limits::Limiters,
        metrics,
        node::{Heartbeat, Node},
        page_cache::PageCache,
        service::Shared,
        settings::{EngineSettings, Settings},
        store::{self, StoreError},
        supervisor::{Supervised, TaskEnded},
        telemetry::ProbesAnswerOnPurpose,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("could not open the database")]
    Store(#[from] StoreError),
    #[error("could not set up the HTTP client of the remote engine")]
    Http(#[source] reqwest::Error),
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    background: Supervised,
    tree_sitter: Option<Arc<IsolatedTreeSitter>>,
    database: store::Closer,
}

/// How long a node that lost a background task keeps answering (readiness
/// 503) before it stops: long enough for a load balancer's next probe to
/// take it out of rotation.
const FAILING_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

impl Application {
    /// Builds the app with the engine its settings name.
    pub async fn build(
        settings: Settings,
        shutdown: CancellationToken,
    ) -> Result<Self, StartupError> {
        let languages = Languages::load();
        let syntect = SyntectEngine::new(languages.clone());
        let mut tree_sitter = None;
        let engine: DynEngine = match &settings.engine {
            EngineSettings::Auto { program } => {
                // Children only where jobs run: a web node highlights nothing.
                if settings.role.runs_workers() {
                    tree_sitter = Some(Arc::new(IsolatedTreeSitter::start(
                        program.clone(),
                        settings.highlighting_children,
                        shutdown.clone(),
                    )));
                }
                Arc::new(NativeEngine::new(syntect, tree_sitter.clone()))
            }
            EngineSettings::Syntect => Arc::new(syntect),
            EngineSettings::Remote {
                url,
                max_response_bytes,
            } => Arc::new(
                RemoteEngine::new(url.clone(), settings.jobs.timeout, *max_response_bytes)
                    .map_err(StartupError::Http)?,
            ),
        };
        let mut app =
            Self::build_with_engine(settings, engine, languages, shutdown.clone()).await?;
        if let Some(pool) = &tree_sitter {
            app.state.node.set_warm(false);
            let (pool, node) = (Arc::clone(pool), Arc::clone(&app.state.node));
            app.background.spawn("engine warm-up", async move {
                let started = std::time::Instant::now();
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    warm = pool.wait_warm(std::time::Duration::MAX) => if warm {
                        node.set_warm(true);
                        tracing::info!(
                            ms = started.elapsed().as_millis() as u64,
                            "highlighting children warm: ready for traffic"
                        );
                    },
                }
                // Its work is done; it stays, as every supervised task
                // does, until the node stops.
                shutdown.cancelled().await;
            });
        }
        app.tree_sitter = tree_sitter;
        Ok(app)
    }

    /// Waits until the tree-sitter children are ready (started; until then
    /// syntect takes their snippets). `true` at once when there are none.
    pub async fn wait_engine_ready(&self, limit: std::time::Duration) -> bool {
        match &self.tree_sitter {
            Some(pool) => {
                pool.wait_ready(self.state.settings.highlighting_children, limit)
                    .await
            }
            None => true,
        }
    }

    /// Builds the app around any engine (tests inject failing or slow ones).
    pub async fn build_with_engine(
        settings: Settings,
        engine: DynEngine,
        languages: Languages,
        shutdown: CancellationToken,
    ) -> Result<Self, StartupError> {
        let store::Connected {
            snippets,
            jobs,
            operations,
            postgres,
            closer: database,
        } = store::connect(&settings.database_url).await?;
        // Every node signs form errors with the key the first one stored.
        let fresh_key = crate::server::hex(&rand::random::<[u8; 32]>());
        let form_errors = http::rpc::FormErrorKey::new(
            &operations
                .shared_secret("form_error_key", &fresh_key)
                .await?,
        );
        // The recorder is the process's; installing it again is a no-op.
        metrics::install();
        let listener =
            TcpListener::bind(settings.addr)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: settings.addr,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.addr,
            source,
        })?;
        let theme_css = theme::stylesheet();
        let leptos = LeptosOptions::builder()
            .output_name("highlighter")
            .site_root(settings.site_root.to_string_lossy().to_string())
            .site_pkg_dir("pkg")
            .site_addr(local_addr)
            .hash_files(site_files_are_hashed())
            .build();
        let hub = Hub::new();
        let pages = Arc::new(PageCache::new(settings.limits.page_cache_bytes));
        hub.observe(pages.clone());
        let wake = Arc::new(Notify::new());
        let mut background = Supervised::default();
        let node = Arc::new(Node::new(settings.role, settings.workers));
        // One node: events stay in process. Several nodes on PostgreSQL:
        // they travel by NOTIFY, and this node's relay feeds its hub.
        let events = match postgres {
            None => EventBus::local(Arc::clone(&hub)),
            Some(pool) => {
                let (outbox, queued) = mpsc::unbounded_channel();
                background.spawn(
                    "notice publisher",
                    publisher(pool.clone(), queued, shutdown.clone()),
                );
                let relay = Relay {
                    pool,
                    snippets: Arc::clone(&snippets),
                    hub: Arc::clone(&hub),
                    wake: Arc::clone(&wake),
                    node_id: node.id.clone(),
                };
                background.spawn("event relay", relay.run(shutdown.clone()));
                EventBus::postgres(Arc::clone(&hub), outbox, &node.id)
            }
        };
        let limits = Arc::new(Limiters::new(&settings.limits));
        // Read before any worker starts: a node joining a paused cluster
        // must not claim a job first.
        node.set_paused(operations.paused().await?);
        background.spawn(
            "heartbeat",
            Heartbeat {
                node: Arc::clone(&node),
                operations: Arc::clone(&operations),
                every: settings.jobs.heartbeat,
            }
            .run(shutdown.clone()),
        );
        let state = AppState::new(Shared {
            operations,
            node,
            limits,
            snippets,
            hub,
            events,
            languages,
            settings: Arc::new(settings),
            leptos,
            wake,
            shutdown,
            theme_href: content_named("/theme", "css", &theme_css).into(),
            theme_css: theme_css.into(),
            pages,
            form_errors,
        });

        if state.settings.role.runs_workers() {
            let ctx = JobContext {
                store: jobs,
                engine,
                languages: state.languages.clone(),
                events: state.events.clone(),
                settings: state.settings.jobs.clone(),
                wake: Arc::clone(&state.wake),
                clock: system_clock(),
                node: Arc::clone(&state.node),
            };
            let pool = WorkerPool::new(ctx.clone(), state.settings.workers);
            let stop = &state.shutdown;
            background.spawn("worker pool", pool.run(stop.clone()));
            background.spawn("rescuer", Rescuer::new(ctx.clone()).run(stop.clone()));
            background.spawn("pruner", Pruner::new(ctx.clone()).run(stop.clone()));
            background.spawn("sweeper", Sweeper::new(ctx).run(stop.clone()));
        }

        let router = router(state.clone());
        Ok(Application {
            listener,
            router,
            state,
            background,
            tree_sitter: None,
            database,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Runs `task` beside the node's own background tasks, supervised as
    /// they are: it must run until shutdown (tests inject failures here).
    pub fn spawn_supervised(
        &mut self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        self.background.spawn(name, task);
    }

    /// Serves until the shutdown token is cancelled; then lets open
    /// requests and streams end, waits for the workers to finish or
    /// release their jobs, and closes the database. `Err` when a
    /// background task ended while the node ran (see `supervisor`): the
    /// node stopped because of it.
    pub async fn run_until_stopped(mut self) -> Result<(), TaskEnded> {
        let shutdown = self.state.shutdown.clone();
        tracing::info!(addr = %self.local_addr(), role = ?self.state.settings.role, "listening");
        let limits = &self.state.settings.limits;
        let serving = http::serve::serve(
            self.listener,
            self.router,
            limits.header_timeout,
            http::serve::ConnectionLimits {
                permits: Arc::clone(&self.state.limits.connections),
                trusted_proxies: limits.trusted_proxies.clone(),
            },
            shutdown.clone(),
        );
        tokio::pin!(serving);
        let mut failure = None;
        let mut served = false;
        while !served || !self.background.is_empty() {
            tokio::select! {
                () = &mut serving, if !served => served = true,
                Some(ended) = self.background.next_end(&shutdown),
                    if !self.background.is_empty() =>
                {
                    if let (Err(ended), None) = (ended, &failure) {
                        tracing::error!(task = ended.task, cause = %ended.cause,
                            "a background task ended while the node ran: the node stops, for its supervisor to restart it");
                        crate::server::metrics::background_task_failed(ended.task);
                        self.state.node.set_failed();
                        failure = Some(ended);
                        let shutdown = shutdown.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(FAILING_DRAIN).await;
                            shutdown.cancel();
                        });
                    }
                }
            }
        }
        self.database.close().await;
        match failure {
            Some(ended) => Err(ended),
            None => Ok(()),
        }
    }
}

/// Whether the site's files carry content hashes in their names: the
/// build (`hash-files`) writes `hash.txt` beside the server binary, and
/// Leptos reads the names from it. A binary without one (a test's) links
/// the plain names.
fn site_files_are_hashed() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("hash.txt")))
        .is_some_and(|hashes| hashes.is_file())
}

/// `{stem}.{first 16 hex digits of the content's SHA-256}.{extension}`.
fn content_named(stem: &str, extension: &str, content: &str) -> String {
    let hash = crate::server::store::content_hash(content);
    format!("{stem}.{}.{extension}", &hash[..16])
}

/// What every page render and server function finds in its context: the
/// state, and this response's CSP nonce (made by the security layer), so
/// the inline scripts Leptos writes carry the nonce the header names.
pub(crate) fn provide_request_context(state: &AppState) {
    provide_context(state.clone());
    if let Some(nonce) = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned())
    {
        provide_context(nonce);
    }
}

/// The app's routes, listed once per process.
///
/// Listing them renders the app with resource loading suppressed by a
/// flag that is global to the process (leptos-rs/leptos#4773): a page
/// being rendered meanwhile by another app in the same process has its
/// resources wait forever. A server lists them once, before it serves,
/// but the tests start an app per test, in parallel, and a page request
/// that landed during another test's listing hung until the client gave
/// up (`GET /s/{id}`, seen twice in full runs of the suite). Every app
/// now waits for the one listing, which happens before any app serves.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Every route and the layers around them. Layers run outside in: the
/// trace, who the client is, the security headers, the request count, the
/// host check, the request's head and body (`edge`), JSON for every
/// refusal, cross-site refusal, the submit and miss limits, then the
/// server functions' own checks, before any handler.
///
/// The router is finalised here, once: a bare `Router` handed to a server
/// would be finalised per connection (every route cloned), and that copy
/// would live as long as the connection, about 30 KiB for each open event
/// stream.
///
/// The layers wrap the finished routes as one service (`ServiceBuilder`),
/// not each route (`Router::layer`): axum's `from_fn` clones the service
/// beneath it on every call, and under `Router::layer` that was every
/// layer's boxed copy of everything beneath it, down to the Leptos
/// handler and its options: a 100-line page served at 38% of bare axum's
/// rate (bench/PROFILE.md, round 13). Beneath the layers now is a
/// finished `Router`, one `Arc`, and the layers between clone without
/// allocating.
fn router(state: AppState) -> Router {
    let health = http::health_routes().merge(http::admin::metrics_routes());
    if !state.settings.role.runs_web() {
        let health = health.layer(metrics::NoteRoute).with_state(state.clone());
        return every_request(health, state);
    }
    let routes = route_list();
    let leptos = state.leptos.clone();
    let page_state = state.clone();
    let fallback_state = state.clone();
    // Any other path is one of the site's files (`/pkg/...`, the icon), or
    // else a page that is not there, which the app draws as its 404.
    // tower-http serves the files itself: Leptos' file handler builds each
    // file's response under a reactive owner whose parent is whatever page
    // last rendered on the same thread, and gave the file that page's
    // status. Beside a missing page (a README's broken image asks for
    // one), the stylesheet or the client's script came back 404, and the
    // page never got its style or never hydrated.
    let not_found = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        move || provide_request_context(&fallback_state),
        shell,
    );
    let site_files = ServeDir::new(&*state.leptos.site_root)
        .append_index_html_on_directories(false)
        .call_fallback_on_method_not_allowed(true)
        .fallback(axum::handler::Handler::with_state(not_found, state.clone()));
    let pages: Router = Router::new()
        .merge(health)
        .merge(http::api_routes())
        .merge(http::embed_routes())
        .route(
            &state.theme_href,
            axum::routing::get(http::theme_css_for_good),
        )
        .merge(http::admin::routes())
        // Forms with files posted without JavaScript ("Add file", the edit
        // page's save): the same addresses as the pages they redraw.
        .route("/", axum::routing::post(http::drafts::home))
        .route("/s/{id}/edit", axum::routing::post(http::drafts::edit))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_request_context(&page_state),
            move || shell(leptos.clone()),
        )
        .fallback_service(site_files)
        .layer(metrics::NoteRoute)
        .with_state(state.clone());
    let pages = ServiceBuilder::new()
        // Pages and fragments compress well; the streams are routed
        // around this part, so they never pass through it.
        .layer(CompressionLayer::new())
        // Refusals become JSON before they are compressed (the outer net
        // could not read a compressed sentence).
        .layer(from_fn(http::json_errors))
        // Inside compression: the cache keeps and serves the plain document.
        .layer(from_fn_with_state(
            state.clone(),
            http::page_cache::serve_cached_pages,
        ))
        .layer(from_fn(http::cache_site_files))
        .service(pages);
    let web: Router = http::stream_routes()
        .layer(metrics::NoteRoute)
        .with_state(state.clone())
        .fallback_service(pages);
    let web = ServiceBuilder::new()
        .layer(from_fn_with_state(
            state.clone(),
            http::security::refuse_cross_site,
        ))
        .layer(from_fn_with_state(state.clone(), http::limit_submits))
        .layer(from_fn_with_state(state.clone(), http::limit_misses))
        .layer(from_fn_with_state(
            state.clone(),
            http::rpc::check_server_fn_request,
        ))
        .layer(from_fn_with_state(state.clone(), http::admin::guard_pages))
        .service(web);
    every_request(web, state)
}

/// The layers every request of every role passes, outermost first: the
/// trace, who the client is, the security headers, the request count, the
/// host check, the request's head and body, JSON for every refusal.
fn every_request<S>(routes: S, state: AppState) -> Router
where
    S: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Response: IntoResponse + 'static,
    S::Future: Send + 'static,
{
    let layered = ServiceBuilder::new()
        .layer(TraceLayer::new(ProbesAnswerOnPurpose))
        .layer(from_fn_with_state(
            state.clone(),
            http::client::identify_client,
        ))
        .layer(from_fn(http::security::security_headers))
        .layer(from_fn(metrics::track_requests))
        .layer(from_fn_with_state(
            state.clone(),
            http::security::refuse_foreign_hosts,
        ))
        .layer(from_fn_with_state(state, http::check_request))
        .layer(from_fn(http::json_errors))
        .service(routes);
    Router::new().fallback_service(layered)
}
