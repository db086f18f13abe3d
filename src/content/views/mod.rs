//! Page views: counted in memory and written in batches, told apart by
//! client across processes, and kept on disk when the database is away at
//! shutdown.

pub mod counter;
pub mod marks;
pub mod spill;
