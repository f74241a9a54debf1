// TEMPORARY until the real probe lands (being written in parallel).
use std::io::{Read, Seek};
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub mime: &'static str,
    pub format: &'static str,
    pub dimensions: Option<(u32, u32)>,
    pub has_alpha: bool,
}
impl Probe {
    pub fn is_image(&self) -> bool {
        self.dimensions.is_some()
    }
}
pub fn probe<R: Read + Seek>(_reader: &mut R, _len: u64) -> std::io::Result<Probe> {
    Ok(Probe {
        mime: "application/octet-stream",
        format: "",
        dimensions: None,
        has_alpha: false,
    })
}
