//! Inbound mail: whatever bytes arrive at the brand's address (SES stores any message it
//! accepts), the reading of them answers a message or an error, never a panic, and a
//! trimmed reply is always part of what was written.

use dispatch_inbound::{parse, threaded_ticket, trim_reply};
use dispatch_props::{config, string_of, text, tricky_char};
use proptest::prelude::*;
use proptest::sample::select;

/// Header lines a message may carry, well-formed or not.
fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("From: Jane <jane@example.com>".to_string()),
        Just("From: =?utf-8?b?SsOpcsO0bWU=?= <j@example.com>".to_string()),
        Just("From: <>".to_string()),
        Just("To: a@x.test, \"B, C\" <b@x.test>".to_string()),
        Just("Subject: =?iso-8859-1?q?caf=E9?=".to_string()),
        Just("Subject: =?ISO-2022-JP?B?GyRCJDMbKEI=?=".to_string()),
        Just("Content-Type: multipart/mixed; boundary=\"b\"".to_string()),
        Just("Content-Type: text/html; charset=shift_jis".to_string()),
        Just("Content-Transfer-Encoding: base64".to_string()),
        Just("Content-Transfer-Encoding: quoted-printable".to_string()),
        Just("In-Reply-To: <tkt_01jq3v5x7b9d2f4h6k8m0n2p4s.x@dispatch.test>".to_string()),
        Just("Auto-Submitted: auto-replied".to_string()),
        (
            string_of(select("abcXYZ-:".chars().collect::<Vec<_>>()), 0..12),
            text()
        )
            .prop_map(|(name, value)| format!("{name}: {value}")),
    ]
}

/// Body lines: MIME boundaries, encoded text, quotes, signatures and noise.
fn body_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("--b".to_string()),
        Just("--b--".to_string()),
        Just("Content-Type: text/plain; charset=utf-8".to_string()),
        Just("Content-Disposition: attachment; filename=\"a.pdf\"".to_string()),
        Just("SGVsbG8gd29ybGQ=".to_string()),
        Just("caf=E9 =\r".to_string()),
        Just("> quoted".to_string()),
        Just("-- ".to_string()),
        Just("On Mon, Jan 1 Someone wrote:".to_string()),
        Just("<p>html <script>x</script></p>".to_string()),
        string_of(tricky_char(), 0..8),
        text(),
    ]
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(header(), 0..8),
        prop::collection::vec(body_line(), 0..12),
        any::<bool>(),
    )
        .prop_map(|(headers, lines, crlf)| {
            let end = if crlf { "\r\n" } else { "\n" };
            format!("{}{end}{end}{}", headers.join(end), lines.join(end)).into_bytes()
        })
}

proptest! {
    #![proptest_config(config())]

    /// Any bytes: a message or an error, never a panic.
    #[test]
    fn any_bytes_are_read_or_refused(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&raw);
    }

    /// Messages of real and broken parts: read or refused; what is read is well formed.
    #[test]
    fn a_message_reads_into_a_sender_and_a_text_of_newline_lines(raw in message()) {
        if let Ok(m) = parse(&raw) {
            prop_assert!(m.from.as_str().contains('@'));
            prop_assert!(!m.text.contains('\r'), "{:?}", m.text);
            let _ = threaded_ticket(&m.references, "dispatch.test");
        }
    }

    /// A trimmed reply is what its writer wrote: a part of the text, never more.
    #[test]
    fn a_trimmed_reply_is_part_of_the_text(
        lines in prop::collection::vec(body_line(), 0..12),
    ) {
        // As `parse` gives texts: `\n` line ends.
        let text = lines.join("\n").replace('\r', "");
        let trimmed = trim_reply(&text);
        prop_assert!(text.contains(trimmed.as_str()), "{trimmed:?} of {text:?}");
    }
}
