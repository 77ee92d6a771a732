//! The server functions' wire format: JSON, read from text.
//!
//! Leptos' own JSON codec reads a response from bytes
//! (`serde_json::from_slice`), while the data a page is hydrated with and
//! every pushed event are read from text (`serde_json::from_str`). serde
//! builds one deserializer per type *and per reader*, so every type that
//! crosses both ways was compiled into the client twice. Reading the
//! responses as text too leaves one of each. The bytes on the wire are the
//! same JSON, under the same content type.

use leptos::server_fn::{
    Bytes, ContentType, Decodes, Encodes, Format, FormatType,
    codec::{Json, Post},
};
use serde::{Serialize, de::DeserializeOwned};

/// JSON, decoded from text: see the module's comment.
pub struct JsonText;

/// A server function's `output`: a POST answered with [`JsonText`].
pub type JsonTextOutput = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = <Json as ContentType>::CONTENT_TYPE;
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            <serde_json::Error as serde::de::Error>::custom(format!("the answer is not UTF-8: {e}"))
        })?;
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_encoded_decodes_and_bad_bytes_are_an_error() {
        let bytes = <JsonText as Encodes<Vec<String>>>::encode(&vec!["é".to_owned()]).unwrap();
        assert_eq!(&bytes[..], "[\"é\"]".as_bytes());
        let back: Vec<String> = JsonText::decode(bytes).unwrap();
        assert_eq!(back, ["é"]);
        let broken = <JsonText as Decodes<Vec<String>>>::decode(Bytes::from_static(b"[\"\xff\"]"));
        assert!(broken.unwrap_err().to_string().contains("not UTF-8"));
    }
}
