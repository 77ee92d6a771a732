//! The load client's side of a server-sent-events stream: reads what a
//! browser's EventSource would, keeping only each event's name and data.

pub struct Event {
    pub name: String,
    pub data: String,
}

pub struct EventStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    /// Bytes of the body received so far.
    pub received: usize,
}

impl EventStream {
    /// Opens the stream and returns once the response headers arrived,
    /// which is when the server has subscribed it.
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
        Ok(EventStream {
            response,
            buffer: Vec::new(),
            received: 0,
        })
    }

    /// The next event, or `None` when the stream ended or broke.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&String::from_utf8_lossy(&block)) {
                    return Some(event);
                }
                continue;
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => {
                    self.received += bytes.len();
                    self.buffer.extend_from_slice(&bytes);
                }
                _ => return None,
            }
        }
    }
}

/// One event block; `None` for comments (keep-alives) and hints alone.
fn parse(block: &str) -> Option<Event> {
    let mut name = String::new();
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => name = value.to_owned(),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    if name.is_empty() {
        name = "message".to_owned();
    }
    Some(Event {
        name,
        data: data.join("\n"),
    })
}
