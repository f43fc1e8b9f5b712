//! CRC-32 (IEEE) so a mistyped or truncated key is refused without a database read.
//! It is a typo detector, not a security boundary: the secret's 256 random bits are.

/// CRC-32/ISO-HDLC of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// Six base62 characters encoding a CRC-32 (62^6 > 2^32, so no information is lost).
pub fn base62_checksum(data: &[u8]) -> String {
    let alphabet = dispatch_domain::random::BASE62;
    let mut n = crc32(data) as u64;
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = alphabet[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| b as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn checksum_is_six_chars_and_changes_with_input() {
        let a = base62_checksum(b"sk_live_abc");
        assert_eq!(a.len(), 6);
        assert_ne!(a, base62_checksum(b"sk_live_abd"));
    }
}
