//! `Query<T>`: the query string through `serde_html_form`, which (unlike actix-web's
//! `web::Query`) reads a repeated key such as `?type=model&type=dataset` into a `Vec`. Errors
//! are the same 400 problem documents as every other malformed query.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // `key=` with nothing after it would read as "not given": say so instead.
        if let Some(empty) = req
            .query_string()
            .split('&')
            .find_map(|pair| pair.strip_suffix('=').filter(|k| !k.contains('=')))
        {
            return ready(Err(ApiError::bad_request(
                "invalid_query",
                format!("invalid query string: {empty} is empty; leave the parameter out instead"),
            )
            .into()));
        }
        ready(
            serde_html_form::from_str::<T>(req.query_string())
                .map(Query)
                .map_err(|e| {
                    ApiError::bad_request("invalid_query", format!("invalid query string: {e}"))
                        .into()
                }),
        )
    }
}

/// Values of a repeated key, each also split at commas: `type=model,code&type=file`.
pub fn split_values(values: &[String]) -> impl Iterator<Item = &str> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}
