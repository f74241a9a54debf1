//! libvips, the image engine (Debian's `libvips-dev`; the engine of imgproxy, sharp and
//! PhotoPrism): the few entry points Kura calls, declared by hand rather than generated, and an
//! owning `Image` handle. Every call runs on a blocking thread; libvips is thread-safe.
//!
//! Safety: each `Image` owns one reference to a `VipsImage` (released on drop); operations take
//! their inputs by shared reference and return a new owned image, as libvips's
//! `vips_op(in, &out, …, NULL)` convention does; variadic option lists always end in NULL.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::OnceLock;

#[repr(C)]
struct VipsImage {
    _opaque: [u8; 0],
}

#[link(name = "vips")]
unsafe extern "C" {
    fn vips_init(argv0: *const c_char) -> c_int;
    fn vips_cache_set_max(max: c_int);
    fn vips_thumbnail(
        filename: *const c_char,
        out: *mut *mut VipsImage,
        width: c_int,
        ...
    ) -> c_int;
    fn vips_colourspace(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        space: c_int,
        ...
    ) -> c_int;
    fn vips_extract_band(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        band: c_int,
        ...
    ) -> c_int;
    fn vips_cast(input: *mut VipsImage, out: *mut *mut VipsImage, format: c_int, ...) -> c_int;
    fn vips_concurrency_set(concurrency: c_int);
    fn vips_image_new_from_file(name: *const c_char, ...) -> *mut VipsImage;
    fn vips_autorot(input: *mut VipsImage, out: *mut *mut VipsImage, ...) -> c_int;
    fn vips_resize(input: *mut VipsImage, out: *mut *mut VipsImage, scale: f64, ...) -> c_int;
    fn vips_extract_area(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        left: c_int,
        top: c_int,
        width: c_int,
        height: c_int,
        ...
    ) -> c_int;
    fn vips_smartcrop(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        width: c_int,
        height: c_int,
        ...
    ) -> c_int;
    fn vips_embed(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        x: c_int,
        y: c_int,
        width: c_int,
        height: c_int,
        ...
    ) -> c_int;
    fn vips_rot(input: *mut VipsImage, out: *mut *mut VipsImage, angle: c_int, ...) -> c_int;
    fn vips_flip(input: *mut VipsImage, out: *mut *mut VipsImage, direction: c_int, ...) -> c_int;
    fn vips_gaussblur(input: *mut VipsImage, out: *mut *mut VipsImage, sigma: f64, ...) -> c_int;
    fn vips_sharpen(input: *mut VipsImage, out: *mut *mut VipsImage, ...) -> c_int;
    fn vips_flatten(input: *mut VipsImage, out: *mut *mut VipsImage, ...) -> c_int;
    fn vips_bandjoin_const1(input: *mut VipsImage, out: *mut *mut VipsImage, c: f64, ...) -> c_int;
    fn vips_composite2(
        base: *mut VipsImage,
        overlay: *mut VipsImage,
        out: *mut *mut VipsImage,
        mode: c_int,
        ...
    ) -> c_int;
    fn vips_linear1(input: *mut VipsImage, out: *mut *mut VipsImage, a: f64, b: f64, ...) -> c_int;
    fn vips_min(input: *mut VipsImage, out: *mut f64, ...) -> c_int;
    fn vips_max(input: *mut VipsImage, out: *mut f64, ...) -> c_int;
    fn vips_icc_transform(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        profile: *const c_char,
        ...
    ) -> c_int;
    fn vips_svgload_buffer(buf: *const c_void, len: usize, out: *mut *mut VipsImage, ...) -> c_int;
    fn vips_jpegsave_buffer(
        input: *mut VipsImage,
        buf: *mut *mut c_void,
        len: *mut usize,
        ...
    ) -> c_int;
    fn vips_pngsave_buffer(
        input: *mut VipsImage,
        buf: *mut *mut c_void,
        len: *mut usize,
        ...
    ) -> c_int;
    fn vips_webpsave_buffer(
        input: *mut VipsImage,
        buf: *mut *mut c_void,
        len: *mut usize,
        ...
    ) -> c_int;
    fn vips_heifsave_buffer(
        input: *mut VipsImage,
        buf: *mut *mut c_void,
        len: *mut usize,
        ...
    ) -> c_int;
    fn vips_gifsave_buffer(
        input: *mut VipsImage,
        buf: *mut *mut c_void,
        len: *mut usize,
        ...
    ) -> c_int;
    fn vips_image_hasalpha(image: *mut VipsImage) -> c_int;
    fn vips_image_copy_memory(image: *mut VipsImage) -> *mut VipsImage;
    fn vips_image_get_typeof(image: *const VipsImage, name: *const c_char) -> usize;
    fn vips_image_get_interpretation(image: *const VipsImage) -> c_int;
    fn vips_array_double_new(array: *const f64, n: c_int) -> *mut c_void;
    fn vips_area_unref(area: *mut c_void);
    fn vips_image_get_width(image: *const VipsImage) -> c_int;
    fn vips_image_get_height(image: *const VipsImage) -> c_int;
    fn vips_image_get_bands(image: *const VipsImage) -> c_int;
    fn vips_image_write_to_memory(image: *mut VipsImage, size: *mut usize) -> *mut c_void;
    fn vips_error_buffer() -> *const c_char;
    fn vips_error_clear();
}

#[link(name = "gobject-2.0")]
unsafe extern "C" {
    fn g_object_unref(object: *mut c_void);
    fn g_object_ref(object: *mut c_void) -> *mut c_void;
}

#[link(name = "glib-2.0")]
unsafe extern "C" {
    fn g_free(memory: *mut c_void);
}

// From vips/image.h, conversion.h, resample.h and foreign.h.
const VIPS_INTERPRETATION_B_W: c_int = 1;
const VIPS_INTERPRETATION_CMYK: c_int = 15;
const VIPS_INTERPRETATION_SRGB: c_int = 22;
const VIPS_FORMAT_DOUBLE: c_int = 8;
const VIPS_SIZE_FORCE: c_int = 3;
const VIPS_EXTEND_BACKGROUND: c_int = 5;
const VIPS_INTERESTING_ATTENTION: c_int = 3;
const VIPS_BLEND_MODE_DEST_IN: c_int = 8;
const VIPS_FOREIGN_HEIF_COMPRESSION_AV1: c_int = 4;
/// Decoding stops with an error at a truncated file instead of inventing the rest.
const VIPS_FAIL_ON_TRUNCATED: c_int = 1;
const TRUE: c_int = 1;
const FALSE: c_int = 0;

/// End of a variadic option list.
fn end() -> *const c_char {
    std::ptr::null()
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("image engine: {0}")]
pub struct VipsError(String);

impl VipsError {
    pub fn from_message(message: String) -> Self {
        VipsError(message)
    }
}

/// Starts libvips once per process. Its operation cache is off: Kura reads each file once,
/// and a cache keyed by file name must not answer for a spool file reused under that name.
fn started() -> Result<(), VipsError> {
    static STARTED: OnceLock<Result<(), VipsError>> = OnceLock::new();
    STARTED
        .get_or_init(|| {
            // SAFETY: a NUL-terminated name; vips_init may be called before any other call.
            let status = unsafe { vips_init(c"kura".as_ptr()) };
            if status != 0 {
                return Err(last_error("starting libvips"));
            }
            // SAFETY: libvips is started. One worker thread per pipeline: Kura runs a bounded
            // number of pipelines side by side instead (`app::render`).
            unsafe {
                vips_cache_set_max(0);
                vips_concurrency_set(1);
            }
            Ok(())
        })
        .clone()
}

/// libvips's error text (a process-wide buffer), cleared after reading.
fn last_error(what: &str) -> VipsError {
    // SAFETY: vips_error_buffer returns a NUL-terminated string libvips owns; it is copied
    // before the buffer is cleared.
    let text = unsafe {
        let text = CStr::from_ptr(vips_error_buffer())
            .to_string_lossy()
            .trim()
            .to_owned();
        vips_error_clear();
        text
    };
    VipsError(if text.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {text}")
    })
}

/// One reference to a libvips image.
pub struct Image(NonNull<VipsImage>);

// SAFETY: libvips images are reference-counted GObjects safe to use and release from any
// thread; an `Image` is only ever used by one thread at a time.
unsafe impl Send for Image {}

impl Drop for Image {
    fn drop(&mut self) {
        // SAFETY: `self` owns one reference.
        unsafe { g_object_unref(self.0.as_ptr().cast()) };
    }
}

impl Clone for Image {
    fn clone(&self) -> Image {
        // SAFETY: a live image; the new reference is owned by the clone.
        unsafe { g_object_ref(self.0.as_ptr().cast()) };
        Image(self.0)
    }
}

impl Image {
    fn from_out(status: c_int, out: *mut VipsImage, what: &str) -> Result<Image, VipsError> {
        match NonNull::new(out) {
            Some(image) if status == 0 => Ok(Image(image)),
            Some(image) => {
                drop(Image(image));
                Err(last_error(what))
            }
            None => Err(last_error(what)),
        }
    }

    /// The file at `path`, decoded at (about) `width` × `height` — by shrink-on-load where
    /// the format has it (JPEG, WebP, HEIF) — and turned upright by its EXIF orientation.
    /// `force` ignores the aspect ratio.
    pub fn thumbnail(
        path: &Path,
        width: i32,
        height: i32,
        force: bool,
    ) -> Result<Image, VipsError> {
        started()?;
        let path = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| VipsError("a file name with a NUL byte".into()))?;
        let mut out = std::ptr::null_mut();
        let size = if force { VIPS_SIZE_FORCE } else { 0 };
        // SAFETY: valid C strings, an out pointer, option pairs of the declared types, NULL.
        let status = unsafe {
            vips_thumbnail(
                path.as_ptr(),
                &mut out,
                width,
                c"height".as_ptr(),
                height as c_int,
                c"size".as_ptr(),
                size,
                c"fail_on".as_ptr(),
                VIPS_FAIL_ON_TRUNCATED,
                std::ptr::null::<c_char>(),
            )
        };
        Image::from_out(status, out, "thumbnail")
    }

    pub fn width(&self) -> u32 {
        // SAFETY: a live image.
        unsafe { vips_image_get_width(self.0.as_ptr()) }.max(0) as u32
    }

    pub fn height(&self) -> u32 {
        // SAFETY: a live image.
        unsafe { vips_image_get_height(self.0.as_ptr()) }.max(0) as u32
    }

    pub fn bands(&self) -> u32 {
        // SAFETY: a live image.
        unsafe { vips_image_get_bands(self.0.as_ptr()) }.max(0) as u32
    }

    /// One band of luminance (plus alpha, if the image has it).
    pub fn greyscale(&self) -> Result<Image, VipsError> {
        let mut out = std::ptr::null_mut();
        // SAFETY: a live input, an out pointer, no options.
        let status = unsafe {
            vips_colourspace(
                self.0.as_ptr(),
                &mut out,
                VIPS_INTERPRETATION_B_W,
                std::ptr::null::<c_char>(),
            )
        };
        Image::from_out(status, out, "greyscale")
    }

    pub fn band(&self, band: u32) -> Result<Image, VipsError> {
        let mut out = std::ptr::null_mut();
        // SAFETY: a live input, an out pointer, no options.
        let status = unsafe {
            vips_extract_band(
                self.0.as_ptr(),
                &mut out,
                band as c_int,
                std::ptr::null::<c_char>(),
            )
        };
        Image::from_out(status, out, "extract band")
    }

    /// Every pixel of every band as a double, row by row.
    pub fn to_doubles(&self) -> Result<Vec<f64>, VipsError> {
        let mut cast = std::ptr::null_mut();
        // SAFETY: a live input, an out pointer, no options.
        let status = unsafe {
            vips_cast(
                self.0.as_ptr(),
                &mut cast,
                VIPS_FORMAT_DOUBLE,
                std::ptr::null::<c_char>(),
            )
        };
        let cast = Image::from_out(status, cast, "cast")?;
        let mut size = 0usize;
        // SAFETY: a live image; on success the result is a g_malloc'd buffer of `size` bytes,
        // copied and freed here.
        unsafe {
            let memory = vips_image_write_to_memory(cast.0.as_ptr(), &mut size);
            if memory.is_null() {
                return Err(last_error("decode"));
            }
            let bytes = std::slice::from_raw_parts(memory.cast::<u8>(), size);
            let values = bytes
                .chunks_exact(8)
                .map(|b| f64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
                .collect();
            g_free(memory);
            Ok(values)
        }
    }
}

/// A colour as libvips takes it: one double per band.
struct Colour(NonNull<c_void>);

impl Colour {
    fn new(bands: &[f64]) -> Result<Colour, VipsError> {
        // SAFETY: a valid slice; the result is a new reference to a VipsArea.
        let area = unsafe { vips_array_double_new(bands.as_ptr(), bands.len() as c_int) };
        NonNull::new(area)
            .map(Colour)
            .ok_or_else(|| last_error("colour"))
    }
}

impl Drop for Colour {
    fn drop(&mut self) {
        // SAFETY: `self` owns one reference.
        unsafe { vips_area_unref(self.0.as_ptr()) };
    }
}

/// How an image is encoded for delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Jpeg { quality: u8, progressive: bool },
    Png { progressive: bool },
    Webp { quality: u8, lossless: bool },
    Avif { quality: u8, lossless: bool },
    Gif,
}

/// One operation `in → out` with its status.
fn apply(
    input: &Image,
    what: &str,
    op: impl FnOnce(*mut VipsImage, *mut *mut VipsImage) -> c_int,
) -> Result<Image, VipsError> {
    let mut out = std::ptr::null_mut();
    let status = op(input.0.as_ptr(), &mut out);
    Image::from_out(status, out, what)
}

impl Image {
    /// The file's image, not decoded yet: reading its size costs only its header.
    pub fn open(path: &Path) -> Result<Image, VipsError> {
        started()?;
        let path = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| VipsError("a file name with a NUL byte".into()))?;
        // SAFETY: a valid C string, no options.
        let image = unsafe {
            vips_image_new_from_file(
                path.as_ptr(),
                c"fail_on".as_ptr(),
                VIPS_FAIL_ON_TRUNCATED,
                end(),
            )
        };
        NonNull::new(image)
            .map(Image)
            .ok_or_else(|| last_error("open"))
    }

    /// Turned upright by its EXIF orientation (which is then removed).
    pub fn upright(&self) -> Result<Image, VipsError> {
        // SAFETY (every call below): a live input, an out pointer, options of the declared
        // types, NULL-terminated.
        apply(self, "autorotate", |i, o| unsafe {
            vips_autorot(i, o, end())
        })
    }

    /// Scaled by `h` horizontally and `v` vertically.
    pub fn resize(&self, h: f64, v: f64) -> Result<Image, VipsError> {
        apply(self, "resize", |i, o| unsafe {
            vips_resize(i, o, h, c"vscale".as_ptr(), v, end())
        })
    }

    pub fn extract(
        &self,
        left: u32,
        top: u32,
        width: u32,
        height: u32,
    ) -> Result<Image, VipsError> {
        apply(self, "extract", |i, o| unsafe {
            vips_extract_area(
                i,
                o,
                left as c_int,
                top as c_int,
                width as c_int,
                height as c_int,
                end(),
            )
        })
    }

    /// The `width` × `height` region libvips finds most interesting (its attention measure).
    pub fn smart_crop(&self, width: u32, height: u32) -> Result<Image, VipsError> {
        let whole = self.materialised()?;
        apply(&whole, "smart crop", |i, o| unsafe {
            vips_smartcrop(
                i,
                o,
                width as c_int,
                height as c_int,
                c"interesting".as_ptr(),
                VIPS_INTERESTING_ATTENTION,
                end(),
            )
        })
    }

    /// Placed at (`x`, `y`) on a `width` × `height` canvas of `colour` (sRGB + alpha, 0–255).
    pub fn embed(
        &self,
        x: i32,
        y: i32,
        width: u32,
        height: u32,
        colour: [u8; 4],
    ) -> Result<Image, VipsError> {
        let base = if colour[3] < 255 && !self.has_alpha() {
            self.with_alpha()?
        } else {
            self.as_u8()?
        };
        let background = Colour::new(&self.colour_bands(&base, colour))?;
        apply(&base, "embed", |i, o| unsafe {
            vips_embed(
                i,
                o,
                x,
                y,
                width as c_int,
                height as c_int,
                c"extend".as_ptr(),
                VIPS_EXTEND_BACKGROUND,
                c"background".as_ptr(),
                background.0.as_ptr(),
                end(),
            )
        })
    }

    /// `colour` in the bands of `image`: grey or sRGB, with alpha when it has one.
    fn colour_bands(&self, image: &Image, colour: [u8; 4]) -> Vec<f64> {
        let [r, g, b, a] = colour.map(f64::from);
        let alpha = image.has_alpha();
        match (image.bands(), alpha) {
            (1, _) | (2, true) => {
                let grey = 0.2126 * r + 0.7152 * g + 0.0722 * b;
                if alpha { vec![grey, a] } else { vec![grey] }
            }
            (_, true) => vec![r, g, b, a],
            _ => vec![r, g, b],
        }
    }

    /// With an opaque alpha band added.
    pub fn with_alpha(&self) -> Result<Image, VipsError> {
        if self.has_alpha() {
            return self.as_u8();
        }
        apply(self, "add alpha", |i, o| unsafe {
            vips_bandjoin_const1(i, o, 255.0, end())
        })
    }

    /// Turned clockwise by 90, 180 or 270 degrees.
    pub fn rotate(&self, degrees: u16) -> Result<Image, VipsError> {
        let angle = c_int::from(degrees / 90 % 4);
        apply(self, "rotate", |i, o| unsafe {
            vips_rot(i, o, angle, end())
        })
    }

    /// Mirrored left to right (`horizontal`) or top to bottom.
    pub fn flip(&self, horizontal: bool) -> Result<Image, VipsError> {
        let direction = if horizontal { 0 } else { 1 };
        apply(self, "flip", |i, o| unsafe {
            vips_flip(i, o, direction, end())
        })
    }

    pub fn blur(&self, sigma: f64) -> Result<Image, VipsError> {
        apply(self, "blur", |i, o| unsafe {
            vips_gaussblur(i, o, sigma, end())
        })
    }

    pub fn sharpen(&self, sigma: f64) -> Result<Image, VipsError> {
        apply(self, "sharpen", |i, o| unsafe {
            vips_sharpen(i, o, c"sigma".as_ptr(), sigma, end())
        })
    }

    /// Levels stretched so the darkest value becomes 0 and the lightest 255.
    pub fn stretch_contrast(&self) -> Result<Image, VipsError> {
        let whole = self.materialised()?;
        let (mut low, mut high) = (0.0, 0.0);
        // SAFETY: a live image and out pointers.
        let status = unsafe {
            vips_min(whole.0.as_ptr(), &mut low, end())
                | vips_max(whole.0.as_ptr(), &mut high, end())
        };
        if status != 0 {
            return Err(last_error("contrast"));
        }
        if high - low < 1.0 {
            return self.as_u8();
        }
        let scale = 255.0 / (high - low);
        apply(&whole, "contrast", |i, o| unsafe {
            // + 0.5: the cast to 8 bits truncates, and the lightest value must reach 255.
            vips_linear1(
                i,
                o,
                scale,
                0.5 - low * scale,
                c"uchar".as_ptr(),
                TRUE,
                end(),
            )
        })
    }

    /// Alpha composited over `colour` (sRGB); the result has no alpha band.
    pub fn flatten(&self, colour: [u8; 4]) -> Result<Image, VipsError> {
        if !self.has_alpha() {
            return self.as_u8();
        }
        let bands = if self.bands() <= 2 {
            vec![
                0.2126 * f64::from(colour[0])
                    + 0.7152 * f64::from(colour[1])
                    + 0.0722 * f64::from(colour[2]),
            ]
        } else {
            colour[..3].iter().map(|c| f64::from(*c)).collect()
        };
        let background = Colour::new(&bands)?;
        apply(self, "flatten", |i, o| unsafe {
            vips_flatten(i, o, c"background".as_ptr(), background.0.as_ptr(), end())
        })
    }

    /// Only what `mask` (an image with alpha) covers stays visible.
    pub fn masked(&self, mask: &Image) -> Result<Image, VipsError> {
        let base = self.with_alpha()?;
        let mut out = std::ptr::null_mut();
        // SAFETY: two live inputs, an out pointer, no options.
        let status = unsafe {
            vips_composite2(
                base.0.as_ptr(),
                mask.0.as_ptr(),
                &mut out,
                VIPS_BLEND_MODE_DEST_IN,
                end(),
            )
        };
        let composed = Image::from_out(status, out, "mask")?;
        composed.as_u8()
    }

    /// An SVG document rendered (the masks of rounded corners).
    pub fn from_svg(svg: &str) -> Result<Image, VipsError> {
        started()?;
        let mut out = std::ptr::null_mut();
        // SAFETY: the buffer outlives the call: libvips renders it before returning (the
        // result is made memory-resident by `memory` below).
        let status =
            unsafe { vips_svgload_buffer(svg.as_ptr().cast(), svg.len(), &mut out, end()) };
        // Rendered now, while `svg` is alive.
        Image::from_out(status, out, "svg")?.materialised()
    }

    /// Every pixel computed and held in memory: for operations that read an image twice
    /// (files are decoded front to back, once), and images whose source is about to go.
    pub fn materialised(&self) -> Result<Image, VipsError> {
        // SAFETY: a live image; the result is a new reference or NULL.
        let image = unsafe { vips_image_copy_memory(self.0.as_ptr()) };
        NonNull::new(image)
            .map(Image)
            .ok_or_else(|| last_error("render"))
    }

    /// The same pixels as 8-bit values (what the encoders and `embed` take).
    fn as_u8(&self) -> Result<Image, VipsError> {
        apply(self, "cast", |i, o| unsafe {
            vips_linear1(i, o, 1.0, 0.0, c"uchar".as_ptr(), TRUE, end())
        })
    }

    pub fn has_alpha(&self) -> bool {
        // SAFETY: a live image.
        unsafe { vips_image_hasalpha(self.0.as_ptr()) != 0 }
    }

    /// In sRGB: an embedded colour profile applied, CMYK and other spaces converted, grey
    /// left grey.
    pub fn to_srgb(&self) -> Result<Image, VipsError> {
        // SAFETY: a live image and a NUL-terminated field name.
        let has_profile =
            unsafe { vips_image_get_typeof(self.0.as_ptr(), c"icc-profile-data".as_ptr()) } != 0;
        // SAFETY: a live image.
        let space = unsafe { vips_image_get_interpretation(self.0.as_ptr()) };
        // A broken profile fails the transform: then convert as if there were none.
        if has_profile
            && let Ok(image) = apply(self, "colour profile", |i, o| unsafe {
                vips_icc_transform(i, o, c"srgb".as_ptr(), c"embedded".as_ptr(), TRUE, end())
            })
        {
            return Ok(image);
        }
        if space == VIPS_INTERPRETATION_SRGB || space == VIPS_INTERPRETATION_B_W {
            return self.as_u8();
        }
        if space == VIPS_INTERPRETATION_CMYK {
            return apply(self, "cmyk", |i, o| unsafe {
                vips_icc_transform(
                    i,
                    o,
                    c"srgb".as_ptr(),
                    c"input_profile".as_ptr(),
                    c"cmyk".as_ptr(),
                    end(),
                )
            });
        }
        apply(self, "srgb", |i, o| unsafe {
            vips_colourspace(i, o, VIPS_INTERPRETATION_SRGB, end())
        })
    }

    /// Encoded; embedded metadata kept only when `keep_metadata`.
    pub fn encode(&self, encoding: Encoding, keep_metadata: bool) -> Result<Vec<u8>, VipsError> {
        let strip = if keep_metadata { FALSE } else { TRUE };
        let mut buf = std::ptr::null_mut();
        let mut len = 0usize;
        let image = self.0.as_ptr();
        // SAFETY: a live image, out pointers, options of the declared types, NULL.
        let status = unsafe {
            match encoding {
                Encoding::Jpeg {
                    quality,
                    progressive,
                } => vips_jpegsave_buffer(
                    image,
                    &mut buf,
                    &mut len,
                    c"Q".as_ptr(),
                    c_int::from(quality),
                    c"interlace".as_ptr(),
                    c_int::from(progressive),
                    c"optimize_coding".as_ptr(),
                    TRUE,
                    c"strip".as_ptr(),
                    strip,
                    end(),
                ),
                Encoding::Png { progressive } => vips_pngsave_buffer(
                    image,
                    &mut buf,
                    &mut len,
                    c"interlace".as_ptr(),
                    c_int::from(progressive),
                    c"strip".as_ptr(),
                    strip,
                    end(),
                ),
                Encoding::Webp { quality, lossless } => vips_webpsave_buffer(
                    image,
                    &mut buf,
                    &mut len,
                    c"Q".as_ptr(),
                    c_int::from(quality),
                    c"lossless".as_ptr(),
                    c_int::from(lossless),
                    c"strip".as_ptr(),
                    strip,
                    end(),
                ),
                Encoding::Avif { quality, lossless } => vips_heifsave_buffer(
                    image,
                    &mut buf,
                    &mut len,
                    c"Q".as_ptr(),
                    c_int::from(quality),
                    c"lossless".as_ptr(),
                    c_int::from(lossless),
                    c"compression".as_ptr(),
                    VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
                    c"effort".as_ptr(),
                    2 as c_int,
                    c"strip".as_ptr(),
                    strip,
                    end(),
                ),
                Encoding::Gif => {
                    vips_gifsave_buffer(image, &mut buf, &mut len, c"strip".as_ptr(), strip, end())
                }
            }
        };
        if status != 0 || buf.is_null() {
            return Err(last_error("encode"));
        }
        // SAFETY: on success `buf` is a g_malloc'd buffer of `len` bytes, copied then freed.
        unsafe {
            let bytes = std::slice::from_raw_parts(buf.cast::<u8>(), len).to_vec();
            g_free(buf);
            Ok(bytes)
        }
    }
}
