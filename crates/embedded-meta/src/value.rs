//! Numbers and JSON values the way exiftool prints them.

use serde_json::{Number, Value};

/// `sprintf("%.{sig}g", x)` read back as a number: exiftool rounds rationals to 10 significant
/// digits and Perl prints other floats with 15.
pub(crate) fn round_sig(x: f64, sig: usize) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    format!("{:.*e}", sig.saturating_sub(1), x)
        .parse()
        .unwrap_or(x)
}

/// A number as JSON: integral values as integers (72, not 72.0), like exiftool's output.
pub(crate) fn num(x: f64) -> Value {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 {
        return Value::from(x as i64);
    }
    Number::from_f64(x).map_or_else(|| Value::String(x.to_string()), Value::Number)
}

/// A number inside a space-joined list ("0.9642 1 0.82491").
pub(crate) fn num_text(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 {
        return format!("{}", x as i64);
    }
    format!("{x}")
}

/// exiftool's placeholder for binary values it does not print.
pub(crate) fn binary(len: u64) -> Value {
    Value::String(format!(
        "(Binary data {len} bytes, use -b option to extract)"
    ))
}

/// exiftool's JSON writer prints a string that looks like a number as a number and
/// "true"/"false" as booleans; doing the same here keeps values comparable and typed.
pub(crate) fn exiftool_json(value: Value) -> Value {
    match value {
        Value::String(s) => {
            if looks_numeric(&s) {
                if let Ok(n) = s.parse::<i64>() {
                    return Value::from(n);
                }
                if let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64) {
                    return Value::Number(n);
                }
            }
            if s.eq_ignore_ascii_case("true") {
                return Value::Bool(true);
            }
            if s.eq_ignore_ascii_case("false") {
                return Value::Bool(false);
            }
            Value::String(s)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(exiftool_json).collect()),
        other => other,
    }
}

/// `^-?(\d|[1-9]\d{1,14})(\.\d{1,16})?(e[-+]?\d{1,3})?$`, exiftool's test for unquoted output.
fn looks_numeric(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |from: usize| {
        b.iter()
            .skip(from)
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let int = digits(i);
    if int == 0 || int > 15 || (int > 1 && b.get(i) == Some(&b'0')) {
        return false;
    }
    i += int;
    if b.get(i) == Some(&b'.') {
        let frac = digits(i + 1);
        if frac == 0 || frac > 16 {
            return false;
        }
        i += 1 + frac;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = digits(i);
        if exp == 0 || exp > 3 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

/// Bytes a value holds, roughly, for the result's memory cap.
pub(crate) fn approx_size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() + 24,
        Value::Array(a) => a.iter().map(approx_size).sum::<usize>() + 24,
        Value::Object(o) => {
            o.iter()
                .map(|(k, v)| k.len() + approx_size(v))
                .sum::<usize>()
                + 48
        }
        _ => 16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_strings_follow_exiftool() {
        assert!(looks_numeric("644"));
        assert!(looks_numeric("-1.5e-3"));
        assert!(!looks_numeric("00"));
        assert!(!looks_numeric("0.00602426103674977"));
        assert!(!looks_numeric("15.2.1"));
        assert!(!looks_numeric(""));
        assert_eq!(exiftool_json(Value::from("00")), Value::from("00"));
        assert_eq!(exiftool_json(Value::from("500")), Value::from(500));
    }

    #[test]
    fn rounding() {
        assert_eq!(round_sig(4438.356164383562, 10), 4438.356164);
        assert_eq!(num(72.0), Value::from(72));
    }
}
