//! Media work: identifying what bytes are (and, later, transforming them).

pub mod metadata;
pub mod phash;
pub mod probe;
pub mod render;
pub mod vips;
