//! Kura: a self-hosted digital asset management server that speaks ImageKit's Media API.
//! See ARCHITECTURE.md for the map of these modules.

pub mod app;
pub mod blobs;
pub mod config;
pub mod http;
pub mod index;
pub mod media;
pub mod model;
pub mod remote;
pub mod server;
pub mod store;
