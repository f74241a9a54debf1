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
}

#[link(name = "glib-2.0")]
unsafe extern "C" {
    fn g_free(memory: *mut c_void);
}

// From vips/image.h and vips/resample.h.
const VIPS_INTERPRETATION_B_W: c_int = 1;
const VIPS_FORMAT_DOUBLE: c_int = 8;
const VIPS_SIZE_FORCE: c_int = 3;

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
            // SAFETY: libvips is started.
            unsafe { vips_cache_set_max(0) };
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
