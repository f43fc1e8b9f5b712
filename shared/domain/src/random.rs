//! The one source of randomness: the operating system's CSPRNG.

/// Fills `buf` from the OS CSPRNG.
///
/// Failing to read the OS random source means the host is broken; there is no safe
/// fallback for secrets, so this aborts loudly rather than issuing a weak credential.
pub fn fill(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the OS random number generator is unavailable"); // ok-unwrap: fails only without a kernel entropy source
}

/// Base62 alphabet used for secrets (URL- and header-safe, no separators).
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` characters drawn uniformly from base62 (rejection sampling, no modulo bias).
pub fn base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill(&mut buf);
        for &b in &buf {
            // 248 = 4 * 62: bytes at or above it would bias the distribution.
            if b < 248 {
                out.push(BASE62[(b % 62) as usize] as char);
                if out.len() == len {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_has_requested_length_and_alphabet() {
        let s = base62(100);
        assert_eq!(s.len(), 100);
        assert!(s.bytes().all(|b| BASE62.contains(&b)));
    }

    #[test]
    fn base62_values_differ() {
        assert_ne!(base62(32), base62(32));
    }
}
