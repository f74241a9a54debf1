//! URL transformations (`tr:w-300,h-200:rt-90` in the path, or `?tr=…`): ImageKit's grammar
//! parsed into typed steps, checked, and written back in one canonical spelling — the key of
//! the derived-image cache, so that two spellings of one transformation share an entry.
//!
//! Steps are separated by `:` and applied in order; a step's parameters by `,`; a parameter's
//! key from its value by its first `-` (`ar-4-3`, `bg-F3F3F3`); flags have no value
//! (`e-grayscale`). Unknown parameters and impossible values are errors naming the parameter.

use std::fmt::Write;

/// Largest output side, in pixels, a transformation may ask for.
pub const MAX_SIDE: u32 = 16_384;
/// Most steps in one transformation.
pub const MAX_STEPS: usize = 16;
/// Longest transformation text accepted, in bytes.
pub const MAX_LENGTH: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid transformation parameter `{parameter}`: {message}")]
pub struct TransformError {
    pub parameter: String,
    pub message: String,
}

fn invalid(parameter: &str, message: impl Into<String>) -> TransformError {
    TransformError {
        parameter: parameter.to_owned(),
        message: message.into(),
    }
}

/// A requested width or height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Size {
    Pixels(u32),
    /// Of the image's own size (`w-0.5`).
    Fraction(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crop {
    MaintainRatio,
    Force,
    AtMax,
    AtMaxEnlarge,
    AtLeast,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CropMode {
    PadResize,
    Extract,
    PadExtract,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Center,
    Top,
    Left,
    Bottom,
    Right,
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
    /// The most interesting region (libvips's attention measure).
    Auto,
    /// The file's `customCoordinates`.
    Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Clockwise: 0, 90, 180 or 270.
    Degrees(u16),
    /// By the EXIF orientation (always applied first anyway).
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flip {
    Horizontal,
    Vertical,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Radius {
    Pixels(u32),
    /// A circle (an ellipse on a non-square image).
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// AVIF, then WebP, then the original format, by the request's `Accept`.
    Auto,
    Jpg,
    Png,
    Webp,
    Avif,
    Gif,
    /// The original's format.
    Orig,
}

impl OutputFormat {
    fn name(self) -> &'static str {
        match self {
            OutputFormat::Auto => "auto",
            OutputFormat::Jpg => "jpg",
            OutputFormat::Png => "png",
            OutputFormat::Webp => "webp",
            OutputFormat::Avif => "avif",
            OutputFormat::Gif => "gif",
            OutputFormat::Orig => "orig",
        }
    }
}

/// An sRGB colour with alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgba(pub [u8; 4]);

impl Rgba {
    pub const WHITE: Rgba = Rgba([255, 255, 255, 255]);

    /// `RRGGBB`, `RGB`, `RRGGBBAA`, or a CSS colour name.
    fn parse(text: &str) -> Option<Rgba> {
        let hex = |s: &str| u8::from_str_radix(s, 16).ok();
        let t = text.trim_start_matches('#');
        if t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return match t.len() {
                3 => {
                    let d = |i: usize| hex(&t[i..=i]).map(|v| v * 17);
                    Some(Rgba([d(0)?, d(1)?, d(2)?, 255]))
                }
                6 => Some(Rgba([hex(&t[0..2])?, hex(&t[2..4])?, hex(&t[4..6])?, 255])),
                8 => Some(Rgba([
                    hex(&t[0..2])?,
                    hex(&t[2..4])?,
                    hex(&t[4..6])?,
                    hex(&t[6..8])?,
                ])),
                _ => None,
            };
        }
        let rgb = match text.to_ascii_lowercase().as_str() {
            "white" => [255, 255, 255],
            "black" => [0, 0, 0],
            "red" => [255, 0, 0],
            "green" => [0, 128, 0],
            "lime" => [0, 255, 0],
            "blue" => [0, 0, 255],
            "yellow" => [255, 255, 0],
            "cyan" | "aqua" => [0, 255, 255],
            "magenta" | "fuchsia" => [255, 0, 255],
            "gray" | "grey" => [128, 128, 128],
            "silver" => [192, 192, 192],
            "maroon" => [128, 0, 0],
            "olive" => [128, 128, 0],
            "purple" => [128, 0, 128],
            "teal" => [0, 128, 128],
            "navy" => [0, 0, 128],
            "orange" => [255, 165, 0],
            "pink" => [255, 192, 203],
            "brown" => [165, 42, 42],
            "transparent" => return Some(Rgba([0, 0, 0, 0])),
            _ => return None,
        };
        Some(Rgba([rgb[0], rgb[1], rgb[2], 255]))
    }

    fn hex(self) -> String {
        let [r, g, b, a] = self.0;
        if a == 255 {
            format!("{r:02X}{g:02X}{b:02X}")
        } else {
            format!("{r:02X}{g:02X}{b:02X}{a:02X}")
        }
    }
}

/// One step: what it resizes, crops, turns, colours and how its output is encoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    pub width: Option<Size>,
    pub height: Option<Size>,
    /// Width to height, used when only one of them is given.
    pub aspect_ratio: Option<(u32, u32)>,
    pub crop: Option<Crop>,
    pub crop_mode: Option<CropMode>,
    pub focus: Option<Focus>,
    /// Top-left corner of an extract.
    pub x: Option<u32>,
    pub y: Option<u32>,
    /// Centre of an extract.
    pub x_center: Option<u32>,
    pub y_center: Option<u32>,
    pub background: Option<Rgba>,
    pub quality: Option<u8>,
    pub format: Option<OutputFormat>,
    pub lossless: Option<bool>,
    pub progressive: Option<bool>,
    /// Gaussian blur, 1–100.
    pub blur: Option<u8>,
    pub rotation: Option<Rotation>,
    pub flip: Option<Flip>,
    pub radius: Option<Radius>,
    /// Width and colour.
    pub border: Option<(u32, Rgba)>,
    pub grayscale: bool,
    /// `e-sharpen` (0: the default amount) or `e-sharpen-N`.
    pub sharpen: Option<u8>,
    pub contrast: bool,
    pub dpr: Option<f64>,
    /// `orig-true`: the original bytes, every other parameter ignored.
    pub original: bool,
    /// `md-true`: keep the embedded metadata (stripped by default).
    pub keep_metadata: Option<bool>,
    /// `n-name`: a named transformation, replaced by its steps before rendering.
    pub named: Option<String>,
}

/// A parsed transformation: its steps, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transformation {
    pub steps: Vec<Step>,
}

impl Transformation {
    /// Parses a `tr` value (already percent-decoded).
    pub fn parse(text: &str) -> Result<Transformation, TransformError> {
        if text.len() > MAX_LENGTH {
            return Err(invalid(
                "tr",
                format!("a transformation is at most {MAX_LENGTH} bytes"),
            ));
        }
        let mut steps = text
            .split(':')
            .map(parse_step)
            .collect::<Result<Vec<_>, _>>()?;
        steps.retain(|s| *s != Step::default());
        if steps.is_empty() {
            return Err(invalid(text, "an empty transformation"));
        }
        if steps.len() > MAX_STEPS {
            return Err(invalid(
                "tr",
                format!("a transformation has at most {MAX_STEPS} steps"),
            ));
        }
        Ok(Transformation { steps })
    }

    /// Whether any step asks for the original bytes.
    pub fn wants_original(&self) -> bool {
        self.steps.iter().any(|s| s.original)
    }

    /// The output format asked for: the last step's that names one.
    pub fn format(&self) -> Option<OutputFormat> {
        self.steps.iter().rev().find_map(|s| s.format)
    }

    /// The names of the named transformations it uses.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().filter_map(|s| s.named.as_deref())
    }

    /// Replaces each `n-name` step by the steps `lookup` gives for the name (its parameters
    /// other than `n` then apply after them); None from `lookup` is an unknown name.
    pub fn expand_named(
        self,
        lookup: impl Fn(&str) -> Option<Transformation>,
    ) -> Result<Transformation, TransformError> {
        let mut steps = Vec::new();
        for mut step in self.steps {
            if let Some(name) = step.named.take() {
                let named = lookup(&name).ok_or_else(|| {
                    invalid(
                        &format!("n-{name}"),
                        "no named transformation has this name",
                    )
                })?;
                if named.names().next().is_some() {
                    return Err(invalid(
                        &format!("n-{name}"),
                        "a named transformation cannot use another",
                    ));
                }
                steps.extend(named.steps);
                if step != Step::default() {
                    steps.push(step);
                }
            } else {
                steps.push(step);
            }
        }
        if steps.len() > MAX_STEPS {
            return Err(invalid(
                "tr",
                format!("a transformation has at most {MAX_STEPS} steps"),
            ));
        }
        Ok(Transformation { steps })
    }

    /// One spelling per meaning: parameters in a fixed order, numbers and colours written
    /// one way, defaults left out.
    pub fn canonical(&self) -> String {
        self.steps
            .iter()
            .map(canonical_step)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(":")
    }
}

fn number(value: f64) -> String {
    let text = format!("{value}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}

fn size_text(size: Size) -> String {
    match size {
        Size::Pixels(p) => p.to_string(),
        Size::Fraction(f) => number(f),
    }
}

fn canonical_step(s: &Step) -> String {
    if s.original {
        return "orig-true".into();
    }
    let mut out: Vec<String> = Vec::new();
    if let Some(name) = &s.named {
        out.push(format!("n-{name}"));
    }
    if let Some(w) = s.width {
        out.push(format!("w-{}", size_text(w)));
    }
    if let Some(h) = s.height {
        out.push(format!("h-{}", size_text(h)));
    }
    // An aspect ratio only matters when exactly one side is given.
    if let Some((a, b)) = s.aspect_ratio
        && (s.width.is_some() != s.height.is_some())
    {
        out.push(format!("ar-{a}-{b}"));
    }
    match s.crop {
        None | Some(Crop::MaintainRatio) => {}
        Some(c) => out.push(
            match c {
                Crop::Force => "c-force",
                Crop::AtMax => "c-at_max",
                Crop::AtMaxEnlarge => "c-at_max_enlarge",
                Crop::AtLeast => "c-at_least",
                Crop::MaintainRatio => "",
            }
            .into(),
        ),
    }
    if let Some(m) = s.crop_mode {
        out.push(
            match m {
                CropMode::PadResize => "cm-pad_resize",
                CropMode::Extract => "cm-extract",
                CropMode::PadExtract => "cm-pad_extract",
            }
            .into(),
        );
    }
    if let Some(f) = s.focus {
        out.push(format!("fo-{}", focus_name(f)));
    }
    for (key, value) in [
        ("x", s.x),
        ("y", s.y),
        ("xc", s.x_center),
        ("yc", s.y_center),
    ] {
        if let Some(v) = value {
            out.push(format!("{key}-{v}"));
        }
    }
    if let Some(bg) = s.background {
        out.push(format!("bg-{}", bg.hex()));
    }
    if let Some(q) = s.quality {
        out.push(format!("q-{q}"));
    }
    if let Some(f) = s.format {
        out.push(format!("f-{}", f.name()));
    }
    if let Some(lo) = s.lossless {
        out.push(format!("lo-{lo}"));
    }
    if let Some(pr) = s.progressive {
        out.push(format!("pr-{pr}"));
    }
    if let Some(bl) = s.blur {
        out.push(format!("bl-{bl}"));
    }
    match s.rotation {
        None | Some(Rotation::Degrees(0)) => {}
        Some(Rotation::Degrees(d)) => out.push(format!("rt-{d}")),
        Some(Rotation::Auto) => out.push("rt-auto".into()),
    }
    if let Some(fl) = s.flip {
        out.push(
            match fl {
                Flip::Horizontal => "fl-h",
                Flip::Vertical => "fl-v",
                Flip::Both => "fl-h_v",
            }
            .into(),
        );
    }
    match s.radius {
        None => {}
        Some(Radius::Pixels(r)) => out.push(format!("r-{r}")),
        Some(Radius::Max) => out.push("r-max".into()),
    }
    if let Some((w, colour)) = s.border {
        out.push(format!("b-{w}_{}", colour.hex()));
    }
    if s.grayscale {
        out.push("e-grayscale".into());
    }
    match s.sharpen {
        None => {}
        Some(0) => out.push("e-sharpen".into()),
        Some(n) => out.push(format!("e-sharpen-{n}")),
    }
    if s.contrast {
        out.push("e-contrast".into());
    }
    if let Some(dpr) = s.dpr
        && dpr != 1.0
    {
        out.push(format!("dpr-{}", number(dpr)));
    }
    if let Some(md) = s.keep_metadata {
        out.push(format!("md-{md}"));
    }
    let mut text = String::new();
    for (i, part) in out.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        let _ = write!(text, "{part}");
    }
    text
}

fn focus_name(f: Focus) -> &'static str {
    match f {
        Focus::Center => "center",
        Focus::Top => "top",
        Focus::Left => "left",
        Focus::Bottom => "bottom",
        Focus::Right => "right",
        Focus::TopLeft => "top_left",
        Focus::TopRight => "top_right",
        Focus::BottomLeft => "bottom_left",
        Focus::BottomRight => "bottom_right",
        Focus::Auto => "auto",
        Focus::Custom => "custom",
    }
}

fn parse_step(text: &str) -> Result<Step, TransformError> {
    let mut step = Step::default();
    for param in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        apply_param(&mut step, param)?;
    }
    Ok(step)
}

fn apply_param(step: &mut Step, param: &str) -> Result<(), TransformError> {
    // Flags, and effects whose key holds a `-`.
    match param {
        "e-grayscale" => {
            step.grayscale = true;
            return Ok(());
        }
        "e-contrast" => {
            step.contrast = true;
            return Ok(());
        }
        "e-sharpen" => {
            step.sharpen = Some(0);
            return Ok(());
        }
        _ => {}
    }
    if let Some(amount) = param.strip_prefix("e-sharpen-") {
        step.sharpen = Some(bounded(param, amount, 1, 99)? as u8);
        return Ok(());
    }
    let (key, value) = param
        .split_once('-')
        .ok_or_else(|| invalid(param, "expected `key-value`"))?;
    match key {
        "w" => step.width = Some(size(param, value)?),
        "h" => step.height = Some(size(param, value)?),
        "ar" => {
            let (a, b) = value.split_once('-').ok_or_else(|| {
                invalid(param, "an aspect ratio is `width-height`, e.g. `ar-16-9`")
            })?;
            step.aspect_ratio =
                Some((bounded(param, a, 1, 10_000)?, bounded(param, b, 1, 10_000)?));
        }
        "c" => {
            step.crop = Some(match value {
                "maintain_ratio" => Crop::MaintainRatio,
                "force" => Crop::Force,
                "at_max" => Crop::AtMax,
                "at_max_enlarge" => Crop::AtMaxEnlarge,
                "at_least" => Crop::AtLeast,
                _ => {
                    return Err(one_of(
                        param,
                        "maintain_ratio, force, at_max, at_max_enlarge, at_least",
                    ));
                }
            })
        }
        "cm" => {
            step.crop_mode = Some(match value {
                "pad_resize" => CropMode::PadResize,
                "extract" => CropMode::Extract,
                "pad_extract" => CropMode::PadExtract,
                _ => return Err(one_of(param, "pad_resize, extract, pad_extract")),
            })
        }
        "fo" => {
            step.focus = Some(match value {
                "center" => Focus::Center,
                "top" => Focus::Top,
                "left" => Focus::Left,
                "bottom" => Focus::Bottom,
                "right" => Focus::Right,
                "top_left" => Focus::TopLeft,
                "top_right" => Focus::TopRight,
                "bottom_left" => Focus::BottomLeft,
                "bottom_right" => Focus::BottomRight,
                "auto" => Focus::Auto,
                "custom" => Focus::Custom,
                _ => {
                    return Err(one_of(
                        param,
                        "center, top, left, bottom, right, top_left, top_right, bottom_left, \
                         bottom_right, auto, custom",
                    ));
                }
            })
        }
        "x" => step.x = Some(bounded(param, value, 0, MAX_COORDINATE)?),
        "y" => step.y = Some(bounded(param, value, 0, MAX_COORDINATE)?),
        "xc" => step.x_center = Some(bounded(param, value, 0, MAX_COORDINATE)?),
        "yc" => step.y_center = Some(bounded(param, value, 0, MAX_COORDINATE)?),
        "bg" => {
            step.background = Some(
                Rgba::parse(value)
                    .ok_or_else(|| invalid(param, "a colour is RRGGBB, RRGGBBAA or a name"))?,
            )
        }
        "q" => step.quality = Some(bounded(param, value, 1, 100)? as u8),
        "f" => {
            step.format = Some(match value {
                "auto" => OutputFormat::Auto,
                "jpg" | "jpeg" => OutputFormat::Jpg,
                "png" => OutputFormat::Png,
                "webp" => OutputFormat::Webp,
                "avif" => OutputFormat::Avif,
                "gif" => OutputFormat::Gif,
                "orig" => OutputFormat::Orig,
                _ => return Err(one_of(param, "auto, jpg, png, webp, avif, gif, orig")),
            })
        }
        "lo" => step.lossless = Some(boolean(param, value)?),
        "pr" => step.progressive = Some(boolean(param, value)?),
        "md" => step.keep_metadata = Some(boolean(param, value)?),
        "orig" => step.original = boolean(param, value)?,
        "bl" => step.blur = Some(bounded(param, value, 1, 100)? as u8),
        "rt" => {
            step.rotation = Some(match value {
                "auto" => Rotation::Auto,
                _ => {
                    // `N90`: counter-clockwise.
                    let (counter, digits) = match value.strip_prefix('N') {
                        Some(d) => (true, d),
                        None => (false, value),
                    };
                    let degrees = bounded(param, digits, 0, 360)?;
                    if degrees % 90 != 0 {
                        return Err(invalid(param, "Kura rotates by 0, 90, 180, 270 or auto"));
                    }
                    let clockwise = if counter {
                        (360 - degrees) % 360
                    } else {
                        degrees % 360
                    };
                    Rotation::Degrees(clockwise as u16)
                }
            })
        }
        "fl" => {
            step.flip = Some(match value {
                "h" => Flip::Horizontal,
                "v" => Flip::Vertical,
                "h_v" | "v_h" => Flip::Both,
                _ => return Err(one_of(param, "h, v, h_v")),
            })
        }
        "r" => {
            step.radius = Some(match value {
                "max" => Radius::Max,
                _ => Radius::Pixels(bounded(param, value, 1, MAX_SIDE)?),
            })
        }
        "b" => {
            let (width, colour) = value
                .split_once('_')
                .ok_or_else(|| invalid(param, "a border is `width_colour`, e.g. `b-5_FFF000`"))?;
            let colour = Rgba::parse(colour)
                .ok_or_else(|| invalid(param, "a colour is RRGGBB, RRGGBBAA or a name"))?;
            step.border = Some((bounded(param, width, 1, 1000)?, colour));
        }
        "dpr" => {
            let dpr: f64 = value
                .parse()
                .ok()
                .filter(|d: &f64| d.is_finite() && (0.1..=5.0).contains(d))
                .ok_or_else(|| invalid(param, "dpr is a number from 0.1 to 5"))?;
            step.dpr = Some(dpr);
        }
        "n" => {
            if value.is_empty()
                || !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(invalid(param, "a name is letters, digits, `_` and `-`"));
            }
            step.named = Some(value.to_owned());
        }
        _ => {
            // Effects are named by their whole key (`e-upscale`).
            let name = if key == "e" { param } else { key };
            return Err(invalid(
                param,
                format!("`{name}` is not a transformation parameter Kura supports"),
            ));
        }
    }
    Ok(())
}

const MAX_COORDINATE: u32 = 1_000_000;

fn one_of(param: &str, choices: &str) -> TransformError {
    invalid(param, format!("expected one of {choices}"))
}

fn bounded(param: &str, value: &str, low: u32, high: u32) -> Result<u32, TransformError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|v| (low..=high).contains(v))
        .ok_or_else(|| {
            invalid(
                param,
                format!("expected a whole number from {low} to {high}"),
            )
        })
}

fn boolean(param: &str, value: &str) -> Result<bool, TransformError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(param, "expected true or false")),
    }
}

fn size(param: &str, value: &str) -> Result<Size, TransformError> {
    let v: f64 = value
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v > 0.0)
        .ok_or_else(|| invalid(param, "expected a number of pixels, or a fraction below 1"))?;
    if v < 1.0 {
        return Ok(Size::Fraction(v));
    }
    if v.fract() != 0.0 || v > f64::from(MAX_SIDE) {
        return Err(invalid(
            param,
            format!("expected whole pixels up to {MAX_SIDE}, or a fraction below 1"),
        ));
    }
    Ok(Size::Pixels(v as u32))
}

/// Most named transformations a library may have (ImageKit's limit).
pub const MAX_NAMED: usize = 250;

/// An alias for a transformation string, used in URLs as `tr:n-<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedTransformation {
    pub id: crate::model::AssetId,
    /// Letters, digits and `_`; unique and case-sensitive.
    pub name: String,
    /// As given (checked by `Transformation::parse`, naming no other named transformation).
    pub transformation: String,
    /// When false, URLs using it fail.
    pub enabled: bool,
    pub created_at: crate::model::Timestamp,
    pub updated_at: crate::model::Timestamp,
}

impl NamedTransformation {
    /// Checks a name and a transformation string as the API takes them.
    pub fn validate(name: &str, transformation: &str) -> Result<(), TransformError> {
        if name.is_empty()
            || name.len() > 100
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(invalid(name, "a name is 1 to 100 letters, digits and `_`"));
        }
        let parsed = Transformation::parse(transformation)?;
        if let Some(other) = parsed.names().next() {
            return Err(invalid(
                &format!("n-{other}"),
                "a named transformation cannot use another",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Transformation {
        Transformation::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn spellings_of_one_transformation_share_a_canonical_form() {
        for (a, b) in [
            ("w-300,h-200", "h-200,w-300"),
            ("w-300.0", "w-300"),
            ("w-300,c-maintain_ratio", "w-300"),
            ("w-300,ar-4-3,h-200", "h-200,w-300"),
            ("bg-fff", "bg-FFFFFF"),
            ("bg-white", "bg-ffffff"),
            ("f-jpeg", "f-jpg"),
            ("rt-N90", "rt-270"),
            ("rt-0,w-5", "w-5"),
            ("fl-v_h", "fl-h_v"),
            ("w-10,,h-5:", "w-10,h-5"),
            ("dpr-1,w-10", "w-10"),
        ] {
            assert_eq!(parse(a).canonical(), parse(b).canonical(), "{a} vs {b}");
        }
        assert_eq!(
            parse("h-200,w-300:rt-90,e-grayscale").canonical(),
            "w-300,h-200:rt-90,e-grayscale"
        );
        assert_ne!(parse("w-300").canonical(), parse("w-301").canonical());
    }

    #[test]
    fn parameters_parse_to_their_meaning() {
        let t = parse(
            "w-0.5,h-100,c-at_max,cm-pad_resize,fo-top_left,bg-FF000080,q-60,f-webp,lo-true,pr-true,bl-10,rt-auto,fl-h,r-max,b-5_00FF00,e-sharpen-20,e-contrast,dpr-2,md-true",
        );
        let s = &t.steps[0];
        assert_eq!(s.width, Some(Size::Fraction(0.5)));
        assert_eq!(s.height, Some(Size::Pixels(100)));
        assert_eq!(s.crop, Some(Crop::AtMax));
        assert_eq!(s.crop_mode, Some(CropMode::PadResize));
        assert_eq!(s.focus, Some(Focus::TopLeft));
        assert_eq!(s.background, Some(Rgba([255, 0, 0, 128])));
        assert_eq!((s.quality, s.format), (Some(60), Some(OutputFormat::Webp)));
        assert_eq!(
            (s.lossless, s.progressive, s.blur),
            (Some(true), Some(true), Some(10))
        );
        assert_eq!(
            (s.rotation, s.flip),
            (Some(Rotation::Auto), Some(Flip::Horizontal))
        );
        assert_eq!(s.radius, Some(Radius::Max));
        assert_eq!(s.border, Some((5, Rgba([0, 255, 0, 255]))));
        assert_eq!((s.sharpen, s.contrast, s.dpr), (Some(20), true, Some(2.0)));
        assert_eq!(s.keep_metadata, Some(true));
        assert!(parse("orig-true").wants_original());
        assert_eq!(
            parse("w-10,f-png:f-avif").format(),
            Some(OutputFormat::Avif)
        );
        assert_eq!(parse("w-1:h-2:rt-90").steps.len(), 3);
    }

    #[test]
    fn bad_parameters_are_named() {
        for (text, parameter, says) in [
            ("w-abc", "w-abc", "pixels"),
            ("w-0", "w-0", "pixels"),
            ("w-20000", "w-20000", "16384"),
            ("w-10.5", "w-10.5", "whole"),
            ("zz-1", "zz-1", "`zz` is not"),
            ("w", "w", "key-value"),
            ("c-squash", "c-squash", "maintain_ratio"),
            ("q-0", "q-0", "1 to 100"),
            ("q-101", "q-101", "1 to 100"),
            ("f-bmp", "f-bmp", "webp"),
            ("rt-45", "rt-45", "90"),
            ("bg-zzzzzz", "bg-zzzzzz", "colour"),
            ("b-5", "b-5", "width_colour"),
            ("ar-4", "ar-4", "16-9"),
            ("dpr-9", "dpr-9", "0.1 to 5"),
            ("lo-yes", "lo-yes", "true or false"),
            ("e-sharpen-0", "e-sharpen-0", "1 to 99"),
            ("n-bad/name", "n-bad/name", "letters"),
            ("w-10,e-upscale", "e-upscale", "`e-upscale` is not"),
        ] {
            let err = Transformation::parse(text).unwrap_err();
            assert_eq!(err.parameter, parameter, "{text}: {err}");
            assert!(err.to_string().contains(says), "{text}: {err}");
        }
        assert!(Transformation::parse("").is_err());
        assert!(Transformation::parse(":,:").is_err());
        assert!(Transformation::parse(&"w-1:".repeat(MAX_STEPS + 1)).is_err());
        assert!(Transformation::parse(&"w".repeat(MAX_LENGTH + 1)).is_err());
    }

    #[test]
    fn named_transformations_are_checked() {
        assert!(NamedTransformation::validate("thumb_2", "w-100,h-100").is_ok());
        for (name, tr, parameter) in [
            ("bad-name", "w-1", "bad-name"),
            ("", "w-1", ""),
            ("ok", "w-abc", "w-abc"),
            ("ok", "n-other", "n-other"),
        ] {
            let err = NamedTransformation::validate(name, tr).unwrap_err();
            assert_eq!(err.parameter, parameter, "{name} {tr}: {err}");
        }
    }

    #[test]
    fn named_transformations_expand_in_place() {
        let thumb = parse("w-100,h-100,c-at_max");
        let t = parse("rt-90:n-thumb,q-50")
            .expand_named(|name| (name == "thumb").then(|| thumb.clone()))
            .unwrap();
        assert_eq!(t.canonical(), "rt-90:w-100,h-100,c-at_max:q-50");
        let err = parse("n-missing").expand_named(|_| None).unwrap_err();
        assert_eq!(err.parameter, "n-missing");
        let nested = parse("n-a")
            .expand_named(|_| Some(parse("n-b")))
            .unwrap_err();
        assert!(nested.message.contains("cannot use another"));
    }
}
