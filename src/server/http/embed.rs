//! What other sites embed, and the only routes meant to be framed by them.
//!
//! - `GET /s/{id}/embed`: the snippet as a small page for an `<iframe>`
//!   (`?theme=light|dark|auto`, `?file=` for one file). It reads no
//!   cookie, shows its code without JavaScript, and carries its own
//!   policy: `frame-ancestors *` and no `X-Frame-Options` (the security
//!   layer keeps a policy a handler set).
//! - `GET /s/{id}/embed.js`: the script a blog post includes; it puts that
//!   frame where its `<script>` tag stands and sizes it to its content.
//! - `GET /api/oembed?url=`: oEmbed JSON (`rich`), for blog engines that
//!   embed a link by itself.
//! - `GET /embed-live.js` and `GET /embed-worker.js`: how a frame follows
//!   its snippet live. Browsers give a host six HTTP/1.1 connections, so
//!   ten embeds on one page must not hold ten streams. The embed script in
//!   the page around the frames holds ONE list stream
//!   (`/api/events?announce=false`, which answers other origins) for every
//!   embed of the page, and hands each frame its events by `postMessage`.
//!   A frame placed without the script (an oEmbed iframe) follows on its
//!   own: through one `SharedWorker` shared by the frames of the page
//!   where the browser allows it there (browsers that block third-party
//!   storage refuse it), else with a stream of its own. When a new
//!   revision is highlighted a frame fetches its page again and swaps the
//!   code in place; a message can only make it do that, never show
//!   anything it did not fetch from this site.
//!
//! Burn-after-reading snippets never embed: showing one would burn it for
//! whoever loaded the blog post first.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

use super::{
    ApiError, ErrorBody,
    files::{percent_encode, raw_path},
    rest::escape,
    site_origin,
};
use crate::{
    domain::{FileView, JobState, SnippetId, SnippetView, files::is_markdown},
    server::{AppState, service::Lookup},
};

/// The frame's policy: its own scripts and styles only, framed anywhere.
const FRAME_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; worker-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors *";

/// The shared worker's policy: it opens the stream, nothing else.
const WORKER_POLICY: &str = "default-src 'none'; connect-src 'self'";

/// The stylesheet of every frame.
const EMBED_CSS: &str = include_str!("../../../style/embed.css");

/// Rows an oEmbed answer's height allows for when the caller sets no
/// limit; the frame's script sizes it exactly where it runs.
const OEMBED_MAX_LINES: u32 = 40;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmbedQuery {
    /// `light`, `dark`, or `auto` (the reader's preference, the default).
    #[serde(default)]
    theme: Option<String>,
    /// Show only the file of this name.
    #[serde(default)]
    file: Option<String>,
}

/// The theme a frame is drawn in.
fn theme(query: &EmbedQuery) -> Result<Option<&'static str>, ApiError> {
    match query.theme.as_deref() {
        None | Some("") | Some("auto") => Ok(None),
        Some("light") => Ok(Some("light")),
        Some("dark") => Ok(Some("dark")),
        Some(other) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "`{}` is not a theme: use light, dark or auto.",
                other.chars().take(40).collect::<String>()
            ),
        )),
    }
}

/// Why a snippet does not embed, as a frame says it (with its status).
fn refused(status: StatusCode, message: &str, theme: Option<&str>) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"{}><head><meta charset=\"utf-8\">\
         <meta name=\"robots\" content=\"noindex\"><link rel=\"stylesheet\" href=\"/embed.css\">\
         <title>Highlighter</title></head><body><p class=\"refused\">{}</p></body></html>",
        theme_attribute(theme),
        escape(message)
    );
    frame_response(status, body)
}

fn theme_attribute(theme: Option<&str>) -> String {
    theme
        .map(|t| format!(" data-theme=\"{t}\""))
        .unwrap_or_default()
}

fn frame_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, FRAME_POLICY),
            // A reader's frame must show the latest revision: ask first.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The snippet a frame, script or oEmbed answer may show: its latest
/// revision, if it embeds. No credentials are read: an embed is what
/// everyone sees.
async fn embeddable(state: &AppState, id: &SnippetId) -> Result<SnippetView, (StatusCode, String)> {
    let lookup = state.find(id).await.map_err(|e| {
        tracing::warn!(error = ?e, snippet = %id, "embed could not read its snippet");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Highlighter is not answering; try again in a moment.".to_owned(),
        )
    })?;
    match lookup {
        Lookup::Found(stored) if stored.view.burn_after_reading => Err((
            StatusCode::FORBIDDEN,
            "This snippet burns after reading: it cannot be embedded.".to_owned(),
        )),
        Lookup::Found(stored) => Ok(stored.view),
        Lookup::Gone(reason) => Err((StatusCode::GONE, reason.message().to_owned())),
        Lookup::Missing => Err((StatusCode::NOT_FOUND, "No snippet has this id.".to_owned())),
    }
}

/// `GET /s/{id}/embed`: the snippet as a page made for an `<iframe>`.
#[utoipa::path(
    get,
    path = "/s/{id}/embed",
    tag = "embeds",
    params(("id" = String, Path, description = "The snippet's id."), EmbedQuery),
    responses(
        (status = 200, description = "A page for an iframe: every file (or the one asked for), highlighted once its revision is, with a link to the snippet. It may be framed by any site.", content_type = "text/html", body = String),
        (status = 400, description = "An unknown theme.", body = ErrorBody),
        (status = 403, description = "A burn-after-reading snippet: it does not embed.", content_type = "text/html", body = String),
        (status = 404, description = "No snippet has this id, or it has no file of this name.", content_type = "text/html", body = String),
        (status = 410, description = "Gone.", content_type = "text/html", body = String),
    ),
)]
pub async fn frame(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    Query(query): Query<EmbedQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let theme = theme(&query)?;
    let Ok(id) = SnippetId::parse(&raw_id) else {
        return Ok(refused(
            StatusCode::NOT_FOUND,
            "No snippet has this id.",
            theme,
        ));
    };
    let view = match embeddable(&state, &id).await {
        Ok(view) => view,
        Err((status, message)) => return Ok(refused(status, &message, theme)),
    };
    let files: Vec<&FileView> = match query.file.as_deref().filter(|f| !f.is_empty()) {
        None => view.files.iter().collect(),
        Some(name) => match view.files.iter().find(|f| f.name == name) {
            Some(file) => vec![file],
            None => {
                return Ok(refused(
                    StatusCode::NOT_FOUND,
                    "This snippet has no file of that name.",
                    theme,
                ));
            }
        },
    };
    let origin = site_origin(&state, &headers);
    Ok(frame_response(
        StatusCode::OK,
        frame_document(&view, &files, theme, &origin, &state.theme_href),
    ))
}

/// The frame's document. `#embed` is what the live script swaps when a
/// new revision is highlighted.
fn frame_document(
    view: &SnippetView,
    files: &[&FileView],
    theme: Option<&str>,
    origin: &str,
    theme_href: &str,
) -> String {
    let title = escape(&view.title());
    let link = format!("{origin}{}", view.id.url());
    let highlighted = view.state == JobState::Succeeded;
    let mut body = String::with_capacity(
        files
            .iter()
            .map(|f| f.html.as_ref().map_or(f.code.len() * 2, String::len) + 512)
            .sum(),
    );
    for file in files {
        body.push_str(&format!(
            "<section class=\"file\" data-name=\"{name}\"><header><span class=\"name\">{name}</span>\
             <span class=\"language\">{language}</span>\
             <a class=\"raw\" href=\"{origin}{raw}\" target=\"_blank\" rel=\"noopener\">raw</a></header>",
            name = escape(&file.name),
            language = escape(&file.language),
            raw = raw_path(view, file),
        ));
        match (&file.rendered, &file.html) {
            (Some(rendered), _) if highlighted && is_markdown(&file.name) => {
                body.push_str("<div class=\"rendered\">");
                body.push_str(rendered);
                body.push_str("</div>");
            }
            (_, Some(html)) if highlighted => {
                body.push_str("<div class=\"code\">");
                body.push_str(&gutter(file.lines));
                body.push_str(html);
                body.push_str("</div>");
            }
            _ => {
                body.push_str("<div class=\"code\">");
                body.push_str(&gutter(file.lines));
                body.push_str("<pre>");
                body.push_str(&escape(&file.code));
                body.push_str("</pre></div>");
            }
        }
        body.push_str("</section>");
    }
    let status = match view.state {
        JobState::Succeeded => "",
        JobState::Failed => "Not highlighted.",
        _ => "Highlighting…",
    };
    format!(
        "<!DOCTYPE html><html lang=\"en\"{theme} data-snippet=\"{id}\" data-revision=\"{revision}\" data-state=\"{state}\">\
         <head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title>\
         <link rel=\"stylesheet\" href=\"/embed.css\"><link rel=\"stylesheet\" href=\"{theme_href}\">\
         <script src=\"/embed-live.js\" defer></script></head>\
         <body><div id=\"embed\">{body}<footer class=\"embed\"><a href=\"{link}\" target=\"_blank\" rel=\"noopener\">{title}</a>\
         <span class=\"status\">{status}</span><span>revision {revision} · Highlighter</span></footer></div></body></html>",
        theme = theme_attribute(theme),
        id = view.id,
        revision = view.revision,
        state = view.state.as_str(),
    )
}

/// Line numbers, one a line, beside the code.
fn gutter(lines: u32) -> String {
    let mut out = String::from("<div class=\"gutter\" aria-hidden=\"true\">");
    for n in 1..=lines.max(1) {
        out.push_str(&n.to_string());
        out.push('\n');
    }
    out.push_str("</div>");
    out
}

/// `GET /embed.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        EMBED_CSS,
    )
        .into_response()
}

/// A script other sites load.
fn script_response(body: String, policy: Option<&'static str>) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    if let Some(policy) = policy {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    response
}

/// `GET /s/{id}/embed.js`: puts the snippet's frame where the script tag
/// stands. The frame tells its height (`postMessage`); the script sizes
/// it, trusting messages only from that frame.
#[utoipa::path(
    get,
    path = "/s/{id}/embed.js",
    tag = "embeds",
    params(("id" = String, Path, description = "The snippet's id."), EmbedQuery),
    responses(
        (status = 200, description = "A script for `<script src>`: it inserts the snippet's frame after its own tag.", content_type = "text/javascript", body = String),
        (status = 400, description = "An unknown theme.", body = ErrorBody),
        (status = 404, description = "Not an id.", body = ErrorBody),
    ),
)]
pub async fn script(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    Query(query): Query<EmbedQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = SnippetId::parse(&raw_id).map_err(|_| ApiError::not_found())?;
    let theme = theme(&query)?;
    let origin = site_origin(&state, &headers);
    let mut params = Vec::new();
    if let Some(theme) = theme {
        params.push(format!("theme={theme}"));
    }
    if let Some(file) = query.file.as_deref().filter(|f| !f.is_empty()) {
        params.push(format!("file={}", percent_encode(file)));
    }
    let query = if params.is_empty() {
        String::new()
    } else {
        format!("?{}", params.join("&"))
    };
    let src = format!("{origin}/s/{id}/embed{query}");
    // JSON string literals are JavaScript string literals.
    let body = EMBED_SCRIPT
        .replace("__SRC__", &json_string(&src))
        .replace("__ORIGIN__", &json_string(&origin))
        .replace(
            "__TITLE__",
            &json_string(&format!("Snippet {id} on Highlighter")),
        );
    Ok(script_response(body, None))
}

/// A string as a JavaScript literal, safe inside a script (no `</script>`
/// can close it: `<` is escaped).
fn json_string(text: &str) -> String {
    serde_json::to_string(text)
        .expect("a string always serialises")
        .replace('<', "\\u003c")
}

const EMBED_SCRIPT: &str = r#"(function () {
  var ORIGIN = __ORIGIN__;
  var NAMES = ["state", "revision", "highlighted", "failed", "deleted"];
  var tag = document.currentScript;
  var frame = document.createElement("iframe");
  frame.src = __SRC__;
  frame.title = __TITLE__;
  frame.loading = "lazy";
  frame.style.cssText = "width:100%;height:120px;border:0;display:block;overflow:hidden";
  frame.setAttribute("scrolling", "no");
  tag.parentNode.insertBefore(frame, tag.nextSibling);
  // Every embed of this page from this server shares one stream.
  var all = window.__highlighterEmbeds || (window.__highlighterEmbeds = {});
  var shared = all[ORIGIN] || (all[ORIGIN] = { frames: [], ids: {}, source: null, timer: 0 });
  shared.frames.push(frame);
  function open() {
    if (shared.source) shared.source.close();
    var ids = Object.keys(shared.ids);
    shared.source = new EventSource(ORIGIN + "/api/events?announce=false&snippets=" + ids.map(encodeURIComponent).join(","));
    NAMES.forEach(function (name) {
      shared.source.addEventListener(name, function (event) {
        shared.frames.forEach(function (f) {
          if (f.contentWindow) f.contentWindow.postMessage({ highlighterEvent: name, data: event.data }, ORIGIN);
        });
      });
    });
  }
  window.addEventListener("message", function (event) {
    if (event.origin !== ORIGIN || event.source !== frame.contentWindow) return;
    var data = event.data || {};
    var height = data.highlighterHeight;
    if (typeof height === "number" && height > 0 && height < 100000) frame.style.height = Math.ceil(height) + "px";
    if (typeof data.highlighterFollow === "string") {
      event.source.postMessage({ highlighterFollowed: true }, ORIGIN);
      if (!shared.ids[data.highlighterFollow]) {
        shared.ids[data.highlighterFollow] = true;
        // Frames loading together ask once.
        clearTimeout(shared.timer);
        shared.timer = setTimeout(open, 60);
      }
    }
  });
})();
"#;

/// `GET /embed-live.js`: runs in each frame. It reports the frame's
/// height to the page around it, and follows the snippet through the
/// shared worker (or a stream of its own where there is no
/// `SharedWorker`).
pub async fn live_script() -> Response {
    script_response(LIVE_SCRIPT.to_owned(), None)
}

const LIVE_SCRIPT: &str = r#"(function () {
  var root = document.documentElement;
  var id = root.dataset.snippet;
  if (!id) return;
  var revision = Number(root.dataset.revision) || 0;
  var done = root.dataset.state === "succeeded" || root.dataset.state === "failed";
  var framed = parent !== window;
  function tellHeight() {
    if (framed) parent.postMessage({ highlighterHeight: root.scrollHeight, snippet: id }, "*");
  }
  if (window.ResizeObserver) new ResizeObserver(tellHeight).observe(document.body);
  tellHeight();
  var fetching = false, again = false;
  function status(text) {
    var el = document.querySelector("footer.embed .status");
    if (el) el.textContent = text;
  }
  function reload() {
    if (fetching) { again = true; return; }
    fetching = true;
    fetch(location.href, { cache: "no-store", credentials: "omit" }).then(function (response) {
      return response.text().then(function (text) {
        var next = new DOMParser().parseFromString(text, "text/html");
        var embed = next.getElementById("embed") || next.body.firstElementChild;
        var current = document.getElementById("embed") || document.body.firstElementChild;
        if (embed && current) current.replaceWith(document.importNode(embed, true));
        var r = next.documentElement.dataset;
        revision = Number(r.revision) || revision;
        done = r.state === "succeeded" || r.state === "failed";
        root.dataset.revision = String(revision);
        tellHeight();
      });
    }).catch(function () {}).then(function () {
      fetching = false;
      if (again) { again = false; reload(); }
    });
  }
  function heard(name, data) {
    if (!data || data.id !== id) return;
    var r = Number(data.revision) || 0;
    if (name === "deleted") return reload();
    if (name === "revision" && r > revision) return status("Updating to revision " + r + "…");
    if ((name === "highlighted" || name === "failed") && (r > revision || (r === revision && !done))) return reload();
    if (name === "state" && r > revision) status("Updating to revision " + r + "…");
  }
  var names = ["state", "revision", "highlighted", "failed", "deleted"];
  // The embed script in the page around the frame holds one stream for
  // every embed of the page, and hands each frame its events.
  var followed = false;
  addEventListener("message", function (event) {
    if (event.source !== parent || !event.data) return;
    if (event.data.highlighterFollowed) followed = true;
    else if (typeof event.data.highlighterEvent === "string") {
      try { heard(event.data.highlighterEvent, JSON.parse(event.data.data)); } catch (e) {}
    }
  });
  if (framed) parent.postMessage({ highlighterFollow: id }, "*");
  // A frame on its own (an oEmbed iframe): the frames of a page share
  // one stream through a SharedWorker where the browser allows one here,
  // or the frame opens its own.
  function own() {
    var source = new EventSource("/api/events?announce=false&snippets=" + encodeURIComponent(id));
    names.forEach(function (name) {
      source.addEventListener(name, function (event) { heard(name, JSON.parse(event.data)); });
    });
  }
  function alone() {
    if (followed) return;
    if (!window.SharedWorker) return own();
    try {
      var worker = new SharedWorker("/embed-worker.js", { name: "highlighter-embeds" });
      var working = false;
      worker.onerror = function () { if (!working) { working = true; own(); } };
      worker.port.onmessage = function (event) { working = true; heard(event.data.name, event.data.data); };
      worker.port.start();
      worker.port.postMessage({ follow: id });
      addEventListener("pagehide", function () { worker.port.postMessage({ leave: id }); });
    } catch (e) { own(); }
  }
  setTimeout(alone, framed ? 1500 : 0);
})();
"#;

/// `GET /embed-worker.js`: the `SharedWorker` every frame of a page
/// shares. It holds one stream for every snippet its frames show, and
/// opens it again (after a moment, so frames loading together ask once)
/// when a frame asks for a snippet it does not follow yet.
pub async fn worker_script() -> Response {
    script_response(WORKER_SCRIPT.to_owned(), Some(WORKER_POLICY))
}

const WORKER_SCRIPT: &str = r#"var ports = [];
var counts = new Map();
var source = null;
var timer = 0;
var names = ["state", "revision", "highlighted", "failed", "deleted"];
function open() {
  clearTimeout(timer);
  timer = setTimeout(function () {
    if (source) source.close();
    source = null;
    var ids = Array.from(counts.keys());
    if (!ids.length) return;
    source = new EventSource("/api/events?announce=false&snippets=" + ids.map(encodeURIComponent).join(","));
    names.forEach(function (name) {
      source.addEventListener(name, function (event) {
        var data = JSON.parse(event.data);
        ports.forEach(function (port) { port.postMessage({ name: name, data: data }); });
      });
    });
  }, 60);
}
onconnect = function (event) {
  var port = event.ports[0];
  ports.push(port);
  port.onmessage = function (message) {
    var data = message.data || {};
    if (typeof data.follow === "string") {
      var had = counts.has(data.follow);
      counts.set(data.follow, (counts.get(data.follow) || 0) + 1);
      if (!had) open();
    } else if (typeof data.leave === "string") {
      var left = (counts.get(data.leave) || 1) - 1;
      if (left > 0) counts.set(data.leave, left); else counts.delete(data.leave);
      var at = ports.indexOf(port);
      if (at >= 0) ports.splice(at, 1);
    }
  };
  port.start();
};
"#;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OembedQuery {
    /// The snippet's address (`https://host/s/{id}`).
    url: String,
    #[serde(default)]
    maxwidth: Option<u32>,
    #[serde(default)]
    maxheight: Option<u32>,
    /// `json` (the default) or `xml`.
    #[serde(default)]
    #[param(pattern = "^(json|xml)?$")]
    format: Option<String>,
}

/// An oEmbed answer (`type: rich`), as oEmbed 1.0 spells it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Oembed {
    version: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    title: String,
    provider_name: &'static str,
    provider_url: String,
    /// An `<iframe>` of `/s/{id}/embed`.
    html: String,
    width: u32,
    height: u32,
    cache_age: u32,
}

/// `GET /api/oembed?url=`: how to embed a snippet's link.
#[utoipa::path(
    get,
    path = "/api/oembed",
    tag = "embeds",
    params(OembedQuery),
    responses(
        (status = 200, description = "oEmbed 1.0, type `rich`: an iframe of the snippet's embed page, with absolute links (JSON, or XML with `format=xml`).", content((Oembed = "application/json"), (String = "text/xml"))),
        (status = 400, description = "Not a snippet's address on this site, or an unknown format.", body = ErrorBody),
        (status = 401, description = "A burn-after-reading snippet: it does not embed.", body = ErrorBody),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
    ),
)]
pub async fn oembed(
    State(state): State<AppState>,
    Query(query): Query<OembedQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let xml = match query.format.as_deref().map(str::trim) {
        None | Some("" | "json") => false,
        Some("xml") => true,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "`format` is json (the default) or xml.",
            ));
        }
    };
    let origin = site_origin(&state, &headers);
    let id = snippet_of_url(&query.url, &origin).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`url` must be a snippet's address on this site: {origin}/s/<id>."),
        )
    })?;
    let view = match embeddable(&state, &id).await {
        Ok(view) => view,
        // oEmbed says 401 for what exists and may not be embedded.
        Err((StatusCode::FORBIDDEN, message)) => {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, message));
        }
        Err((status, message)) => return Err(ApiError::new(status, message)),
    };
    let width = query.maxwidth.unwrap_or(720).clamp(200, 2000);
    let lines = view.line_count().min(OEMBED_MAX_LINES);
    // A header and a footer, then 18 px a line (12 px type at 1.5).
    let wanted = 40 * view.files.len() as u32 + 30 + 18 * lines.max(1);
    let height = match query.maxheight {
        Some(max) => wanted.min(max.max(60)),
        None => wanted,
    };
    let title = view.title();
    let src = format!("{origin}/s/{}/embed", view.id);
    let html = format!(
        "<iframe src=\"{src}\" width=\"{width}\" height=\"{height}\" style=\"border:0;width:100%;max-width:{width}px\" loading=\"lazy\" title=\"{}\"></iframe>",
        escape(&title)
    );
    let answer = Oembed {
        version: "1.0",
        kind: "rich",
        title,
        provider_name: "Highlighter",
        provider_url: format!("{origin}/"),
        html,
        width,
        height,
        cache_age: 300,
    };
    if xml {
        return Ok((
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            answer.to_xml(),
        )
            .into_response());
    }
    Ok(Json(answer).into_response())
}

impl Oembed {
    /// oEmbed's XML form: the same fields, one element each.
    fn to_xml(&self) -> String {
        let fields = [
            ("version", self.version.to_owned()),
            ("type", self.kind.to_owned()),
            ("title", self.title.clone()),
            ("provider_name", self.provider_name.to_owned()),
            ("provider_url", self.provider_url.clone()),
            ("html", self.html.clone()),
            ("width", self.width.to_string()),
            ("height", self.height.to_string()),
            ("cache_age", self.cache_age.to_string()),
        ];
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\n<oembed>\n",
        );
        for (name, value) in fields {
            xml.push_str(&format!("  <{name}>{}</{name}>\n", escape(&value)));
        }
        xml.push_str("</oembed>\n");
        xml
    }
}

/// The id in a snippet's address: `{origin}/s/{id}` (any host this
/// server answers for is accepted as the origin's), with no more path.
fn snippet_of_url(url: &str, origin: &str) -> Option<SnippetId> {
    let rest = url.strip_prefix(origin).or_else(|| {
        url.strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .and_then(|u| u.find('/').map(|at| &u[at..]))
    })?;
    let rest = rest.split(['?', '#']).next()?;
    let id = rest.strip_prefix("/s/")?.trim_end_matches('/');
    SnippetId::parse(id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oembed_reads_the_id_from_a_snippet_address_only() {
        let origin = "http://127.0.0.1:3000";
        let id = "abcdefABCDEF";
        for ok in [
            format!("{origin}/s/{id}"),
            format!("{origin}/s/{id}/"),
            format!("{origin}/s/{id}?x=1#L3"),
            format!("https://paste.example/s/{id}"),
        ] {
            assert_eq!(
                snippet_of_url(&ok, origin).map(|i| i.to_string()),
                Some(id.to_owned()),
                "{ok}"
            );
        }
        for refused in [
            format!("{origin}/s/{id}/raw"),
            format!("{origin}/x/{id}"),
            "javascript:alert(1)".to_owned(),
            format!("{origin}/s/short"),
        ] {
            assert_eq!(snippet_of_url(&refused, origin), None, "{refused}");
        }
    }

    #[test]
    fn script_literals_cannot_close_the_script() {
        assert_eq!(json_string("</script>"), "\"\\u003c/script>\"");
    }
}
