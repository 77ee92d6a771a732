//! The load client's side of a server-sent-events stream: the crate's own
//! reader (`highlighter::client::sse`), opened as a browser opens one.

pub use highlighter::client::sse::EventStream;

/// Opens the stream and returns once the response headers arrived, which
/// is when the server has subscribed it.
pub async fn open(client: &reqwest::Client, url: &str) -> Result<EventStream, String> {
    let response = client
        .get(url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    Ok(EventStream::new(response))
}
