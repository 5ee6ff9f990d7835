//! JSON bodies that must be objects. serde's derived `Deserialize` also fills a struct from an
//! array, by position (`["name"]` would create a project, `[]` would run a collection): every
//! body here is an object, and anything else is a 422 problem document.

use std::fmt;
use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::ApiError;

/// A JSON request body holding an object, deserialized into `T`. Errors go through the app's
/// `JsonConfig` (size limit, content type, problem documents).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Json::<ObjectOnly<T>>::from_request(req, payload);
        Box::pin(async move { Ok(Json(body.await?.into_inner().0)) })
    }
}

/// Parses a JSON document that must be an object (for bodies read by hand).
pub fn from_object_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice::<ObjectOnly<T>>(bytes)
        .map(|o| o.0)
        .map_err(|e| {
            if e.is_data() {
                ApiError::invalid(format!("invalid JSON body: {e}"))
            } else {
                ApiError::bad_request("malformed_json", format!("malformed JSON body: {e}"))
            }
        })
}

/// `T`, accepted only from a JSON object.
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(ObjectVisitor(PhantomData))
            .map(ObjectOnly)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Named {
        name: String,
        #[serde(default)]
        dry_run: bool,
    }

    #[test]
    fn objects_deserialize_and_arrays_do_not() {
        let ok: Named = from_object_slice(br#"{"name":"a","dry_run":true}"#).expect("object");
        assert_eq!(
            ok,
            Named {
                name: "a".into(),
                dry_run: true
            }
        );
        for bad in [&br#"["a"]"#[..], b"[]", b"\"a\"", b"3", b"null"] {
            let e = from_object_slice::<Named>(bad).expect_err("not an object");
            assert_eq!(e.status.as_u16(), 422, "{}", String::from_utf8_lossy(bad));
            assert!(e.detail.contains("a JSON object"), "{}", e.detail);
        }
        let e = from_object_slice::<Named>(br#"{"name":"a","x":1}"#).expect_err("unknown");
        assert!(e.detail.contains("unknown field"), "{}", e.detail);
        let e = from_object_slice::<Named>(b"{\"name\":").expect_err("truncated");
        assert_eq!(e.status.as_u16(), 400);
    }
}
