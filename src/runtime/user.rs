//! A user's identity as the router sees it: the e-mail IAP vouches for, and the Kubernetes label
//! value derived from it (`<readable prefix>-<hash>`, always a valid label of at most 63
//! characters, unlike the reference deployment's sanitised e-mail).

use sha2::{Digest, Sha256};

/// Longest readable part of the label (the rest is `-` and 16 hex digits of the hash).
const PREFIX_MAX: usize = 46;

/// The e-mail from IAP's `x-goog-authenticated-user-email` value (`accounts.google.com:alice@x`)
/// or from a JWT's `email` claim, lower-cased. None when it does not look like an address.
pub fn email_from(value: &str) -> Option<String> {
    let email = value.trim().rsplit_once(':').map(|(_, e)| e).unwrap_or(value.trim()).to_ascii_lowercase();
    let (local, domain) = email.split_once('@')?;
    let printable = email.chars().all(|c| c.is_ascii_graphic());
    (!local.is_empty() && !domain.is_empty() && printable).then_some(email)
}

/// 16 hex digits of the e-mail's SHA-256: the end of its label, and what a kept disk says of
/// its user (Compute Engine labels are visible project-wide: no address there).
pub fn hash(email: &str) -> String {
    Sha256::digest(email.as_bytes())[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of the `sdctl.dev/user` label for this e-mail.
pub fn label(email: &str) -> String {
    let hash = hash(email);
    let mapped: String = email
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '.',
        })
        .take(PREFIX_MAX)
        .collect();
    let prefix = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if prefix.is_empty() { format!("user-{hash}") } else { format!("{prefix}-{hash}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_label_value(s: &str) -> bool {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
    }

    #[test]
    fn iap_header_values_become_addresses() {
        assert_eq!(email_from("accounts.google.com:Alice@Example.com").as_deref(), Some("alice@example.com"));
        assert_eq!(email_from("bob@example.com").as_deref(), Some("bob@example.com"));
        assert_eq!(email_from("accounts.google.com:"), None);
        assert_eq!(email_from("no-at-sign"), None);
        assert_eq!(email_from("a b@example.com"), None);
    }

    #[test]
    fn labels_are_valid_readable_and_distinct() {
        let long = format!("{}@{}.example.com", "x".repeat(64), "very-long-department-name");
        for email in ["alice@example.com", long.as_str(), "_@example.com", "a+tag@example.com", "ÜBER@x.de"] {
            let l = label(email);
            assert!(is_label_value(&l), "{email} -> {l}");
        }
        assert!(label("alice@example.com").starts_with("alice.example.com-"));
        assert_ne!(label("a+b@example.com"), label("a.b@example.com"), "the hash tells look-alikes apart");
        assert_eq!(label("alice@example.com"), label("alice@example.com"));
    }
}
