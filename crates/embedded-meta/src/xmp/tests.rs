use super::*;

const PACKET: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Test 1.0">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
    xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
    xmp:Rating="3" photoshop:City="Kingston" exif:FNumber="28/10"
    xmp:CreateDate="2014-09-18T14:29:04+03:00">
   <dc:subject><rdf:Bag><rdf:li>one</rdf:li><rdf:li>two &amp; three</rdf:li></rdf:Bag></dc:subject>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Title</rdf:li><rdf:li xml:lang="de">Titel</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>Me</rdf:li></rdf:Seq></dc:creator>
   <exif:GPSLatitude>45,30.04N</exif:GPSLatitude>
   <xmpMM:History><rdf:Seq>
     <rdf:li stEvt:action="saved" stEvt:when="2014-09-22T10:56:35+02:00"/>
     <rdf:li rdf:parseType="Resource"><stEvt:action>converted</stEvt:action></rdf:li>
   </rdf:Seq></xmpMM:History>
   <Iptc4xmpCore:CreatorContactInfo Iptc4xmpCore:CiAdrCity="Paris"/>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#;

#[test]
fn reads_a_packet() {
    let mut out = EmbeddedMetadata::default();
    parse(PACKET.as_bytes(), false, &mut out);
    let get = |g: &str, n: &str| out.get(g, n).cloned();
    assert_eq!(get("XMP-x", "XMPToolkit"), Some(Value::from("Test 1.0")));
    assert_eq!(get("XMP-xmp", "Rating"), Some(Value::from(3)));
    assert_eq!(get("XMP-photoshop", "City"), Some(Value::from("Kingston")));
    assert_eq!(get("XMP-exif", "FNumber"), Some(Value::from(2.8)));
    assert_eq!(
        get("XMP-xmp", "CreateDate"),
        Some(Value::from("2014:09:18 14:29:04+03:00"))
    );
    assert_eq!(
        get("XMP-dc", "Subject"),
        Some(serde_json::json!(["one", "two & three"]))
    );
    assert_eq!(get("XMP-dc", "Title"), Some(Value::from("Title")));
    assert_eq!(get("XMP-dc", "Title-de"), Some(Value::from("Titel")));
    assert_eq!(get("XMP-dc", "Creator"), Some(Value::from("Me")));
    assert_eq!(
        get("XMP-xmpMM", "HistoryAction"),
        Some(serde_json::json!(["saved", "converted"]))
    );
    assert_eq!(
        get("XMP-iptcCore", "CreatorCity"),
        Some(Value::from("Paris"))
    );
    let lat = get("XMP-exif", "GPSLatitude").and_then(|v| v.as_f64());
    assert!(lat.is_some_and(|l| (l - 45.500666666).abs() < 1e-6));
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn hostile_xml_is_bounded() {
    let mut out = EmbeddedMetadata::default();
    let deep = "<a>".repeat(10_000);
    parse(deep.as_bytes(), false, &mut out);
    let xxe = r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>"#;
    parse(xxe.as_bytes(), false, &mut out);
    parse(b"<<<>>>&#xFFFFFFFF;&#0;<a b='", false, &mut out);
    assert!(out.tags.is_empty());
}

#[test]
fn extended_guid_is_found() {
    let p = br#"xmpNote:HasExtendedXMP="E0CC0C923EA0770C77E3E4EF99F538B3""#;
    assert_eq!(
        extended_guid(p).as_deref(),
        Some(&b"E0CC0C923EA0770C77E3E4EF99F538B3"[..])
    );
}
