//! Searching custom metadata: a stored value is a set of scalars (one, or a MultiSelect's
//! selected options), and a test holds when some scalar passes it. Dates are stored as
//! `YYYY-MM-DDTHH:MM:SS.sssZ` text, whose byte order is time order, so date tests are text
//! tests and every evaluator compares them as bytes.

use std::cmp::Ordering;

use serde_json::Value;

use super::{Comparison, Words, words, words_match};

/// One value a search compares: what a JSON string, number or boolean is.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomScalar {
    Text(String),
    Number(f64),
    Bool(bool),
    /// A date from a query, as `YYYY-MM-DDTHH:MM:SS.sssZ`: equal to the same text, and
    /// ordered against stored texts of that shape only (so that `> "2020-01-01"` does not
    /// match a camera's name, which sorts after digits).
    Instant(String),
}

/// Whether `text` has the shape of a stored instant, `YYYY-MM-DDTHH:MM:SS.sssZ`.
pub fn is_instant(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// The SQL `GLOB` pattern (SQLite) of `is_instant`.
pub const INSTANT_GLOB: &str =
    "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z";
/// The POSIX regular expression (PostgreSQL) of `is_instant`.
pub const INSTANT_REGEX: &str =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$";

// Numbers here come from JSON or from parsed query text, never NaN.
impl Eq for CustomScalar {}

impl CustomScalar {
    fn from_json(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(CustomScalar::Text(s.clone())),
            Value::Number(n) => n.as_f64().map(CustomScalar::Number),
            Value::Bool(b) => Some(CustomScalar::Bool(*b)),
            _ => None,
        }
    }
}

/// The scalars of a stored value: the elements of an array, or the value itself.
pub fn scalars(value: &Value) -> Vec<CustomScalar> {
    match value {
        Value::Array(items) => items.iter().filter_map(CustomScalar::from_json).collect(),
        other => CustomScalar::from_json(other).into_iter().collect(),
    }
}

/// A test on one custom metadata field of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomTest {
    /// Some scalar equals one of these (numbers numerically, texts byte for byte).
    AnyOf(Vec<CustomScalar>),
    /// Some text scalar starts with this (case-sensitive).
    Prefix(String),
    /// `HAS`: some text scalar has these words (Text fields hold one text).
    Words(Words),
    /// Some scalar of the bound's kind compares so with it.
    Compare(Comparison, CustomScalar),
    /// The field has a value.
    Exists,
}

impl CustomTest {
    pub fn holds(&self, values: &[CustomScalar]) -> bool {
        values.iter().any(|v| self.holds_for(v))
    }

    pub fn holds_for(&self, value: &CustomScalar) -> bool {
        match value {
            CustomScalar::Text(t) => self.holds_for_text(t),
            CustomScalar::Number(n) => self.holds_for_number(*n),
            CustomScalar::Bool(b) => self.holds_for_bool(*b),
            // Stored values are never instants; only query values are.
            CustomScalar::Instant(t) => self.holds_for_text(t),
        }
    }

    pub fn holds_for_text(&self, text: &str) -> bool {
        match self {
            CustomTest::AnyOf(wanted) => wanted.iter().any(
                |w| matches!(w, CustomScalar::Text(t) | CustomScalar::Instant(t) if t == text),
            ),
            CustomTest::Prefix(prefix) => text.starts_with(prefix.as_str()),
            CustomTest::Words(search) => words_match(search, &words(text).collect::<Vec<_>>()),
            CustomTest::Compare(cmp, CustomScalar::Text(bound)) => {
                ordering_holds(*cmp, text.as_bytes().cmp(bound.as_bytes()))
            }
            CustomTest::Compare(cmp, CustomScalar::Instant(bound)) => {
                is_instant(text) && ordering_holds(*cmp, text.as_bytes().cmp(bound.as_bytes()))
            }
            CustomTest::Compare(..) => false,
            CustomTest::Exists => true,
        }
    }

    pub fn holds_for_number(&self, n: f64) -> bool {
        match self {
            CustomTest::AnyOf(wanted) => wanted
                .iter()
                .any(|w| matches!(w, CustomScalar::Number(m) if *m == n)),
            CustomTest::Prefix(_) | CustomTest::Words(_) => false,
            CustomTest::Compare(cmp, CustomScalar::Number(bound)) => n
                .partial_cmp(bound)
                .is_some_and(|o| ordering_holds(*cmp, o)),
            CustomTest::Compare(..) => false,
            CustomTest::Exists => true,
        }
    }

    pub fn holds_for_bool(&self, b: bool) -> bool {
        match self {
            CustomTest::AnyOf(wanted) => wanted.contains(&CustomScalar::Bool(b)),
            CustomTest::Prefix(_) | CustomTest::Words(_) | CustomTest::Compare(..) => false,
            CustomTest::Exists => true,
        }
    }
}

fn ordering_holds(cmp: Comparison, o: Ordering) -> bool {
    match cmp {
        Comparison::Eq => o == Ordering::Equal,
        Comparison::Lt => o == Ordering::Less,
        Comparison::Le => o != Ordering::Greater,
        Comparison::Gt => o == Ordering::Greater,
        Comparison::Ge => o != Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tests_hold_for_some_scalar_of_the_same_kind() {
        let multi = scalars(&json!(["a", 30, true]));
        assert!(CustomTest::AnyOf(vec![CustomScalar::Number(30.0)]).holds(&multi));
        assert!(!CustomTest::AnyOf(vec![CustomScalar::Text("30".into())]).holds(&multi));
        assert!(CustomTest::Compare(Comparison::Gt, CustomScalar::Number(29.5)).holds(&multi));
        assert!(!CustomTest::Exists.holds(&scalars(&json!([]))));
        let date = scalars(&json!("2024-05-01T00:00:00.000Z"));
        let before =
            |bound: &str| CustomTest::Compare(Comparison::Lt, CustomScalar::Instant(bound.into()));
        assert!(before("2024-05-01T00:00:00.001Z").holds(&date));
        assert!(!before("2024-05-01T00:00:00.000Z").holds(&date));
        // Text after the digits is no date, whatever its order.
        let after = CustomTest::Compare(
            Comparison::Gt,
            CustomScalar::Instant("2000-01-01T00:00:00.000Z".into()),
        );
        assert!(!after.holds(&scalars(&json!("Canon"))));
        assert!(is_instant("2024-05-01T00:00:00.000Z") && !is_instant("2024-05-01"));
        assert!(CustomTest::Prefix("2024-05".into()).holds(&date));
    }

    #[test]
    fn custom_words_carry_the_field_name() {
        let values = json!({"brand": "Red red-Dress", "n": 3, "tags_x": ["Über"]});
        let Value::Object(map) = values else {
            unreachable!()
        };
        assert_eq!(
            super::super::indexed_custom_words(&map),
            " brand:red brand:dress tags_x:über "
        );
        let has = CustomTest::Words(Words {
            whole: vec!["red".into()],
            prefix: "dre".into(),
        });
        assert!(has.holds(&scalars(&json!("RED dress"))));
        assert!(!has.holds(&scalars(&json!("dress"))));
    }
}
