//! Reading a server-sent-events stream as a browser's `EventSource` does:
//! blocks up to a blank line, `event:` and `data:` fields (several `data:`
//! lines joined), `id:`; comments (keep-alives) skipped. Blocks are
//! decoded whole: the network may cut a chunk inside a character.

/// One event: its name (`message` when it has none), data and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub name: String,
    pub data: String,
    pub id: Option<String>,
}

/// An open stream.
pub struct EventStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    /// Bytes of the body received so far.
    pub received: usize,
}

impl EventStream {
    /// Reads events from `response`, whose headers have arrived.
    pub fn new(response: reqwest::Response) -> Self {
        EventStream {
            response,
            buffer: Vec::new(),
            received: 0,
        }
    }

    /// The next event; `None` when the stream ended or broke.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = block_end(&self.buffer) {
                let block: Vec<u8> = self.buffer.drain(..end).collect();
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

/// Where the first block ends (after its blank line), `\n\n` or
/// `\r\n\r\n`.
fn block_end(buffer: &[u8]) -> Option<usize> {
    let lf = buffer
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|at| at + 2);
    let crlf = buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One block; `None` for comments and hints alone.
fn parse(block: &str) -> Option<Event> {
    let mut name = String::new();
    let mut data: Vec<&str> = Vec::new();
    let mut id = None;
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => name = value.to_owned(),
            "data" => data.push(value),
            "id" => id = Some(value.to_owned()),
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
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_make_events_and_comments_make_none() {
        assert_eq!(
            parse("id: 3\nevent: state\ndata: {\"a\":1}\n\n"),
            Some(Event {
                name: "state".into(),
                data: "{\"a\":1}".into(),
                id: Some("3".into())
            })
        );
        assert_eq!(parse(": keep-alive\n\n"), None);
        assert_eq!(parse("data: a\ndata: b\n\n").unwrap().data, "a\nb");
        assert_eq!(block_end(b"data: x\r\n\r\nmore"), Some(11));
        assert_eq!(block_end(b"data: x\n"), None);
    }
}
