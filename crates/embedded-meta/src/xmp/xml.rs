//! A small, tolerant XML reader for XMP packets: elements, attributes, text, namespaces.
//!
//! No DTDs and no entities beyond the five predefined ones and character references (so no
//! XXE and no entity expansion bombs). Input is already capped by the caller; the tree is capped
//! in depth and node count, and mismatched or unclosed tags are tolerated rather than rejected,
//! because XMP written by broken tools is common.

/// Deeper elements are skipped; real XMP nests a handful of levels.
const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 200_000;

#[derive(Debug, Default)]
pub(crate) struct Element {
    /// Namespace URI ("" when the prefix is unknown) and local name.
    pub(crate) ns: String,
    pub(crate) local: String,
    /// Prefix as written, used to name groups of unknown namespaces.
    pub(crate) prefix: String,
    pub(crate) attrs: Vec<Attr>,
    pub(crate) children: Vec<Node>,
}

#[derive(Debug)]
pub(crate) struct Attr {
    pub(crate) ns: String,
    pub(crate) local: String,
    pub(crate) prefix: String,
    pub(crate) value: String,
}

#[derive(Debug)]
pub(crate) enum Node {
    Elem(Element),
    Text(String),
}

impl Element {
    pub(crate) fn attr(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == ns && a.local == local)
            .map(|a| a.value.as_str())
    }

    pub(crate) fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            Node::Elem(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub(crate) fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.children {
            if let Node::Text(t) = c {
                s.push_str(t);
            }
        }
        s
    }
}

/// What parsing found: the root's children, and whether anything was cut.
pub(crate) struct Doc {
    pub(crate) root: Element,
    pub(crate) problems: Vec<&'static str>,
}

struct Open {
    elem: Element,
    raw_name: String,
    /// Namespace declarations made on this element.
    scope: Vec<(String, String)>,
}

pub(crate) fn parse(input: &[u8]) -> Doc {
    let mut stack: Vec<Open> = vec![Open {
        elem: Element::default(),
        raw_name: String::new(),
        scope: vec![("xml".into(), "http://www.w3.org/XML/1998/namespace".into())],
    }];
    let mut problems = Vec::new();
    let mut nodes = 0usize;
    let mut skip_depth = 0usize; // elements open beyond MAX_DEPTH
    let mut i = 0usize;
    let n = input.len();
    while i < n {
        let rest = input.get(i..).unwrap_or_default();
        if rest.first() != Some(&b'<') {
            let end = find(rest, b"<").unwrap_or(rest.len());
            let text = rest.get(..end).unwrap_or_default();
            if skip_depth == 0 && !text.iter().all(u8::is_ascii_whitespace) {
                if nodes >= MAX_NODES {
                    problems.push("too many XML nodes");
                    break;
                }
                nodes += 1;
                if let Some(top) = stack.last_mut() {
                    top.elem.children.push(Node::Text(decode(text)));
                }
            }
            i += end;
            continue;
        }
        if rest.starts_with(b"<!--") {
            i += find(rest, b"-->").map_or(rest.len(), |p| p + 3);
        } else if rest.starts_with(b"<![CDATA[") {
            let body = rest.get(9..).unwrap_or_default();
            let end = find(body, b"]]>").unwrap_or(body.len());
            if skip_depth == 0
                && let Some(top) = stack.last_mut()
            {
                let t = String::from_utf8_lossy(body.get(..end).unwrap_or_default());
                top.elem.children.push(Node::Text(t.into_owned()));
            }
            i += 9 + end + 3;
        } else if rest.starts_with(b"<!") {
            // DOCTYPE and friends are skipped, internal subset included; nothing is expanded.
            let bracket = find(rest, b"[");
            let close = find(rest, b">");
            i += match (bracket, close) {
                (Some(b), Some(c)) if b < c => find(rest, b"]>").map_or(rest.len(), |p| p + 2),
                (_, Some(c)) => c + 1,
                _ => rest.len(),
            };
        } else if rest.starts_with(b"<?") {
            i += find(rest, b"?>").map_or(rest.len(), |p| p + 2);
        } else if rest.starts_with(b"</") {
            let end = find(rest, b">").unwrap_or(rest.len());
            let name = String::from_utf8_lossy(rest.get(2..end).unwrap_or_default())
                .trim()
                .to_owned();
            i += end + 1;
            if skip_depth > 0 {
                skip_depth -= 1;
                continue;
            }
            // Close up to the matching open element; an unmatched end tag is ignored.
            if let Some(pos) = stack.iter().rposition(|o| o.raw_name == name)
                && pos > 0
            {
                while stack.len() > pos {
                    close_top(&mut stack);
                }
            }
        } else {
            let (tag, used) = start_tag(rest);
            i += used.max(1);
            let Some(tag) = tag else {
                continue;
            };
            if skip_depth > 0 || stack.len() > MAX_DEPTH {
                if !tag.empty {
                    skip_depth += 1;
                }
                if !problems.contains(&"XML nested too deep") {
                    problems.push("XML nested too deep");
                }
                continue;
            }
            if nodes >= MAX_NODES {
                problems.push("too many XML nodes");
                break;
            }
            nodes += 1;
            let scope: Vec<(String, String)> = tag
                .attrs
                .iter()
                .filter_map(|(k, v)| {
                    if k == "xmlns" {
                        Some((String::new(), v.clone()))
                    } else {
                        k.strip_prefix("xmlns:").map(|p| (p.to_owned(), v.clone()))
                    }
                })
                .collect();
            let open = Open {
                elem: Element::default(),
                raw_name: tag.name.clone(),
                scope,
            };
            stack.push(open);
            let (prefix, local) = split(&tag.name);
            let ns = resolve(&stack, prefix, true);
            let mut attrs = Vec::new();
            for (k, v) in &tag.attrs {
                if k == "xmlns" || k.starts_with("xmlns:") {
                    continue;
                }
                let (p, l) = split(k);
                attrs.push(Attr {
                    ns: resolve(&stack, p, false),
                    local: l.to_owned(),
                    prefix: p.to_owned(),
                    value: v.clone(),
                });
            }
            if let Some(top) = stack.last_mut() {
                top.elem.ns = ns;
                top.elem.local = local.to_owned();
                top.elem.prefix = prefix.to_owned();
                top.elem.attrs = attrs;
            }
            if tag.empty {
                close_top(&mut stack);
            }
        }
    }
    if stack.len() > 1 {
        problems.push("XML ends inside an element");
    }
    while stack.len() > 1 {
        close_top(&mut stack);
    }
    let root = stack.pop().map(|o| o.elem).unwrap_or_default();
    Doc { root, problems }
}

fn close_top(stack: &mut Vec<Open>) {
    if stack.len() < 2 {
        return;
    }
    if let Some(done) = stack.pop()
        && let Some(parent) = stack.last_mut()
    {
        parent.elem.children.push(Node::Elem(done.elem));
    }
}

fn split(name: &str) -> (&str, &str) {
    name.split_once(':').unwrap_or(("", name))
}

/// The URI bound to `prefix`, innermost declaration first. Unprefixed attributes have no
/// namespace; unprefixed elements take the default one.
fn resolve(stack: &[Open], prefix: &str, element: bool) -> String {
    if prefix.is_empty() && !element {
        return String::new();
    }
    for open in stack.iter().rev() {
        if let Some((_, uri)) = open.scope.iter().find(|(p, _)| p == prefix) {
            return uri.clone();
        }
    }
    String::new()
}

struct StartTag {
    name: String,
    attrs: Vec<(String, String)>,
    empty: bool,
}

/// Parses `<name attr="v" ...>` at the start of `b`; returns the tag (None if malformed) and
/// the bytes consumed.
fn start_tag(b: &[u8]) -> (Option<StartTag>, usize) {
    let mut i = 1;
    let name_end = |from: usize| {
        b.iter()
            .skip(from)
            .position(|&c| c.is_ascii_whitespace() || c == b'>' || c == b'/' || c == b'=')
            .map_or(b.len(), |p| p + from)
    };
    let end = name_end(i);
    let name = String::from_utf8_lossy(b.get(i..end).unwrap_or_default()).into_owned();
    i = end;
    let mut attrs = Vec::new();
    loop {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        match b.get(i) {
            None => return (None, b.len()),
            Some(b'>') => {
                return (valid(name, attrs, false), i + 1);
            }
            Some(b'/') => {
                if b.get(i + 1) == Some(&b'>') {
                    return (valid(name, attrs, true), i + 2);
                }
                i += 1;
            }
            Some(_) => {
                let end = name_end(i);
                let key = String::from_utf8_lossy(b.get(i..end).unwrap_or_default()).into_owned();
                i = end.max(i + 1);
                while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                if b.get(i) != Some(&b'=') {
                    continue; // attribute without a value: ignored
                }
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                let Some(&quote) = b.get(i).filter(|&&q| q == b'"' || q == b'\'') else {
                    continue;
                };
                let body = b.get(i + 1..).unwrap_or_default();
                let close = body.iter().position(|&c| c == quote).unwrap_or(body.len());
                attrs.push((key, decode(body.get(..close).unwrap_or_default())));
                i += 1 + close + 1;
            }
        }
    }
}

fn valid(name: String, attrs: Vec<(String, String)>, empty: bool) -> Option<StartTag> {
    (!name.is_empty()).then_some(StartTag { name, attrs, empty })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Text with the predefined entities and character references replaced.
pub(crate) fn decode(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    if !s.contains('&') {
        return s.into_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = &*s;
    while let Some(p) = rest.find('&') {
        out.push_str(rest.get(..p).unwrap_or_default());
        let tail = rest.get(p..).unwrap_or_default();
        let semi = tail.find(';').filter(|&e| e <= 12);
        let ent = semi.and_then(|e| tail.get(1..e));
        let ch = match ent {
            Some("lt") => Some('<'),
            Some("gt") => Some('>'),
            Some("amp") => Some('&'),
            Some("quot") => Some('"'),
            Some("apos") => Some('\''),
            Some(e) if e.starts_with("#x") || e.starts_with("#X") => e
                .get(2..)
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .and_then(char::from_u32),
            Some(e) if e.starts_with('#') => e
                .get(1..)
                .and_then(|d| d.parse::<u32>().ok())
                .and_then(char::from_u32),
            _ => None,
        };
        match (ch, semi) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = tail.get(e + 1..).unwrap_or_default();
            }
            _ => {
                out.push('&');
                rest = tail.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}
