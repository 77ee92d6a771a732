//! The server-sent-events wire format, written here and nowhere else (as
//! mini-redis keeps every frame of its protocol in `frame.rs`).
//!
//! An event is an [`EventBody`] (its `event:` and `data:` lines and the
//! blank line that ends it), encoded once by the hub and shared by every
//! stream that sends it, behind an `id:` line each stream writes itself.
//! Ids count one stream's events (1, 2, 3...): a stream tells its reader
//! nothing about the rest of the server (how many snippets others
//! submitted meanwhile), and a reconnecting client starts again from a
//! snapshot, so an id never has to mean anything across streams.

use bytes::{BufMut, Bytes, BytesMut};

/// How long a browser waits before reconnecting a dropped stream. It has
/// no blank line of its own: it joins the first event sent.
pub const RETRY_HINT: &[u8] = b"retry: 2000\n";

/// A comment line: keeps proxies from timing out an idle stream, and
/// finds clients that left.
pub const KEEP_ALIVE: &[u8] = b":\n\n";

/// The last word to a client that fell behind. It has no `id:`, so the
/// client's last event id stays.
pub const RESYNC: &[u8] =
    b"event: resync\ndata: {\"reason\":\"This stream fell behind; reconnect to catch up.\"}\n\n";

/// One event without its `id:` line: `event: <name>`, one `data:` line of
/// JSON, and the blank line. JSON never holds a raw newline, so one
/// `data:` line carries it whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventBody(Bytes);

impl EventBody {
    pub fn new(name: &str, json: &str) -> Self {
        let mut body = BytesMut::with_capacity(json.len() + name.len() + 16);
        body.put_slice(b"event: ");
        body.put_slice(name.as_bytes());
        body.put_slice(b"\ndata: ");
        body.put_slice(json.as_bytes());
        body.put_slice(b"\n\n");
        EventBody(body.freeze())
    }

    /// The JSON of an event of `name`.
    pub fn of<T: serde::Serialize>(name: &str, payload: &T) -> Self {
        let json = serde_json::to_string(payload)
            .expect("event payloads are plain data and always serialise");
        EventBody::new(name, &json)
    }

    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl AsRef<[u8]> for EventBody {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// One stream's event ids: 1, 2, 3...
#[derive(Debug, Default)]
pub struct EventIds(u64);

impl EventIds {
    /// The `id:` line of the stream's next event.
    pub fn next_line(&mut self) -> Bytes {
        self.0 += 1;
        Bytes::from(format!("id: {}\n", self.0))
    }

    /// Writes the next event, whole, onto `out` (for a batch of events
    /// that leaves in one write).
    pub fn write(&mut self, body: &EventBody, out: &mut BytesMut) {
        self.0 += 1;
        out.put_slice(b"id: ");
        out.put_slice(self.0.to_string().as_bytes());
        out.put_u8(b'\n');
        out.put_slice(&body.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_numbered_by_their_stream() {
        let body = EventBody::new("state", r#"{"id":"abc","state":"queued"}"#);
        assert_eq!(
            body.bytes().as_ref(),
            b"event: state\ndata: {\"id\":\"abc\",\"state\":\"queued\"}\n\n"
        );
        let (mut one, mut two) = (EventIds::default(), EventIds::default());
        assert_eq!(one.next_line(), "id: 1\n");
        assert_eq!(one.next_line(), "id: 2\n");
        let mut batch = BytesMut::new();
        two.write(&body, &mut batch);
        two.write(&body, &mut batch);
        let text = String::from_utf8(batch.to_vec()).unwrap();
        assert!(text.starts_with("id: 1\nevent: state\n"), "{text}");
        assert!(text.contains("\n\nid: 2\nevent: state\n"), "{text}");
    }
}
