//! A snippet's files as files: `/s/{id}/raw` and `/s/{id}/raw/{file}`
//! (plain text, never sniffed into HTML), `/s/{id}/download` (the one file
//! as an attachment, or every file of a larger snippet as one `.zip`,
//! written as it is sent).
//!
//! Reading a burn-after-reading snippet's file reads the whole snippet:
//! it burns, every file with it.

use axum::{
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{
    ApiError, ErrorBody,
    rest::{escape, parse_id},
    site_origin,
};
use crate::{
    domain::{FileView, SnippetView},
    server::{
        AppState,
        owner::Credentials,
        service::{ReadIntent, ServiceError},
    },
};

/// Code as plain text, kept by nobody.
pub(super) fn plain_text(code: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        code,
    )
        .into_response()
}

async fn read(
    state: &AppState,
    id: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Result<SnippetView, ApiError> {
    let id = parse_id(id)?;
    Ok(state
        .read(
            &id,
            None,
            &Credentials::from_headers(headers),
            ReadIntent::of(method, headers),
        )
        .await?)
}

/// `GET /s/{id}/raw`: a one-file snippet's code; for several files, 300
/// with the link of each (`/s/{id}/raw/{file}`).
#[utoipa::path(
    get,
    path = "/s/{id}/raw",
    tag = "files",
    params(("id" = String, Path, description = "The snippet's id.")),
    responses(
        (status = 200, description = "The code of its one file, byte for byte.", content_type = "text/plain", body = String),
        (status = 300, description = "It has several files: the raw link of each, one a line.", content_type = "text/plain", body = String),
        (status = 403, description = "A HEAD or prefetch of a burn-after-reading snippet.", body = ErrorBody),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn raw(
    State(state): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let view = read(&state, &id, &method, &headers).await?;
    if let [one] = view.files.as_slice() {
        return Ok(plain_text(one.code.clone()));
    }
    let origin = site_origin(&state, &headers);
    let links: Vec<String> = view
        .files
        .iter()
        .map(|f| format!("{origin}{}", raw_path(&view, f)))
        .collect();
    let mut response = (
        StatusCode::MULTIPLE_CHOICES,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        links.join("\n") + "\n",
    )
        .into_response();
    for link in &links {
        if let Ok(value) = HeaderValue::from_str(&format!("<{link}>; rel=\"alternate\"")) {
            response.headers_mut().append(header::LINK, value);
        }
    }
    Ok(response)
}

/// Where one file's raw code is: its name, percent-encoded.
pub fn raw_path(view: &SnippetView, file: &FileView) -> String {
    crate::domain::files::raw_path(&view.id, &file.name)
}

pub use crate::domain::files::percent_encode;

/// `GET /s/{id}/raw/{file}`: one file's code.
#[utoipa::path(
    get,
    path = "/s/{id}/raw/{file}",
    tag = "files",
    params(
        ("id" = String, Path, description = "The snippet's id."),
        ("file" = String, Path, description = "The file's name."),
    ),
    responses(
        (status = 200, description = "The file's code, byte for byte.", content_type = "text/plain", body = String),
        (status = 403, description = "A HEAD or prefetch of a burn-after-reading snippet.", body = ErrorBody),
        (status = 404, description = "No such snippet, or no file of that name.", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn raw_file(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let view = read(&state, &id, &method, &headers).await?;
    match view.files.into_iter().find(|f| f.name == name) {
        Some(file) => Ok(plain_text(file.code)),
        None => Err(ServiceError::NoSuchFile(name.chars().take(64).collect()).into()),
    }
}

/// `GET /s/{id}/download`: the one file as an attachment, named after it
/// (or the snippet's id and the language's usual extension), or every
/// file as `snippet-{id}.zip`.
#[utoipa::path(
    get,
    path = "/s/{id}/download",
    tag = "files",
    params(("id" = String, Path, description = "The snippet's id.")),
    responses(
        (status = 200, description = "The code as an attachment: the one file, or a zip of every file.", content_type = "application/octet-stream", body = String,
            headers(("Content-Disposition" = String, description = "attachment; the file name"))),
        (status = 403, description = "A HEAD or prefetch of a burn-after-reading snippet.", body = ErrorBody),
        (status = 404, description = "No snippet has this id.", body = ErrorBody),
        (status = 410, description = "Gone.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
)]
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let view = read(&state, &id, &method, &headers).await?;
    if let [one] = view.files.as_slice() {
        let name = if one.named {
            one.name.clone()
        } else {
            let extension = state
                .languages
                .list()
                .iter()
                .find(|l| l.name == one.language)
                .and_then(|l| l.aliases.first().cloned())
                .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()))
                .unwrap_or_else(|| "txt".to_owned());
            format!("snippet-{}.{extension}", view.id)
        };
        return Ok(attachment(
            "application/octet-stream",
            &name,
            Body::from(one.code.clone()),
        ));
    }
    let name = format!("snippet-{}.zip", view.id);
    Ok(attachment("application/zip", &name, zip_stream(view)))
}

fn attachment(content_type: &'static str, name: &str, body: Body) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&content_disposition(name)) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Every file of `view` as a zip, written on a blocking thread into the
/// response as it goes: each file is compressed once, into the body, and
/// the archive never exists whole in memory.
fn zip_stream(view: SnippetView) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let sink = ChannelWriter { tx: tx.clone() };
        let mut zip = zip::ZipWriter::new_stream(sink);
        let mut options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        // Each file is dated when its revision was saved (zip keeps local
        // time with two-second steps; UTC is written as it is).
        {
            use chrono::{Datelike, Timelike};
            let at = view.revised_at;
            if let Ok(year) = u16::try_from(at.year())
                && let Ok(when) = zip::DateTime::from_date_and_time(
                    year,
                    at.month() as u8,
                    at.day() as u8,
                    at.hour() as u8,
                    at.minute() as u8,
                    at.second() as u8,
                )
            {
                options = options.last_modified_time(when);
            }
        }
        let written = (|| -> zip::result::ZipResult<()> {
            for file in &view.files {
                zip.start_file(file.name.as_str(), options)?;
                std::io::Write::write_all(&mut zip, file.code.as_bytes())?;
            }
            zip.finish()?;
            Ok(())
        })();
        if let Err(e) = written {
            // The client has the head already: the body ends with an error.
            let _ = tx.blocking_send(Err(std::io::Error::other(e)));
        }
    });
    Body::from_stream(tokio_stream_of(rx))
}

/// The receiving end as a stream of body chunks.
fn tokio_stream_of(
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    })
}

/// A `Write` that hands what it is given to the response body, waiting
/// while the client is slower than the compression.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A quoted ASCII fallback plus the exact name in RFC 5987 form.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        percent_encode(name)
    )
}

/// A file's name as the page shows it, escaped (for the zip test's
/// messages and the embed page).
#[allow(dead_code)]
pub(super) fn shown_name(file: &FileView) -> String {
    escape(&file.name)
}
