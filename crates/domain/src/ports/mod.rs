//! Port traits: what the domain needs from the outside world.

mod blob;
mod metadata;

pub use blob::*;
pub use metadata::*;
