//! XMP packets: rdf:Description attributes and child elements, rdf:Bag/Seq/Alt as lists,
//! language alternatives as "Tag" (x-default) and "Tag-lang", structures flattened into
//! exiftool's tag names ("HistoryAction", "CreatorCity"), each namespace in its exiftool group.
//!
//! A packet is read up to [`MAX_XMP_BYTES`]; a longer one is parsed as far as that and the
//! result is marked partial with a warning, so a 50 MB packet costs 1 MiB.

mod names;
mod xml;

use std::collections::HashMap;

use serde_json::Value;

use crate::EmbeddedMetadata;
use crate::source::Bytes;
use crate::value::{binary, num, round_sig};
use xml::Element;

pub(crate) const MAX_XMP_BYTES: usize = 1024 * 1024;
/// Longest single value kept; longer ones are cut (real values are short, base64 payloads are
/// reported as binary).
const MAX_VALUE_CHARS: usize = 64 * 1024;
const MAX_LIST_ITEMS: usize = 4096;
const MAX_STRUCT_DEPTH: usize = 16;
const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const XML: &str = "http://www.w3.org/XML/1998/namespace";

/// Reads an XMP packet held in `b`; returns the bytes read (at most [`MAX_XMP_BYTES`]).
pub(crate) fn read_region(b: &mut dyn Bytes, out: &mut EmbeddedMetadata) -> Option<Vec<u8>> {
    let size = b.size();
    let packet = b.vec_at(0, MAX_XMP_BYTES);
    let partial = (packet.len() as u64) < size;
    if partial {
        out.warn(format!(
            "XMP: packet of {size} bytes read up to {MAX_XMP_BYTES}; result partial"
        ));
    }
    parse(&packet, partial, out);
    Some(packet)
}

pub(crate) fn read_bytes(b: &mut dyn Bytes, out: &mut EmbeddedMetadata) {
    read_region(b, out);
}

/// The GUID of the extended XMP that a main packet announces in xmpNote:HasExtendedXMP.
pub(crate) fn extended_guid(packet: &[u8]) -> Option<Vec<u8>> {
    let key = b"HasExtendedXMP";
    let at = packet.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = packet.get(at..)?;
    let start = rest.iter().position(|c| c.is_ascii_hexdigit())?;
    let guid = rest.get(start..start + 32)?;
    guid.iter()
        .all(u8::is_ascii_hexdigit)
        .then(|| guid.to_vec())
}

/// Values found per (group, name) in document order, so list items and repeated structure
/// fields become arrays.
#[derive(Default)]
struct Found {
    order: Vec<(String, String)>,
    /// Values and the top-level property they came from.
    values: HashMap<(String, String), (usize, Vec<Value>)>,
    /// Counts top-level properties: values of one property accumulate, while the same tag
    /// from another property (a second rdf:Description) is a duplicate, and as in exiftool
    /// the first one stays.
    property: usize,
}

impl Found {
    fn add(&mut self, group: &str, name: &str, value: Value) {
        let key = (group.to_owned(), name.to_owned());
        let property = self.property;
        let (from, list) = self.values.entry(key.clone()).or_insert_with(|| {
            self.order.push(key);
            (property, Vec::new())
        });
        if *from == property && list.len() < MAX_LIST_ITEMS {
            list.push(value);
        }
    }
}

/// Parses `text` (an XMP packet, possibly cut short when `partial`) into `out`.
pub(crate) fn parse(text: &[u8], partial: bool, out: &mut EmbeddedMetadata) {
    let utf8;
    let text = match utf16_order(text) {
        Some(little) => {
            utf8 = crate::text::utf16_all(text, little).into_bytes();
            &utf8[..]
        }
        None => text,
    };
    let doc = xml::parse(text);
    for p in &doc.problems {
        if !partial || *p != "XML ends inside an element" {
            out.warn(format!("XMP: {p}"));
        }
    }
    let mut found = Found::default();
    walk(&doc.root, &mut found, 0);
    for key in found.order {
        if let Some((_, mut values)) = found.values.remove(&key) {
            let value = if values.len() == 1 {
                values.pop().unwrap_or(Value::Null)
            } else {
                Value::Array(values)
            };
            out.push(&key.0, &key.1, value);
        }
    }
}

/// XMP may be written in UTF-16 (exiftool's test image is): detected from a BOM or from the
/// NUL bytes around the first '<'.
fn utf16_order(t: &[u8]) -> Option<bool> {
    match t {
        [0xFE, 0xFF, ..] | [0, b'<', ..] => Some(false),
        [0xFF, 0xFE, ..] | [b'<', 0, ..] => Some(true),
        _ => None,
    }
}

/// Finds x:xmpmeta and rdf:Description elements wherever they are.
fn walk(e: &Element, found: &mut Found, depth: usize) {
    if depth > 32 {
        return;
    }
    if e.ns == "adobe:ns:meta/"
        && let Some(tk) = e.attr("adobe:ns:meta/", "xmptk")
    {
        found.add("XMP-x", "XMPToolkit", Value::from(tk));
    }
    if e.ns == RDF && e.local == "Description" {
        description(e, found);
        return;
    }
    for c in e.elements() {
        walk(c, found, depth + 1);
    }
}

fn description(d: &Element, found: &mut Found) {
    found.property += 1;
    // Old packets write the rdf:about attribute without its prefix.
    let about = d.attr(RDF, "about").or_else(|| d.attr("", "about"));
    if let Some(about) = about.filter(|a| !a.is_empty()) {
        found.add("XMP-rdf", "About", Value::from(about));
    }
    for a in &d.attrs {
        found.property += 1;
        if a.ns == RDF || a.ns == XML || a.ns.is_empty() {
            continue;
        }
        let (group, prefix) = group_of(&a.ns, &a.prefix);
        emit(
            found,
            &group,
            &prefix,
            &names::tag_part(&a.local),
            None,
            &a.value,
        );
    }
    for p in d.elements() {
        found.property += 1;
        let (group, prefix) = group_of(&p.ns, &p.prefix);
        let id = names::tag_part(names::field_name(&prefix, &p.local));
        property(p, found, &group, &prefix, &id, 0);
    }
}

/// exiftool's group for a namespace: "XMP-" and its short name, or the prefix as written.
fn group_of(uri: &str, written: &str) -> (String, String) {
    let prefix = names::group_prefix(uri).map_or_else(|| written.to_owned(), str::to_owned);
    (format!("XMP-{prefix}"), prefix)
}

/// A property element whose flattened id so far is `id`.
fn property(p: &Element, found: &mut Found, group: &str, prefix: &str, id: &str, depth: usize) {
    if depth > MAX_STRUCT_DEPTH {
        return;
    }
    if let Some(res) = p.attr(RDF, "resource") {
        emit(found, group, prefix, id, None, res);
        return;
    }
    let kids: Vec<&Element> = p.elements().collect();
    if let Some(container) = kids
        .iter()
        .find(|k| k.ns == RDF && matches!(k.local.as_str(), "Bag" | "Seq" | "Alt"))
    {
        for li in container
            .elements()
            .filter(|k| k.ns == RDF && k.local == "li")
        {
            let lang = li.attr(XML, "lang");
            if is_struct(li) {
                structure(li, found, group, prefix, id, depth + 1);
            } else if let Some(res) = li.attr(RDF, "resource") {
                emit(found, group, prefix, id, lang, res);
            } else {
                emit(found, group, prefix, id, lang, &li.text());
            }
        }
        return;
    }
    if is_struct(p) {
        structure(p, found, group, prefix, id, depth + 1);
        return;
    }
    emit(found, group, prefix, id, p.attr(XML, "lang"), &p.text());
}

/// A structure: rdf:parseType="Resource", a nested rdf:Description, field attributes, or
/// field elements.
fn is_struct(e: &Element) -> bool {
    e.attr(RDF, "parseType") == Some("Resource")
        || e.elements().next().is_some()
        || e.attrs
            .iter()
            .any(|a| a.ns != RDF && a.ns != XML && !a.ns.is_empty())
}

fn structure(e: &Element, found: &mut Found, group: &str, prefix: &str, id: &str, depth: usize) {
    if depth > MAX_STRUCT_DEPTH {
        return;
    }
    let fields_of = |x: &Element| -> Vec<(String, String)> {
        x.attrs
            .iter()
            .filter(|a| a.ns != RDF && a.ns != XML && !a.ns.is_empty())
            .map(|a| (a.local.clone(), a.value.clone()))
            .collect()
    };
    let mut holders: Vec<&Element> = vec![e];
    holders.extend(
        e.elements()
            .filter(|k| k.ns == RDF && k.local == "Description"),
    );
    for h in holders {
        for (local, value) in fields_of(h) {
            let field = names::join(id, names::field_name(prefix, &local));
            emit(found, group, prefix, &field, None, &value);
        }
        for f in h.elements() {
            if f.ns == RDF {
                continue;
            }
            let field = names::join(id, names::field_name(prefix, &f.local));
            property(f, found, group, prefix, &field, depth + 1);
        }
    }
    // rdf:value holds the main value of a qualified property.
    if let Some(v) = e.elements().find(|k| k.ns == RDF && k.local == "value") {
        emit(found, group, prefix, id, None, &v.text());
    }
}

/// Names, converts and records one value.
fn emit(found: &mut Found, group: &str, prefix: &str, id: &str, lang: Option<&str>, raw: &str) {
    if let Some(name) = names::binary_name(prefix, id) {
        let len = raw.bytes().filter(|c| !c.is_ascii_whitespace()).count();
        let pad = raw.bytes().rev().take_while(|&c| c == b'=').count();
        found.add(
            group,
            name,
            binary((len / 4 * 3).saturating_sub(pad) as u64),
        );
        return;
    }
    // The IPTC Extension's ArtworkOrObject fields are "AO..."; exiftool names them "Artwork...".
    let id = match id.strip_prefix("ArtworkOrObjectAO") {
        Some(rest) if prefix == "iptcExt" => format!("Artwork{rest}"),
        _ => id.to_owned(),
    };
    let mut name = names::rename(prefix, &id).map_or_else(|| names::ucfirst(&id), str::to_owned);
    if let Some(l) = lang.filter(|l| !l.eq_ignore_ascii_case("x-default")) {
        name = format!("{name}-{l}");
    }
    let mut text: String = raw.chars().take(MAX_VALUE_CHARS).collect();
    if text.len() < raw.len() {
        text.push('…');
    }
    let value = convert(prefix, &name, text);
    found.add(group, &name, value);
}

/// exiftool's value conversions that apply with -n: dates, rationals, APEX values, GPS.
fn convert(prefix: &str, name: &str, text: String) -> Value {
    if let Some(shutter) = names::apex(prefix, name)
        && let Some(r) = rational(&text).or_else(|| leading_number(&text))
    {
        return num(round_sig(
            if shutter {
                2f64.powf(-r)
            } else {
                2f64.powf(r / 2.0)
            },
            15,
        ));
    }
    if let Some(r) = rational(&text) {
        if prefix == "exif" && name == "ColorSpace" && r == 4_294_967_295.0 {
            // Photoshop wrote "uncalibrated" (0xFFFF) as a 32-bit -1; exiftool fixes it.
            return Value::from(65535);
        }
        if text.contains('/') {
            return num(round_sig(r, 15));
        }
    }
    if prefix == "plus"
        && name != "DataMining"
        && let Some(code) = text.strip_prefix("http://ns.useplus.org/ldf/vocab/")
    {
        return Value::from(code);
    }
    if names::is_gps_coord(name)
        && let Some(deg) = gps_coord(&text)
    {
        return num(round_sig(deg, 15));
    }
    if names::is_date(name) {
        return Value::from(xmp_date(&text));
    }
    Value::from(text)
}

/// "n/d" or a plain number.
fn rational(t: &str) -> Option<f64> {
    match t.split_once('/') {
        Some((n, d)) => {
            let n: i64 = n.trim().parse().ok()?;
            let d: i64 = d.trim().parse().ok()?;
            (d != 0).then(|| n as f64 / d as f64)
        }
        None => t.trim().parse().ok(),
    }
}

/// Perl's reading of a string as a number: the longest numeric prefix ("4,90 EV" is 4).
fn leading_number(t: &str) -> Option<f64> {
    let t = t.trim_start();
    let end = t
        .char_indices()
        .take_while(|&(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+')))
        .last()
        .map(|(i, c)| i + c.len_utf8())?;
    t.get(..end)?.parse().ok()
}

/// "DDD,MM.mmk" / "DDD,MM,SSk" (k = N/S/E/W) as signed decimal degrees.
fn gps_coord(t: &str) -> Option<f64> {
    let t = t.trim();
    let last = t.chars().last()?;
    let sign = match last.to_ascii_uppercase() {
        'S' | 'W' => -1.0,
        'N' | 'E' => 1.0,
        _ => return t.parse().ok(),
    };
    let body = t.get(..t.len() - last.len_utf8())?;
    let mut parts = body.split(',').map(|p| p.trim().parse::<f64>());
    let d = parts.next()?.ok()?;
    let m = parts.next().and_then(Result::ok).unwrap_or(0.0);
    let s = parts.next().and_then(Result::ok).unwrap_or(0.0);
    Some(sign * (d + (m + s / 60.0) / 60.0))
}

/// exiftool's ConvertXMPDate.
fn xmp_date(t: &str) -> String {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() >= 16
        && digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && b.get(10) == Some(&b'T')
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
    {
        let date = t.get(..10).unwrap_or_default().replace('-', ":");
        return format!("{date} {}", t.get(11..).unwrap_or_default());
    }
    if digits(0..4) && (b.len() == 4 || b.get(4) == Some(&b'-')) {
        return t.replace('-', ":");
    }
    t.to_owned()
}

#[cfg(test)]
mod tests;
