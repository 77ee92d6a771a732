//! The load client's side of a server-sent-events stream: the crate's own
//! reader (`highlighter::client::sse`), opened as a browser opens one.

pub use highlighter::client::sse::EventStream;

/// Opens the stream and returns once the response headers arrived, which
/// is when the server has subscribed it.
pub async fn open(client: &reqwest::Client, url: &str) -> Result<EventStream, String> {
    open_raw(client, url).await.map(EventStream::new)
}

/// [`open`], with the response left unread: for a reader that only counts.
pub async fn open_raw(client: &reqwest::Client, url: &str) -> Result<reqwest::Response, String> {
    let response = client
        .get(url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    Ok(response)
}

/// How many events named `name` the stream carries until it ends or
/// `stop`, counted in its bytes (`\nevent: name\n`: a `data:` line of JSON
/// never holds a raw newline) without parsing an event. A thousand home
/// streams parsed event by event, an allocation per event, took the load
/// client's share of two cores away from the server it measures.
pub async fn count_events(
    mut response: reqwest::Response,
    name: &str,
    stop: tokio_util::sync::CancellationToken,
) -> usize {
    let mark = format!("\nevent: {name}\n").into_bytes();
    // The last bytes of the previous chunk, shorter than a mark: a mark
    // split between two chunks is counted once, and none twice.
    let mut window: Vec<u8> = Vec::with_capacity(4096);
    let mut count = 0;
    loop {
        let chunk = tokio::select! {
            _ = stop.cancelled() => return count,
            chunk = response.chunk() => match chunk {
                Ok(Some(chunk)) => chunk,
                _ => return count,
            },
        };
        window.extend_from_slice(&chunk);
        count += window
            .windows(mark.len())
            .filter(|w| *w == mark.as_slice())
            .count();
        let keep = window.len().min(mark.len() - 1);
        window.drain(..window.len() - keep);
    }
}
