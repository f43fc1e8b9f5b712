//! Email addresses, normalized once at the edge.

use std::fmt;

/// A syntactically plausible, normalized (trimmed, lower-cased) email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses and normalizes. Deliberately permissive about what mail servers accept,
    /// strict about what could break a header, a key or a log line.
    pub fn parse(raw: &str) -> Option<Email> {
        let s = raw.trim().to_ascii_lowercase();
        if s.is_empty() || s.len() > 254 {
            return None;
        }
        let (local, domain) = s.split_once('@')?;
        let ok_chars = |part: &str| {
            part.bytes().all(|b| {
                b.is_ascii_graphic()
                    && !matches!(b, b'@' | b'"' | b'<' | b'>' | b',' | b'\\' | b'#')
            })
        };
        let valid = !local.is_empty()
            && local.len() <= 64
            && ok_chars(local)
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && ok_chars(domain);
        valid.then_some(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_whitespace() {
        assert_eq!(
            Email::parse("  Jane@Example.COM ").unwrap().as_str(),
            "jane@example.com"
        );
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "jane",
            "@example.com",
            "jane@",
            "jane@localhost",
            "a b@example.com",
            "jane@@x.com",
            "j#ne@x.com",
            "jane@x..com",
        ] {
            assert!(Email::parse(bad).is_none(), "{bad} should be refused");
        }
    }
}
