//! The perceptual hash of an image (ImageKit's `pHash`): 64 bits, as 16 hex digits, that
//! change little when an image is resized, re-encoded or slightly edited, so that the Hamming
//! distance between two hashes measures how alike two images look.
//!
//! The classic DCT hash (pHash.org; Python's `imagehash.phash`): luminance at 32 × 32
//! ignoring the aspect ratio, a 2-D DCT-II, and one bit per coefficient of the 8 × 8 lowest
//! frequencies, set when it is above their median; row by row, the first bit the highest.

use std::path::Path;

use super::vips::{Image, VipsError};

const SIDE: usize = 32;
const LOW: usize = 8;

/// The hash of the image in the file at `path`, read by libvips.
pub fn of_file(path: &Path) -> Result<String, VipsError> {
    let image = Image::thumbnail(path, SIDE as i32, SIDE as i32, true)?;
    let grey = image.greyscale()?;
    // Luminance only: an alpha band carries no picture.
    let grey = if grey.bands() > 1 {
        grey.band(0)?
    } else {
        grey
    };
    if (grey.width(), grey.height()) != (SIDE as u32, SIDE as u32) {
        return Err(VipsError::from_message(format!(
            "a {}x{} thumbnail where {SIDE}x{SIDE} was asked for",
            grey.width(),
            grey.height()
        )));
    }
    let pixels = grey.to_doubles()?;
    let hash = of_luminance(&pixels)
        .ok_or_else(|| VipsError::from_message("too few pixels for a hash".into()))?;
    Ok(format!("{hash:016x}"))
}

/// The hash of a 32 × 32 luminance image given row by row.
pub fn of_luminance(pixels: &[f64]) -> Option<u64> {
    if pixels.len() != SIDE * SIDE {
        return None;
    }
    // cos(π k (2n + 1) / 2N) for the low frequencies k only: the others are never used.
    let basis: Vec<[f64; SIDE]> = (0..LOW)
        .map(|k| {
            std::array::from_fn(|n| {
                (std::f64::consts::PI * k as f64 * (2 * n + 1) as f64 / (2 * SIDE) as f64).cos()
            })
        })
        .collect();
    // Rows first (each row's 8 low frequencies), then columns.
    let rows: Vec<[f64; LOW]> = pixels
        .chunks_exact(SIDE)
        .map(|row| std::array::from_fn(|k| dot(&basis[k], row)))
        .collect();
    let mut low = [0.0; LOW * LOW];
    for (u, basis_u) in basis.iter().enumerate() {
        for v in 0..LOW {
            let column: [f64; SIDE] = std::array::from_fn(|y| rows[y][v]);
            low[u * LOW + v] = dot(basis_u, &column);
        }
    }
    let mut sorted = low;
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[LOW * LOW / 2 - 1] + sorted[LOW * LOW / 2]) / 2.0;
    Some(
        low.iter()
            .fold(0u64, |hash, &c| (hash << 1) | u64::from(c > median)),
    )
}

fn dot(a: &[f64; SIDE], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distance(a: u64, b: u64) -> u32 {
        (a ^ b).count_ones()
    }

    fn image(f: impl Fn(usize, usize) -> f64) -> Vec<f64> {
        (0..SIDE * SIDE).map(|i| f(i % SIDE, i / SIDE)).collect()
    }

    #[test]
    fn brightness_and_contrast_do_not_change_the_hash() {
        let base = image(|x, y| ((x * 7 + y * 3) % 32) as f64 * 8.0);
        let brighter: Vec<f64> = base.iter().map(|p| p * 0.8 + 30.0).collect();
        assert_eq!(of_luminance(&base), of_luminance(&brighter));
    }

    #[test]
    fn different_pictures_are_far_apart() {
        let hills = |x: usize, y: usize| {
            let (x, y) = (x as f64, y as f64);
            128.0 + 60.0 * (x / 5.0).sin() + 50.0 * (y / 7.0).cos() + 30.0 * ((x + y) / 3.0).sin()
        };
        let waves = |x: usize, y: usize| {
            let (x, y) = (x as f64, y as f64);
            128.0 + 80.0 * ((x - y) / 4.0).cos() + 40.0 * (x * y / 90.0).sin()
        };
        let a = of_luminance(&image(hills)).unwrap();
        let b = of_luminance(&image(waves)).unwrap();
        assert!(distance(a, b) > 16, "{a:016x} {b:016x}");
        // Noise of a few levels moves a hash by a few bits at most.
        let noisy = image(|x, y| hills(x, y) + ((x * 37 + y * 11) % 7) as f64);
        assert!(distance(a, of_luminance(&noisy).unwrap()) <= 4);
        assert_eq!(of_luminance(&[0.0; 10]), None);
    }

    #[test]
    fn corpus_photos_hash_repeatably_and_apart() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        let canon = of_file(&dir.join("Canon_40D.jpg")).unwrap();
        assert_eq!(canon.len(), 16);
        assert_eq!(canon, of_file(&dir.join("Canon_40D.jpg")).unwrap());
        let nikon = of_file(&dir.join("Nikon_D70.jpg")).unwrap();
        let far = distance(
            u64::from_str_radix(&canon, 16).unwrap(),
            u64::from_str_radix(&nikon, 16).unwrap(),
        );
        assert!(far > 10, "{canon} {nikon}");
        let err = of_file(&dir.join("no-such-file.jpg")).unwrap_err();
        assert!(err.to_string().contains("thumbnail"), "{err}");
    }
}

/// `cargo test --release --lib phash_cost -- --ignored --nocapture`: the cost of a hash at
/// upload, per corpus image (docs/performance.md, "pHash at upload").
#[cfg(test)]
mod cost {
    #[test]
    #[ignore]
    fn phash_cost() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        for name in [
            "jpeg_24mp.jpg",
            "Canon_40D.jpg",
            "heic_IMG_5195.HEIC",
            "png_16bit_rgba_interlaced.png",
            "webp_exif_gps_htc_desire.webp",
            "avif_photo.avif",
        ] {
            let path = dir.join(name);
            let _ = super::of_file(&path);
            let runs = 10;
            let started = std::time::Instant::now();
            for _ in 0..runs {
                let _ = super::of_file(&path);
            }
            let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
            println!("| `{name}` | {ms:.1} ms |");
        }
    }
}
