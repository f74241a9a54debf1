//! Rendering a transformation (`model::transform`) of an image file with libvips: geometry
//! with ImageKit's meanings (`c-*` crop strategies, `cm-*` crop modes, focus), then turns,
//! effects, corners and border, step by step; then one encoding. The first step's resize reads
//! the file at about the size it needs (shrink-on-load), as `vipsthumbnail` does.
//!
//! The pixel count is checked from the header before anything is decoded.

use std::path::Path;

use super::vips::{Encoding, Image, VipsError};
use crate::model::transform::{
    Crop, CropMode, Flip, Focus, MAX_SIDE, Radius, Rgba, Rotation, Size, Step, Transformation,
};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the image has {pixels} pixels, more than the {limit} this server transforms")]
    TooLarge { pixels: u64, limit: u64 },
    #[error("the transformation asks for a {width}x{height} image, larger than this server makes")]
    OutputTooLarge { width: u64, height: u64 },
    #[error("the image cannot be read: {0}")]
    Unreadable(VipsError),
    #[error("{0}")]
    Engine(VipsError),
}

/// What a render needs besides the file.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Most pixels a source (and an output) may have.
    pub max_pixels: u64,
    /// The file's `customCoordinates` (`x,y,width,height`), for `fo-custom`.
    pub custom_area: Option<(u32, u32, u32, u32)>,
    pub encoding: Encoding,
    /// Keep embedded metadata (`md-true`).
    pub keep_metadata: bool,
}

#[derive(Debug)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Renders `transformation` of the image file at `path`.
pub fn render(
    path: &Path,
    transformation: &Transformation,
    options: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let header = Image::open(path).map_err(RenderError::Unreadable)?;
    let pixels = u64::from(header.width()) * u64::from(header.height());
    if pixels > options.max_pixels || pixels == 0 {
        return Err(RenderError::TooLarge {
            pixels,
            limit: options.max_pixels,
        });
    }
    let upright = header.upright().map_err(RenderError::Unreadable)?;
    let (mut width, mut height) = (upright.width(), upright.height());
    let mut image: Option<Image> = None;
    let mut background = Rgba::WHITE;
    for (i, step) in transformation.steps.iter().enumerate() {
        if let Some(bg) = step.background {
            background = bg;
        }
        let plan = plan(width, height, step, options)?;
        let current = match image.take() {
            // The first step reads the file, at the size it needs when it resizes first.
            None if i == 0 && plan.extract.is_none() => match plan.resize {
                Some((w, h)) => Image::thumbnail(path, w as i32, h as i32, true),
                None => Ok(upright.clone()),
            }
            .and_then(|img| img.to_srgb())
            .map_err(RenderError::Unreadable)?,
            None => upright.to_srgb().map_err(RenderError::Unreadable)?,
            Some(img) => img,
        };
        let done = apply_step(current, step, &plan, i == 0, background, options)
            .map_err(RenderError::Engine)?;
        width = done.width();
        height = done.height();
        image = Some(done);
    }
    let image = match image {
        Some(image) => image,
        None => upright.to_srgb().map_err(RenderError::Unreadable)?,
    };
    let image = match options.encoding {
        // JPEG has no alpha: composite over the background.
        Encoding::Jpeg { .. } if image.has_alpha() => {
            image.flatten(background.0).map_err(RenderError::Engine)?
        }
        _ => image,
    };
    let bytes = image
        .encode(options.encoding, options.keep_metadata)
        .map_err(RenderError::Engine)?;
    Ok(Rendered {
        bytes,
        width: image.width(),
        height: image.height(),
    })
}

/// The geometry of one step, in pixels of the image it starts from.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    /// The size of the image the plan starts from.
    source: (u32, u32),
    /// A region cut before anything else (`cm-extract`, `cm-pad_extract`).
    extract: Option<(u32, u32, u32, u32)>,
    /// The size to scale to.
    resize: Option<(u32, u32)>,
    /// What follows the resize.
    then: Option<After>,
}

#[derive(Debug, Clone, PartialEq)]
enum After {
    /// Cut `w` × `h` from the resized image, placed by focus.
    Crop(u32, u32, Focus),
    /// Place the resized image on a `w` × `h` canvas of the background colour.
    Pad(u32, u32, Focus),
}

fn resolve(size: Size, own: u32) -> f64 {
    match size {
        Size::Pixels(p) => f64::from(p),
        Size::Fraction(f) => (f * f64::from(own)).round().max(1.0),
    }
}

fn plan(iw: u32, ih: u32, step: &Step, options: &RenderOptions) -> Result<Plan, RenderError> {
    let dpr = step.dpr.unwrap_or(1.0);
    let mut w = step.width.map(|s| resolve(s, iw) * dpr);
    let mut h = step.height.map(|s| resolve(s, ih) * dpr);
    if let Some((a, b)) = step.aspect_ratio {
        match (w, h) {
            (Some(w), None) => h = Some(w * f64::from(b) / f64::from(a)),
            (None, Some(hh)) => w = Some(hh * f64::from(a) / f64::from(b)),
            _ => {}
        }
    }
    let w = w.map(|v| v.round().max(1.0));
    let h = h.map(|v| v.round().max(1.0));
    let limit = f64::from(MAX_SIDE);
    if w.is_some_and(|v| v > limit)
        || h.is_some_and(|v| v > limit)
        || w.unwrap_or(1.0) * h.unwrap_or(1.0) > options.max_pixels as f64
    {
        return Err(RenderError::OutputTooLarge {
            width: w.unwrap_or(f64::from(iw)) as u64,
            height: h.unwrap_or(f64::from(ih)) as u64,
        });
    }
    let (fw, fh) = (f64::from(iw), f64::from(ih));
    let focus = step.focus.unwrap_or(Focus::Center);
    let px = |v: f64| v as u32;
    let scaled =
        |s: f64| -> (u32, u32) { (px((fw * s).round().max(1.0)), px((fh * s).round().max(1.0))) };
    match step.crop_mode {
        Some(mode @ (CropMode::Extract | CropMode::PadExtract)) => {
            let (ew, eh) = if focus == Focus::Custom
                && let Some((_, _, cw, ch)) = options.custom_area
                && w.is_none()
                && h.is_none()
            {
                (cw, ch)
            } else {
                (w.map_or(iw, px), h.map_or(ih, px))
            };
            let (cw, ch) = (ew.min(iw), eh.min(ih));
            let (left, top) = region_origin(iw, ih, cw, ch, step, focus, options);
            let then = (mode == CropMode::PadExtract && (ew > cw || eh > ch))
                .then_some(After::Pad(ew, eh, focus));
            Ok(Plan {
                source: (iw, ih),
                extract: Some((left, top, cw, ch)),
                resize: None,
                then,
            })
        }
        Some(CropMode::PadResize) => match (w, h) {
            (Some(w), Some(h)) => {
                let s = (w / fw).min(h / fh);
                Ok(Plan {
                    source: (iw, ih),
                    extract: None,
                    resize: Some(scaled(s)),
                    then: Some(After::Pad(px(w), px(h), focus)),
                })
            }
            _ => Ok(one_side(w, h, fw, fh, scaled)),
        },
        None => {
            let crop = step.crop.unwrap_or(Crop::MaintainRatio);
            let (w, h) = match (w, h) {
                (None, None) => {
                    return Ok(Plan {
                        source: (iw, ih),
                        extract: None,
                        resize: None,
                        then: None,
                    });
                }
                pair => pair,
            };
            Ok(match crop {
                Crop::Force => Plan {
                    source: (iw, ih),
                    extract: None,
                    resize: Some((w.map_or(iw, px), h.map_or(ih, px))),
                    then: None,
                },
                Crop::AtMax | Crop::AtMaxEnlarge | Crop::AtLeast => {
                    let ratios = [w.map(|w| w / fw), h.map(|h| h / fh)];
                    let ratios = ratios.iter().flatten().copied();
                    let s = if crop == Crop::AtLeast {
                        ratios.fold(f64::MIN, f64::max)
                    } else {
                        ratios.fold(f64::MAX, f64::min)
                    };
                    let s = if crop == Crop::AtMax { s.min(1.0) } else { s };
                    Plan {
                        source: (iw, ih),
                        extract: None,
                        resize: Some(scaled(s)),
                        then: None,
                    }
                }
                Crop::MaintainRatio => match (w, h) {
                    (Some(w), Some(h)) => {
                        let s = (w / fw).max(h / fh);
                        let (rw, rh) = scaled(s);
                        Plan {
                            source: (iw, ih),
                            extract: None,
                            resize: Some((rw.max(px(w)), rh.max(px(h)))),
                            then: Some(After::Crop(px(w), px(h), focus)),
                        }
                    }
                    _ => one_side(w, h, fw, fh, scaled),
                },
            })
        }
    }
}

fn one_side(
    w: Option<f64>,
    h: Option<f64>,
    fw: f64,
    fh: f64,
    scaled: impl Fn(f64) -> (u32, u32),
) -> Plan {
    let s = match (w, h) {
        (Some(w), _) => w / fw,
        (None, Some(h)) => h / fh,
        (None, None) => 1.0,
    };
    Plan {
        source: (fw as u32, fh as u32),
        extract: None,
        resize: Some(scaled(s)),
        then: None,
    }
}

/// Where an extract of `cw` × `ch` starts: `x`/`y`, else centred on `xc`/`yc`, else by focus.
fn region_origin(
    iw: u32,
    ih: u32,
    cw: u32,
    ch: u32,
    step: &Step,
    focus: Focus,
    options: &RenderOptions,
) -> (u32, u32) {
    let clamp =
        |origin: i64, inner: u32, outer: u32| origin.clamp(0, i64::from(outer - inner)) as u32;
    if step.x.is_some() || step.y.is_some() || step.x_center.is_some() || step.y_center.is_some() {
        let x = step
            .x
            .map(i64::from)
            .or_else(|| step.x_center.map(|c| i64::from(c) - i64::from(cw / 2)))
            .unwrap_or(i64::from((iw - cw) / 2));
        let y = step
            .y
            .map(i64::from)
            .or_else(|| step.y_center.map(|c| i64::from(c) - i64::from(ch / 2)))
            .unwrap_or(i64::from((ih - ch) / 2));
        return (clamp(x, cw, iw), clamp(y, ch, ih));
    }
    if focus == Focus::Custom
        && let Some((x, y, aw, ah)) = options.custom_area
    {
        let cx = i64::from(x) + i64::from(aw / 2) - i64::from(cw / 2);
        let cy = i64::from(y) + i64::from(ah / 2) - i64::from(ch / 2);
        return (clamp(cx, cw, iw), clamp(cy, ch, ih));
    }
    gravity(iw, ih, cw, ch, focus)
}

/// The offset of an `inner` box in an `outer` one placed by `focus` (centre by default).
fn gravity(ow: u32, oh: u32, iw: u32, ih: u32, focus: Focus) -> (u32, u32) {
    let (free_x, free_y) = (ow.saturating_sub(iw), oh.saturating_sub(ih));
    let (cx, cy) = (free_x / 2, free_y / 2);
    match focus {
        Focus::Top => (cx, 0),
        Focus::Bottom => (cx, free_y),
        Focus::Left => (0, cy),
        Focus::Right => (free_x, cy),
        Focus::TopLeft => (0, 0),
        Focus::TopRight => (free_x, 0),
        Focus::BottomLeft => (0, free_y),
        Focus::BottomRight => (free_x, free_y),
        Focus::Center | Focus::Auto | Focus::Custom => (cx, cy),
    }
}

fn apply_step(
    image: Image,
    step: &Step,
    plan: &Plan,
    first: bool,
    background: Rgba,
    options: &RenderOptions,
) -> Result<Image, VipsError> {
    let mut image = image;
    if let Some((left, top, w, h)) = plan.extract {
        image = image.extract(left, top, w, h)?;
    }
    if let Some((w, h)) = plan.resize {
        // The first step's resize happened as the file was read.
        if !(first && plan.extract.is_none()) && (image.width(), image.height()) != (w, h) {
            image = image.resize(
                f64::from(w) / f64::from(image.width()),
                f64::from(h) / f64::from(image.height()),
            )?;
        }
        image = exact(image, w, h)?;
    }
    match plan.then {
        Some(After::Crop(w, h, focus)) => {
            let (w, h) = (w.min(image.width()), h.min(image.height()));
            image = match focus {
                Focus::Auto => image.smart_crop(w, h)?,
                Focus::Custom if options.custom_area.is_some() => {
                    let (ax, ay, aw, ah) = options.custom_area.unwrap_or_default();
                    // The area is in the source's pixels; the image is resized since.
                    let sx = f64::from(image.width()) / f64::from(plan.source.0.max(1));
                    let sy = f64::from(image.height()) / f64::from(plan.source.1.max(1));
                    let cx = (f64::from(ax) + f64::from(aw) / 2.0) * sx;
                    let cy = (f64::from(ay) + f64::from(ah) / 2.0) * sy;
                    let x =
                        (cx - f64::from(w) / 2.0).clamp(0.0, f64::from(image.width() - w)) as u32;
                    let y =
                        (cy - f64::from(h) / 2.0).clamp(0.0, f64::from(image.height() - h)) as u32;
                    image.extract(x, y, w, h)?
                }
                focus => {
                    let (x, y) = gravity(image.width(), image.height(), w, h, focus);
                    image.extract(x, y, w, h)?
                }
            };
        }
        Some(After::Pad(w, h, focus)) => {
            let (x, y) = gravity(w, h, image.width(), image.height(), focus);
            image = image.embed(x as i32, y as i32, w, h, background.0)?;
        }
        None => {}
    }
    match step.rotation {
        Some(Rotation::Degrees(d)) if d % 360 != 0 => image = image.rotate(d)?,
        _ => {}
    }
    match step.flip {
        Some(Flip::Horizontal) => image = image.flip(true)?,
        Some(Flip::Vertical) => image = image.flip(false)?,
        Some(Flip::Both) => image = image.flip(true)?.flip(false)?,
        None => {}
    }
    if let Some(blur) = step.blur {
        image = image.blur(f64::from(blur) / 2.0)?;
    }
    if step.grayscale {
        image = image.greyscale()?;
    }
    if let Some(amount) = step.sharpen {
        image = image.sharpen(if amount == 0 {
            1.0
        } else {
            0.5 + f64::from(amount) / 20.0
        })?;
    }
    if step.contrast {
        image = image.stretch_contrast()?;
    }
    if let Some(radius) = step.radius {
        let (w, h) = (image.width(), image.height());
        let (rx, ry) = match radius {
            Radius::Max => (f64::from(w) / 2.0, f64::from(h) / 2.0),
            Radius::Pixels(r) => {
                let r = f64::from(r).min(f64::from(w.min(h)) / 2.0);
                (r, r)
            }
        };
        let mask = Image::from_svg(&format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\">\
             <rect width=\"{w}\" height=\"{h}\" rx=\"{rx}\" ry=\"{ry}\" fill=\"#fff\"/></svg>"
        ))?;
        image = image.masked(&mask)?;
    }
    if let Some((width, colour)) = step.border {
        let (w, h) = (image.width(), image.height());
        image = image.embed(
            width as i32,
            width as i32,
            w + 2 * width,
            h + 2 * width,
            colour.0,
        )?;
    }
    Ok(image)
}

/// Exactly `w` × `h`: a resize can land a pixel off by rounding.
fn exact(image: Image, w: u32, h: u32) -> Result<Image, VipsError> {
    let (iw, ih) = (image.width(), image.height());
    if (iw, ih) == (w, h) {
        return Ok(image);
    }
    if iw >= w && ih >= h {
        return image.extract((iw - w) / 2, (ih - h) / 2, w, h);
    }
    image.resize(f64::from(w) / f64::from(iw), f64::from(h) / f64::from(ih))
}
