//! A small server-sent-events client over reqwest, enough to read what a
//! browser's EventSource would: `id`, `event`, `data`, `retry`; comments
//! (keep-alives) skipped.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
    pub retry: Option<u64>,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).expect("event data is JSON")
    }
}

pub struct SseClient {
    pub status: reqwest::StatusCode,
    body: Option<futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>>,
    /// Bytes received and not yet read as events. The network cuts the
    /// stream anywhere, even inside a character; an event's block (up to
    /// its blank line) is whole UTF-8, so blocks are decoded, not chunks.
    buffer: Vec<u8>,
}

impl SseClient {
    pub async fn connect(client: &reqwest::Client, url: &str) -> SseClient {
        Self::connect_with(client.get(url)).await
    }

    /// Opens a stream with a request of the caller's (cookies, tokens).
    pub async fn connect_with(request: reqwest::RequestBuilder) -> SseClient {
        let response = request
            .header("accept", "text/event-stream")
            .send()
            .await
            .expect("stream request sent");
        let status = response.status();
        SseClient {
            status,
            body: Some(response.bytes_stream().boxed()),
            buffer: Vec::new(),
        }
    }

    /// A client reading `chunks` as the network would deliver them.
    pub fn from_chunks(chunks: Vec<bytes::Bytes>) -> SseClient {
        let chunks: Vec<reqwest::Result<bytes::Bytes>> = chunks.into_iter().map(Ok).collect();
        SseClient {
            status: reqwest::StatusCode::OK,
            body: Some(futures_util::stream::iter(chunks).boxed()),
            buffer: Vec::new(),
        }
    }

    /// The next event, or `None` when the server ended the stream.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let block = String::from_utf8(block).expect("an event's block is UTF-8");
                if let Some(event) = parse_block(&block) {
                    return Some(event);
                }
                continue;
            }
            let chunk = self.body.as_mut()?.next().await;
            match chunk {
                Some(Ok(bytes)) => self.buffer.extend_from_slice(&bytes),
                _ => {
                    self.body = None;
                    return None;
                }
            }
        }
    }

    pub async fn next_within(&mut self, limit: Duration) -> Option<SseEvent> {
        tokio::time::timeout(limit, self.next())
            .await
            .expect("no event within the time limit")
    }

    /// Every event until the server ends the stream.
    pub async fn collect_until_end(&mut self, limit: Duration) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + limit;
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, self.next()).await {
            events.push(event);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream did not end within {limit:?}; got {events:?}"
        );
        events
    }
}

fn parse_block(block: &str) -> Option<SseEvent> {
    let mut event = SseEvent::default();
    let mut data = Vec::new();
    let mut any = false;
    for line in block.lines() {
        if line.starts_with(':') || line.is_empty() {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        any = true;
        match field {
            "id" => event.id = Some(value.to_owned()),
            "event" => event.event = value.to_owned(),
            "data" => data.push(value.to_owned()),
            "retry" => event.retry = value.parse().ok(),
            _ => {}
        }
    }
    if !any || (data.is_empty() && event.event.is_empty()) {
        return None;
    }
    if event.event.is_empty() {
        event.event = "message".to_owned();
    }
    event.data = data.join("\n");
    Some(event)
}
