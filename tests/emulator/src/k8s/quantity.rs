//! Resource quantities as the API server stores them: in canonical form, whatever was sent
//! (kubernetes/apimachinery pkg/api/resource/quantity.go, `CanonicalizeBytes`). The format of the
//! input is kept (binary SI, decimal SI, decimal exponent) and the value is written with the
//! largest suffix that keeps the number whole: `1024Gi` -> `1Ti`, `1.5Gi` -> `1536Mi`,
//! `0.5` -> `500m`, `1000M` -> `1G`, `2e4` -> `20e3`; a binary value below 1024, or one that is
//! not whole, is written in decimal SI. Values finer than a nano are rounded up to one.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    BinarySi,
    DecimalSi,
    DecimalExponent,
}

/// The canonical form of a quantity; `None` when `text` is not one.
pub fn canonical(text: &str) -> Option<String> {
    let (negative, mut m, mut e10, e2, format) = parse(text)?;
    if m == 0 {
        return Some("0".into());
    }
    let sign = if negative { "-" } else { "" };
    // Binary SI stays binary for whole values of at least 1024.
    if format == Format::BinarySi {
        let whole = to_integer(m, e10, e2);
        if let Some(v) = whole.filter(|v| *v >= 1024) {
            let (mut v, mut exp) = (v, 0);
            while v % 1024 == 0 && exp < 60 {
                v /= 1024;
                exp += 10;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp / 10];
            return Some(format!("{sign}{v}{suffix}"));
        }
        // Decimal SI from here on: the binary factor folded into the mantissa.
        let (dm, de) = binary_to_decimal(m, e10, e2)?;
        m = dm;
        e10 = de;
    }
    while m % 10 == 0 {
        m /= 10;
        e10 += 1;
    }
    if e10 < -9 {
        let divisor = 10i128.checked_pow((-9 - e10) as u32)?;
        m = (m + divisor - 1) / divisor;
        e10 = -9;
        while m % 10 == 0 {
            m /= 10;
            e10 += 1;
        }
    }
    let e3 = (e10.div_euclid(3) * 3).min(18);
    let mantissa = m.checked_mul(10i128.checked_pow((e10 - e3) as u32)?)?;
    let suffix = match format {
        Format::DecimalExponent if e3 == 0 => String::new(),
        Format::DecimalExponent => format!("e{e3}"),
        _ => ["n", "u", "m", "", "k", "M", "G", "T", "P", "E"][((e3 + 9) / 3) as usize].to_string(),
    };
    Some(format!("{sign}{mantissa}{suffix}"))
}

/// `(negative, mantissa, power of ten, power of two, format)`.
fn parse(text: &str) -> Option<(bool, i128, i32, u32, Format)> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let m: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    let mut e10 = -(fraction.len() as i32);
    let (e2, format) = match suffix {
        "Ki" => (10, Format::BinarySi),
        "Mi" => (20, Format::BinarySi),
        "Gi" => (30, Format::BinarySi),
        "Ti" => (40, Format::BinarySi),
        "Pi" => (50, Format::BinarySi),
        "Ei" => (60, Format::BinarySi),
        "n" | "u" | "m" | "" | "k" | "M" | "G" | "T" | "P" | "E" => {
            e10 += ["n", "u", "m", "", "k", "M", "G", "T", "P", "E"].iter().position(|s| *s == suffix)? as i32 * 3 - 9;
            (0, Format::DecimalSi)
        }
        exp => {
            let exp = exp.strip_prefix('e').or_else(|| exp.strip_prefix('E'))?;
            e10 += exp.parse::<i32>().ok()?;
            (0, Format::DecimalExponent)
        }
    };
    Some((negative, m, e10, e2, format))
}

/// `m x 10^e10 x 2^e2` when it is a whole number.
fn to_integer(m: i128, e10: i32, e2: u32) -> Option<i128> {
    let mut v = m.checked_mul(1i128.checked_shl(e2)?)?;
    if e10 >= 0 {
        return v.checked_mul(10i128.checked_pow(e10 as u32)?);
    }
    let divisor = 10i128.checked_pow((-e10) as u32)?;
    if v % divisor != 0 {
        return None;
    }
    v /= divisor;
    Some(v)
}

/// `m x 10^e10 x 2^e2` as `m' x 10^e'`.
fn binary_to_decimal(m: i128, e10: i32, e2: u32) -> Option<(i128, i32)> {
    Some((m.checked_mul(1i128.checked_shl(e2)?)?, e10))
}

/// Map keys whose values are resource lists (`corev1.ResourceList`) in the kinds that have them.
const RESOURCE_LISTS: [&str; 5] = ["limits", "requests", "capacity", "allocatable", "overhead"];
const QUOTA_LISTS: [&str; 2] = ["hard", "used"];
const LIMIT_RANGE_LISTS: [&str; 5] = ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"];

/// Rewrites every quantity of a built-in object of `kind` in canonical form, as the API server
/// stores it (resource requests and limits, capacities, quotas, emptyDir size limits).
pub fn canonicalize(kind: &str, obj: &mut Value) {
    let lists: Vec<&str> = match kind {
        "Pod"
        | "PodTemplate"
        | "Deployment"
        | "DaemonSet"
        | "StatefulSet"
        | "ReplicaSet"
        | "Job"
        | "CronJob"
        | "PersistentVolume"
        | "PersistentVolumeClaim"
        | "Node" => RESOURCE_LISTS.to_vec(),
        "ResourceQuota" => QUOTA_LISTS.to_vec(),
        "LimitRange" => LIMIT_RANGE_LISTS.to_vec(),
        _ => return,
    };
    walk(obj, &lists);
}

fn walk(obj: &mut Value, lists: &[&str]) {
    match obj {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if lists.contains(&key.as_str())
                    && let Value::Object(list) = value
                {
                    list.values_mut().for_each(canonical_in_place);
                } else if key == "sizeLimit" {
                    canonical_in_place(value);
                } else {
                    walk(value, lists);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| walk(i, lists)),
        _ => {}
    }
}

fn canonical_in_place(v: &mut Value) {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return,
    };
    if let Some(c) = canonical(&text) {
        *v = Value::String(c);
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    /// Cases from apimachinery's quantity_test.go (TestQuantityParse / canonical forms).
    #[test]
    fn canonical_forms_follow_apimachinery() {
        for (given, stored) in [
            ("1024Gi", "1Ti"),
            ("1000Mi", "1000Mi"),
            ("1.5Gi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("1536Mi", "1536Mi"),
            ("2048", "2048"),
            ("2Ki", "2Ki"),
            ("1Ki", "1Ki"),
            ("512Ki", "512Ki"),
            ("100", "100"),
            ("0.5", "500m"),
            ("1.5", "1500m"),
            ("100M", "100M"),
            ("1000M", "1G"),
            ("2e3", "2e3"),
            ("2e4", "20e3"),
            ("1e0", "1"),
            ("0", "0"),
            ("1n", "1n"),
            ("0.1n", "1n"),
            ("1000m", "1"),
            ("5Ti", "5Ti"),
            ("32Mi", "32Mi"),
            ("50Gi", "50Gi"),
            ("500m", "500m"),
            ("-1Gi", "-1Gi"),
            ("100Mi", "100Mi"),
        ] {
            assert_eq!(canonical(given).as_deref(), Some(stored), "{given}");
        }
        for not in ["", "Gi", "abc", "1.2.3", "1Zi", "1.60.0"] {
            assert_eq!(canonical(not), None, "{not}");
        }
    }
}
