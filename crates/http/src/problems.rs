//! The error answers an operation documents, one type per status: a handler's
//! `#[utoipa::path(responses(...))]` lists the ones it can give after its success tuple. Each is
//! an `application/problem+json` body (`Problem`).

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

macro_rules! problems {
    ($($(#[$doc:meta])* $name:ident => $status:literal, $description:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problem($status, $description)
            }
        }
    )*};
}

fn problem(status: &str, description: &str) -> BTreeMap<String, RefOr<Response>> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    let response = ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", content)
        .build();
    BTreeMap::from([(status.to_owned(), RefOr::T(response))])
}

problems! {
    Malformed => "400", "Malformed request: JSON, query string, path id or cursor.";
    Unauthenticated => "401", "No valid API key.";
    Forbidden => "403", "The caller's role does not allow it.";
    NotFound => "404", "Not found, or not visible to the caller.";
    Conflict => "409", "Conflicts with the stored state (e.g. a finalized version).";
    /// Finalizing, registering or completing bytes the store does not hold as declared.
    BytesMismatch => "412", "The stored bytes do not match the declared size or digests.";
    NoSuchUpload => "412", "No such upload for these bytes, or parts that do not add up.";
    TooLarge => "413", "The body, or a size it declares, is too large.";
    NotJson => "415", "The body is not application/json.";
    BadRange => "416", "The range cannot be satisfied.";
    Invalid => "422", "Invalid input; the problem names the field.";
    Unavailable => "503", "The database or the blob store does not answer; retry.";
    OutOfSpace => "507", "The store is out of space.";
}
