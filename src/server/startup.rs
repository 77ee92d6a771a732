//! Wiring: settings -> store -> engine -> hub -> workers -> router.
//!
//! [`Application::build`] binds the listener (port 0 gives a free port,
//! which is how tests run many apps side by side) and starts the
//! background loops; [`Application::run_until_stopped`] serves until the
//! shutdown token is cancelled, then waits for the loops to finish.

use std::{net::SocketAddr, sync::Arc};

use axum::{Router, middleware};
use leptos::{
    config::LeptosOptions,
    nonce::Nonce,
    prelude::{provide_context, use_context},
};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::{
    net::TcpListener,
    sync::{Notify, mpsc},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;
use tower_http::{compression::CompressionLayer, trace::TraceLayer};

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
    background: JoinSet<()>,
    tree_sitter: Option<Arc<IsolatedTreeSitter>>,
}

impl Application {
    /// Builds the app with the engine its settings name.
    pub async fn build(
        settings: Settings,
        shutdown: CancellationToken,
    ) -> Result<Self, StartupError> {
        let languages = Languages::load();
        let syntect = SyntectEngine::new(Arc::clone(languages.syntaxes()));
        let mut tree_sitter = None;
        let engine: DynEngine = match &settings.engine {
            EngineSettings::Auto { program } => {
                // Children only where jobs run: a web node highlights nothing.
                if settings.role.runs_workers() {
                    tree_sitter = Some(Arc::new(IsolatedTreeSitter::start(
                        program.clone(),
                        settings.workers,
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
            app.background.spawn(async move {
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
            });
        }
        app.tree_sitter = tree_sitter;
        Ok(app)
    }

    /// Waits until the tree-sitter children are ready (started; until then
    /// syntect takes their snippets). `true` at once when there are none.
    pub async fn wait_engine_ready(&self, limit: std::time::Duration) -> bool {
        match &self.tree_sitter {
            Some(pool) => pool.wait_ready(self.state.settings.workers, limit).await,
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
        } = store::connect(&settings.database_url).await?;
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
        let leptos = LeptosOptions::builder()
            .output_name("highlighter")
            .site_root(settings.site_root.to_string_lossy().to_string())
            .site_pkg_dir("pkg")
            .site_addr(local_addr)
            .build();
        let hub = Hub::new();
        let pages = Arc::new(PageCache::new(settings.limits.page_cache_bytes));
        hub.observe(pages.clone());
        let wake = Arc::new(Notify::new());
        let mut background = JoinSet::new();
        let node = Arc::new(Node::new(settings.role, settings.workers));
        // One node: events stay in process. Several nodes on PostgreSQL:
        // they travel by NOTIFY, and this node's relay feeds its hub.
        let events = match postgres {
            None => EventBus::local(Arc::clone(&hub)),
            Some(pool) => {
                let (outbox, queued) = mpsc::unbounded_channel();
                background.spawn(publisher(pool.clone(), queued, shutdown.clone()));
                let relay = Relay {
                    pool,
                    snippets: Arc::clone(&snippets),
                    hub: Arc::clone(&hub),
                    wake: Arc::clone(&wake),
                    node_id: node.id.clone(),
                };
                background.spawn(relay.run(shutdown.clone()));
                EventBus::postgres(Arc::clone(&hub), outbox, &node.id)
            }
        };
        let limits = Arc::new(Limiters::new(&settings.limits));
        // Read before any worker starts: a node joining a paused cluster
        // must not claim a job first.
        node.set_paused(operations.paused().await?);
        background.spawn(
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
            theme_css: theme::stylesheet().into(),
            pages,
        });

        if state.settings.role.runs_workers() {
            let ctx = JobContext {
                store: jobs,
                engine,
                events: state.events.clone(),
                settings: state.settings.jobs.clone(),
                wake: Arc::clone(&state.wake),
                clock: system_clock(),
                node: Arc::clone(&state.node),
            };
            let pool = WorkerPool::new(ctx.clone(), state.settings.workers);
            background.spawn(pool.run(state.shutdown.clone()));
            background.spawn(Rescuer::new(ctx.clone()).run(state.shutdown.clone()));
            background.spawn(Pruner::new(ctx.clone()).run(state.shutdown.clone()));
            background.spawn(Sweeper::new(ctx).run(state.shutdown.clone()));
        }

        let router = router(state.clone());
        Ok(Application {
            listener,
            router,
            state,
            background,
            tree_sitter: None,
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

    /// Serves until the shutdown token is cancelled; then lets open
    /// requests and streams end, and waits for the workers to finish or
    /// release their jobs.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        let shutdown = self.state.shutdown.clone();
        tracing::info!(addr = %self.local_addr(), role = ?self.state.settings.role, "listening");
        http::serve::serve(
            self.listener,
            self.router,
            self.state.settings.limits.header_timeout,
            shutdown,
        )
        .await;
        while self.background.join_next().await.is_some() {}
        Ok(())
    }
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

/// Every route and the layers around them. Layers run outside in: the
/// trace, who the client is, the security headers, cross-site refusal,
/// then the submit limit, before any handler.
///
/// The router is finalised here, once: a bare `Router` handed to a server
/// would be finalised per connection (every route cloned), and that copy
/// would live as long as the connection, about 30 KiB for each open event
/// stream.
fn router(state: AppState) -> Router {
    let health = http::health_routes().merge(http::admin::metrics_routes());
    if !state.settings.role.runs_web() {
        return health
            .layer(middleware::from_fn(metrics::track_requests))
            .layer(middleware::from_fn(http::security::security_headers))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                http::client::identify_client,
            ))
            .layer(TraceLayer::new(ProbesAnswerOnPurpose))
            .with_state(state);
    }
    let routes = generate_route_list(App);
    let leptos = state.leptos.clone();
    let page_state = state.clone();
    let fallback_state = state.clone();
    Router::new()
        .merge(health)
        .merge(http::api_routes())
        .merge(http::admin::routes())
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_request_context(&page_state),
            move || shell(leptos.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            move || provide_request_context(&fallback_state), shell
        ))
        // Inside compression: the cache keeps and serves the plain document.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::page_cache::serve_cached_pages,
        ))
        // Pages and fragments compress well; streams are merged after the
        // layer, so they never pass through it.
        .layer(CompressionLayer::new())
        .merge(http::stream_routes())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::admin::guard_pages,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::check_server_fn_body,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::limit_submits,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::security::refuse_cross_site,
        ))
        .layer(middleware::from_fn(http::security::security_headers))
        .layer(middleware::from_fn(metrics::track_requests))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::client::identify_client,
        ))
        .layer(TraceLayer::new(ProbesAnswerOnPurpose))
        .with_state(state)
}
