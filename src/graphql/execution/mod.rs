//! How a request is checked and run before and around the resolvers: its
//! document parsed once and remembered ([`documents`], [`validated`]),
//! measured against the limits ([`limits`]), refused for hostile input
//! ([`strict`]), its errors given Apollo's codes ([`codes`]) and its
//! answer's fields kept in the order asked ([`field_order`]).

pub(crate) mod codes;
pub mod documents;
pub(crate) mod field_order;
pub mod limits;
pub(crate) mod strict;
pub(crate) mod validated;
