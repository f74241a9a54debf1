//! exiftool's XMP group and tag names: namespace URIs to family-1 groups ("XMP-dc"), and the
//! tags whose exiftool name differs from the property path.

/// exiftool's short name for a namespace URI, if it has one.
pub(crate) fn group_prefix(uri: &str) -> Option<&'static str> {
    Some(match uri {
        "http://purl.org/dc/elements/1.1/" => "dc",
        "http://ns.adobe.com/xap/1.0/" => "xmp",
        "http://ns.adobe.com/xap/1.0/mm/" => "xmpMM",
        "http://ns.adobe.com/xap/1.0/rights/" => "xmpRights",
        "http://ns.adobe.com/xap/1.0/bj/" => "xmpBJ",
        "http://ns.adobe.com/xap/1.0/t/pg/" => "xmpTPg",
        "http://ns.adobe.com/xmp/1.0/DynamicMedia/" => "xmpDM",
        "http://ns.adobe.com/xmp/note/" => "xmpNote",
        "http://ns.adobe.com/photoshop/1.0/" => "photoshop",
        "http://ns.adobe.com/camera-raw-settings/1.0/" => "crs",
        "http://ns.adobe.com/tiff/1.0/" => "tiff",
        "http://ns.adobe.com/exif/1.0/" => "exif",
        "http://cipa.jp/exif/1.0/" => "exifEX",
        "http://ns.adobe.com/exif/1.0/aux/" => "aux",
        "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/" => "iptcCore",
        "http://iptc.org/std/Iptc4xmpExt/2008-02-29/" => "iptcExt",
        "http://ns.useplus.org/ldf/xmp/1.0/" => "plus",
        "http://ns.adobe.com/lightroom/1.0/" => "lr",
        "http://ns.adobe.com/pdf/1.3/" => "pdf",
        "http://ns.adobe.com/pdfx/1.3/" => "pdfx",
        "http://creativecommons.org/ns#" => "cc",
        "http://ns.google.com/photos/1.0/depthmap/" => "GDepth",
        "http://ns.google.com/photos/1.0/focus/" => "GFocus",
        "http://ns.google.com/photos/1.0/image/" => "GImage",
        "http://ns.google.com/photos/1.0/panorama/" => "GPano",
        "http://ns.google.com/photos/1.0/camera/" => "GCamera",
        "http://ns.google.com/photos/1.0/container/" => "Container",
        "http://ns.google.com/photos/1.0/audio/" => "GAudio",
        "http://ns.adobe.com/hdr-gain-map/1.0/" => "hdrgm",
        "http://www.digikam.org/ns/1.0/" => "digiKam",
        "http://ns.microsoft.com/photo/1.0/" | "http://ns.microsoft.com/photo/1.0" => "microsoft",
        "http://ns.microsoft.com/photo/1.2/" => "MP",
        "http://ns.iview-multimedia.com/mediapro/1.0/" => "mediapro",
        "http://ns.acdsee.com/iptc/1.0/" => "acdsee",
        "http://www.gimp.org/xmp/" => "GIMP",
        "http://ns.camerabits.com/photomechanic/1.0/" => "photomech",
        "http://ns.adobe.com/xmp/1.0/Script/" => "xmpScript",
        "http://ns.adobe.com/xap/1.0/g/img/" => "xmpGImg",
        "http://prismstandard.org/namespaces/basic/2.0/" => "prism",
        "http://ns.apple.com/adjustment-settings/1.0/" => "AdjustmentSettings",
        "http://ns.apple.com/faceinfo/1.0/" => "apple-fi",
        "http://ns.adobe.com/xmp/sType/Area#" => "stArea",
        "adobe:ns:meta/" => "x",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#" => "rdf",
        _ => return None,
    })
}

/// exiftool's name for a flattened property id (path components joined, see `flatten`) in the
/// group `prefix`, when it is not the id itself with its first letter capitalised.
pub(crate) fn rename(prefix: &str, id: &str) -> Option<&'static str> {
    Some(match (prefix, id) {
        ("tiff", "ImageLength") => "ImageHeight",
        ("exif", "PixelXDimension") => "ExifImageWidth",
        ("exif", "PixelYDimension") => "ExifImageHeight",
        ("exif", "ISOSpeedRatings") => "ISO",
        ("exif", "ExposureBiasValue") => "ExposureCompensation",
        ("crs", "Temperature") => "ColorTemperature",
        ("microsoft", "Rating") => "RatingPercent",
        ("GImage", "Mime") => "ImageMimeType",
        ("exif", "FocalLengthIn35mmFilm") => "FocalLengthIn35mmFormat",
        ("exif", "InteroperabilityIndex") => "InteroperabilityIndex",
        ("exifEX", "PhotographicSensitivity") => "ISO",
        ("photoshop", "ICCProfile") => "ICCProfileName",
        ("photoshop", "TextLayersLayerName") => "TextLayerName",
        ("photoshop", "TextLayersLayerText") => "TextLayerText",
        ("iptcCore", "CreatorContactInfoCiAdrCity") => "CreatorCity",
        ("iptcCore", "CreatorContactInfoCiAdrCtry") => "CreatorCountry",
        ("iptcCore", "CreatorContactInfoCiAdrExtadr") => "CreatorAddress",
        ("iptcCore", "CreatorContactInfoCiAdrPcode") => "CreatorPostalCode",
        ("iptcCore", "CreatorContactInfoCiAdrRegion") => "CreatorRegion",
        ("iptcCore", "CreatorContactInfoCiEmailWork") => "CreatorWorkEmail",
        ("iptcCore", "CreatorContactInfoCiTelWork") => "CreatorWorkTelephone",
        ("iptcCore", "CreatorContactInfoCiUrlWork") => "CreatorWorkURL",
        ("iptcExt", "RegistryIdRegItemId") => "RegistryItemID",
        ("iptcExt", "RegistryIdRegOrgId") => "RegistryOrganisationID",
        ("iptcExt", "RegistryIdRegEntryRole") => "RegistryEntryRole",
        ("iptcExt", "ImageRegionRId") => "ImageRegionID",
        ("iptcExt", "PersonInImageWDetailsPersonName") => "PersonInImageName",
        ("iptcExt", "PersonInImageWDetailsPersonId") => "PersonInImageId",
        ("iptcExt", "PersonInImageWDetailsPersonDescription") => "PersonInImageDescription",
        ("iptcExt", "ProductInImageProductName") => "ProductInImageName",
        ("iptcExt", "ProductInImageProductDescription") => "ProductInImageDescription",
        ("iptcExt", "ProductInImageProductGTIN") => "ProductInImageGTIN",
        ("iptcExt", "AddlModelInfo") => "AdditionalModelInformation",
        ("iptcExt", "ArtworkCreatorId") => "ArtworkCreatorID",
        ("iptcExt", "ArtworkCurrentCopyrightOwnerId") => "ArtworkCopyrightOwnerID",
        ("iptcExt", "ArtworkCurrentCopyrightOwnerName") => "ArtworkCopyrightOwnerName",
        ("iptcExt", "ArtworkCurrentLicensorId") => "ArtworkLicensorID",
        ("iptcExt", "ArtworkCurrentLicensorName") => "ArtworkLicensorName",
        ("iptcExt", "ArtworkSourceInvNo") => "ArtworkSourceInventoryNo",
        ("iptcExt", "DigImageGUID") => "DigitalImageGUID",
        ("iptcExt", "EmbdEncRightsExprEncRightsExpr") => "EmbeddedEncodedRightsExpr",
        ("iptcExt", "EmbdEncRightsExprEncType") => "EmbeddedEncodedRightsExprType",
        ("iptcExt", "EmbdEncRightsExprLangId") => "EmbeddedEncodedRightsExprLangID",
        ("iptcExt", "EventId") => "EventID",
        ("iptcExt", "LinkedEncRightsExprLinkedRightsExpr") => "LinkedEncodedRightsExpr",
        ("iptcExt", "LinkedEncRightsExprEncType") => "LinkedEncodedRightsExprType",
        ("iptcExt", "LinkedEncRightsExprLangId") => "LinkedEncodedRightsExprLangID",
        ("iptcExt", "PersonInImageWDetailsPersonCharacteristicCvId") => "PersonInImageCvTermCvId",
        ("iptcExt", "PersonInImageWDetailsPersonCharacteristicCvTermId") => "PersonInImageCvTermId",
        ("iptcExt", "PersonInImageWDetailsPersonCharacteristicCvTermName") => {
            "PersonInImageCvTermName"
        }
        ("iptcExt", "PersonInImageWDetailsPersonCharacteristicCvTermRefinedAbout") => {
            "PersonInImageCvTermRefinedAbout"
        }
        ("x", "Xmptk") => "XMPToolkit",
        ("rdf", "About") => "About",
        _ => return None,
    })
}

/// Binary payloads (base64 in the XMP) that exiftool does not print.
pub(crate) fn binary_name(prefix: &str, id: &str) -> Option<&'static str> {
    Some(match (prefix, id) {
        ("GDepth", "Data") => "DepthImage",
        ("GDepth", "Confidence") => "ConfidenceMap",
        ("GImage", "Data") => "ImageData",
        ("GAudio", "Data") => "AudioData",
        ("xmpGImg", "Image") | ("xmp", "ThumbnailsImage") => "ThumbnailImage",
        _ => return None,
    })
}

/// Joins a property path the way exiftool flattens structures: each field capitalised and
/// appended, except that a field repeating the end of its parent's name is not repeated
/// ("Licensor" + "LicensorCity" is "LicensorCity", "ImageRegion" + "RegionBoundary" is
/// "ImageRegionBoundary").
pub(crate) fn join(parent: &str, field: &str) -> String {
    let field = tag_part(field);
    if parent.is_empty() {
        return field;
    }
    // Longest suffix of `parent` starting at a capital that is a prefix of `field`.
    for (i, c) in parent.char_indices() {
        if c.is_ascii_uppercase()
            && let Some(suffix) = parent.get(i..)
            && field.starts_with(suffix)
            && field.len() > suffix.len()
        {
            return format!("{}{}", parent.get(..i).unwrap_or_default(), field);
        }
    }
    format!("{parent}{field}")
}

/// A property name as exiftool makes a tag name of it: first letter capitalised, and names
/// without lower-case letters ("API", "GPS_DATA") lower-cased first ("Api", "GpsData").
pub(crate) fn tag_part(s: &str) -> String {
    if s.chars().any(|c| c.is_ascii_lowercase()) {
        return ucfirst(s);
    }
    let mut out = String::new();
    let mut upper = true;
    for c in s.chars() {
        if c == '_' {
            upper = true;
            continue;
        }
        if upper {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        upper = false;
    }
    out
}

pub(crate) fn ucfirst(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Field names of the IPTC Extension's region structures carry short prefixes ("rbX",
/// "rCtype") that exiftool drops from the flattened names.
pub(crate) fn field_name<'a>(group: &str, local: &'a str) -> &'a str {
    if group == "iptcExt" {
        for p in ["rb", "r"] {
            if let Some(rest) = local.strip_prefix(p)
                && rest.starts_with(|c: char| c.is_ascii_uppercase())
                && local != "rId"
            {
                return rest;
            }
        }
    }
    local
}

/// Tags exiftool converts as dates ("2004-02-26T10:00:00+01:00" → "2004:02:26 10:00:00+01:00").
pub(crate) fn is_date(name: &str) -> bool {
    name.contains("Date") || name.ends_with("When") || name == "DateTime"
}

/// XMP-exif tags with APEX values that exiftool converts (as in EXIF).
pub(crate) fn apex(prefix: &str, name: &str) -> Option<bool> {
    match (prefix, name) {
        ("exif", "ShutterSpeedValue") => Some(true),
        ("exif", "ApertureValue" | "MaxApertureValue") => Some(false),
        _ => None,
    }
}

/// GPS coordinates ("DDD,MM.mmk" or "DDD,MM,SSk"), converted to signed degrees: XMP-exif's and
/// those in structures such as the IPTC Extension's LocationCreated.
pub(crate) fn is_gps_coord(name: &str) -> bool {
    name.ends_with("GPSLatitude") || name.ends_with("GPSLongitude")
}
