//! ICC profiles: the header ("ICC-header" group) and the descriptive tags ("ICC_Profile",
//! "ICC-meas", "ICC-view", "ICC-chrm"). Curves and lookup tables are reported as binary, as
//! exiftool does; only tags that are text or a few numbers are read.

use serde_json::Value;

use crate::EmbeddedMetadata;
use crate::source::Bytes;
use crate::text::utf16;
use crate::value::binary;

const MAX_TAGS: u64 = 256;
/// Text and number tags are small; larger ones are not decoded.
const MAX_TAG_BYTES: u64 = 64 * 1024;
const MAX_MLUC_RECORDS: u64 = 64;

pub(crate) fn read(b: &mut dyn Bytes, out: &mut EmbeddedMetadata) {
    let Some(h) = b.exact::<128>(0) else {
        out.warn("ICC: truncated profile header");
        return;
    };
    if &h[36..40] != b"acsp" {
        out.warn("ICC: bad profile signature");
        return;
    }
    header(&h, out);
    let Some(count) = b.exact::<4>(128).map(u32::from_be_bytes) else {
        out.warn("ICC: truncated tag table");
        return;
    };
    let mut count = u64::from(count);
    if count > MAX_TAGS {
        out.warn(format!("ICC: {count} tags claimed; read {MAX_TAGS}"));
        count = MAX_TAGS;
    }
    for i in 0..count {
        let Some(e) = b.exact::<12>(132 + i * 12) else {
            out.warn("ICC: truncated tag table");
            return;
        };
        let sig: [u8; 4] = [e[0], e[1], e[2], e[3]];
        let off = u64::from(u32::from_be_bytes([e[4], e[5], e[6], e[7]]));
        let len = u64::from(u32::from_be_bytes([e[8], e[9], e[10], e[11]]));
        if off.saturating_add(len) > b.size() {
            out.warn(format!(
                "ICC: tag {} outside the profile",
                String::from_utf8_lossy(&sig)
            ));
            continue;
        }
        tag(b, &sig, off, len, out);
    }
}

fn four(b: &[u8]) -> String {
    let s: String = b.iter().map(|&c| char::from(c)).collect();
    s.trim_end_matches('\0').to_owned()
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|x| x.try_into().ok())
        .map_or(0, u32::from_be_bytes)
}

fn be16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |x| u16::from_be_bytes([x[0], x[1]]))
}

/// s15Fixed16 rounded to 5 decimals, as exiftool prints it.
fn fixed(v: u32, signed: bool) -> String {
    let x = if signed {
        f64::from(v as i32)
    } else {
        f64::from(v)
    } / 65536.0;
    let r = (x * 1e5).round() / 1e5;
    crate::value::num_text(r)
}

fn fixed_list(b: &[u8], from: usize, n: usize, signed: bool) -> String {
    let parts: Vec<String> = (0..n)
        .map(|i| fixed(be32(b, from + 4 * i), signed))
        .collect();
    parts.join(" ")
}

fn header(h: &[u8; 128], out: &mut EmbeddedMetadata) {
    let g = "ICC-header";
    out.push(g, "ProfileCMMType", Value::from(four(&h[4..8])));
    out.push(g, "ProfileVersion", Value::from(be16(h, 8)));
    out.push(g, "ProfileClass", Value::from(four(&h[12..16])));
    out.push(g, "ColorSpaceData", Value::from(four(&h[16..20])));
    out.push(g, "ProfileConnectionSpace", Value::from(four(&h[20..24])));
    let d: Vec<u16> = (0..6).map(|i| be16(h, 24 + 2 * i)).collect();
    if let [y, mo, da, ho, mi, se] = d[..] {
        out.push(
            g,
            "ProfileDateTime",
            Value::from(format!("{y:04}:{mo:02}:{da:02} {ho:02}:{mi:02}:{se:02}")),
        );
    }
    out.push(g, "ProfileFileSignature", Value::from(four(&h[36..40])));
    out.push(g, "PrimaryPlatform", Value::from(four(&h[40..44])));
    out.push(g, "CMMFlags", Value::from(be32(h, 44)));
    out.push(g, "DeviceManufacturer", Value::from(four(&h[48..52])));
    out.push(g, "DeviceModel", Value::from(four(&h[52..56])));
    out.push(
        g,
        "DeviceAttributes",
        Value::from(format!("{} {}", be32(h, 56), be32(h, 60))),
    );
    out.push(g, "RenderingIntent", Value::from(be32(h, 64)));
    out.push(
        g,
        "ConnectionSpaceIlluminant",
        Value::from(fixed_list(h, 68, 3, true)),
    );
    out.push(g, "ProfileCreator", Value::from(four(&h[80..84])));
    let id: Vec<String> = h[84..100].iter().map(|c| c.to_string()).collect();
    out.push(g, "ProfileID", Value::from(id.join(" ")));
}

fn tag_name(sig: &[u8; 4]) -> Option<&'static str> {
    Some(match sig {
        b"desc" => "ProfileDescription",
        b"cprt" => "ProfileCopyright",
        b"dmnd" => "DeviceMfgDesc",
        b"dmdd" => "DeviceModelDesc",
        b"vued" => "ViewingCondDesc",
        b"wtpt" => "MediaWhitePoint",
        b"bkpt" => "MediaBlackPoint",
        b"rXYZ" => "RedMatrixColumn",
        b"gXYZ" => "GreenMatrixColumn",
        b"bXYZ" => "BlueMatrixColumn",
        b"rTRC" => "RedTRC",
        b"gTRC" => "GreenTRC",
        b"bTRC" => "BlueTRC",
        b"kTRC" => "GrayTRC",
        b"lumi" => "Luminance",
        b"tech" => "Technology",
        b"chad" => "ChromaticAdaptation",
        b"A2B0" => "AToB0",
        b"A2B1" => "AToB1",
        b"A2B2" => "AToB2",
        b"B2A0" => "BToA0",
        b"B2A1" => "BToA1",
        b"B2A2" => "BToA2",
        b"gamt" => "Gamut",
        b"pre0" => "Preview0",
        b"pre1" => "Preview1",
        b"pre2" => "Preview2",
        b"ncl2" => "NamedColor2",
        b"targ" => "CharTarget",
        b"mmod" => "MakeAndModel",
        b"ndin" => "NativeDisplayInfo",
        b"vcgt" => "VideoCardGamma",
        b"dscm" => "ProfileDescriptionML",
        b"calt" => "CalibrationDateTime",
        b"ciis" => "ColorimetricIntentImageState",
        b"rig0" => "PerceptualRenderingIntentGamut",
        b"rig2" => "SaturationRenderingIntentGamut",
        b"clrt" => "ColorantTable",
        b"clro" => "ColorantOrder",
        b"clot" => "ColorantTableOut",
        b"crdi" => "CRDInfo",
        b"devs" => "DeviceSettings",
        b"meta" => "Metadata",
        b"psd0" => "PostScript2CRD0",
        b"ps2s" => "PostScript2CSA",
        b"ps2i" => "PS2RenderingIntent",
        b"scrd" => "ScreeningDesc",
        b"scrn" => "Screening",
        b"resp" => "OutputResponse",
        b"D2B0" => "DToB0",
        b"B2D0" => "BToD0",
        _ => return None,
    })
}

fn tag(b: &mut dyn Bytes, sig: &[u8; 4], off: u64, len: u64, out: &mut EmbeddedMetadata) {
    let g = "ICC_Profile";
    let Some(kind) = b.exact::<4>(off) else {
        return;
    };
    match sig {
        b"meas" | b"view" | b"chrm" => {
            let d = b.vec_at(off, 64);
            match sig {
                b"meas" => {
                    let m = "ICC-meas";
                    out.push(m, "MeasurementObserver", Value::from(be32(&d, 8)));
                    out.push(
                        m,
                        "MeasurementBacking",
                        Value::from(fixed_list(&d, 12, 3, true)),
                    );
                    out.push(m, "MeasurementGeometry", Value::from(be32(&d, 24)));
                    out.push(
                        m,
                        "MeasurementFlare",
                        Value::from(fixed(be32(&d, 28), false)),
                    );
                    out.push(m, "MeasurementIlluminant", Value::from(be32(&d, 32)));
                }
                b"view" => {
                    let v = "ICC-view";
                    out.push(
                        v,
                        "ViewingCondIlluminant",
                        Value::from(fixed_list(&d, 8, 3, true)),
                    );
                    out.push(
                        v,
                        "ViewingCondSurround",
                        Value::from(fixed_list(&d, 20, 3, true)),
                    );
                    out.push(v, "ViewingCondIlluminantType", Value::from(be32(&d, 32)));
                }
                _ => {
                    let c = "ICC-chrm";
                    let n = be16(&d, 8);
                    out.push(c, "ChromaticityChannels", Value::from(n));
                    out.push(c, "ChromaticityColorant", Value::from(be16(&d, 10)));
                    for i in 0..usize::from(n.min(3)) {
                        out.push(
                            c,
                            [
                                "ChromaticityChannel1",
                                "ChromaticityChannel2",
                                "ChromaticityChannel3",
                            ]
                            .get(i)
                            .copied()
                            .unwrap_or("ChromaticityChannel"),
                            Value::from(fixed_list(&d, 12 + 8 * i, 2, false)),
                        );
                    }
                }
            }
            return;
        }
        _ => {}
    }
    let Some(name) = tag_name(sig) else {
        return;
    };
    let decodable = matches!(
        &kind,
        b"desc" | b"text" | b"mluc" | b"XYZ " | b"sig " | b"sf32" | b"dtim"
    );
    if !decodable || len > MAX_TAG_BYTES {
        out.push(g, name, binary(len));
        return;
    }
    let d = b.vec_at(off, usize::try_from(len).unwrap_or(0));
    match &kind {
        b"desc" => {
            let n = usize::try_from(be32(&d, 8)).unwrap_or(0);
            let s = d
                .get(12..12usize.saturating_add(n).min(d.len()))
                .unwrap_or_default();
            out.push(g, name, Value::from(crate::text::c_string(s)));
        }
        b"text" => {
            out.push(
                g,
                name,
                Value::from(crate::text::c_string(d.get(8..).unwrap_or_default())),
            );
        }
        b"sig " => out.push(g, name, Value::from(four(d.get(8..12).unwrap_or_default()))),
        b"XYZ " | b"sf32" => {
            let n = d.len().saturating_sub(8) / 4;
            out.push(g, name, Value::from(fixed_list(&d, 8, n, true)));
        }
        b"dtim" => {
            let v: Vec<u16> = (0..6).map(|i| be16(&d, 8 + 2 * i)).collect();
            if let [y, mo, da, ho, mi, se] = v[..] {
                out.push(
                    g,
                    name,
                    Value::from(format!("{y:04}:{mo:02}:{da:02} {ho:02}:{mi:02}:{se:02}")),
                );
            }
        }
        _ => mluc(&d, name, out),
    }
}

/// Multi-localised Unicode: the en-US record (else the first) under the tag's name, the others
/// under "Name-lang-COUNTRY".
fn mluc(d: &[u8], name: &str, out: &mut EmbeddedMetadata) {
    let n = u64::from(be32(d, 8)).min(MAX_MLUC_RECORDS);
    // Record sizes come from the file: offsets are computed with checks, and a record past the
    // end of the tag ends the list.
    let rec = usize::try_from(be32(d, 12)).unwrap_or(12).max(12);
    let record_at = |i: usize| i.checked_mul(rec).and_then(|o| o.checked_add(16));
    let main = (0..usize::try_from(n).unwrap_or(0))
        .find(|&i| record_at(i).and_then(|at| d.get(at..at.checked_add(4)?)) == Some(b"enUS"))
        .unwrap_or(0);
    for i in 0..usize::try_from(n).unwrap_or(0) {
        let Some(at) = record_at(i).filter(|&at| at < d.len()) else {
            return;
        };
        let (Some(lang), Some(country)) = (d.get(at..at + 2), d.get(at + 2..at + 4)) else {
            return;
        };
        let len = usize::try_from(be32(d, at + 4)).unwrap_or(0);
        let off = usize::try_from(be32(d, at + 8)).unwrap_or(0);
        let text = utf16(
            d.get(off..off.saturating_add(len).min(d.len()))
                .unwrap_or_default(),
            false,
        );
        if i == main {
            out.push("ICC_Profile", name, Value::from(text));
        } else {
            let tag = format!(
                "{name}-{}-{}",
                String::from_utf8_lossy(lang),
                String::from_utf8_lossy(country)
            );
            out.push("ICC_Profile", &tag, Value::from(text));
        }
    }
}
