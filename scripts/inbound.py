"""Drops an .eml into the local bucket and invokes email-inbound as SES's receipt rule
would (scripts/inbound is the entry point; it loads the local environment first)."""

import argparse
import json
import os
import pathlib
import secrets
import sys
import urllib.error
import urllib.request

import boto3

FIXTURE_BRAND = b"br_01jq3v5x7b9d2f4h6k8m0n2p4r"
FIXTURE_TICKET = b"tkt_01jq3v5x7b9d2f4h6k8m0n2p4s"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("eml", type=pathlib.Path)
    p.add_argument("--seed", required=True)
    p.add_argument("--invoke-url", required=True)
    p.add_argument("--brand", help="the brand mailed (default: the demo brand)")
    p.add_argument("--ticket", help="replaces the fixtures' ticket id (a reply's thread)")
    p.add_argument("--to", help="the recipient (default: the brand's address)")
    for check in ("dmarc", "spam", "virus"):
        p.add_argument(f"--{check}", default="PASS", choices=["PASS", "FAIL", "GRAY"],
                       help=f"SES's {check} verdict (default PASS)")
    args = p.parse_args()

    brand = args.brand or json.loads(pathlib.Path(args.seed).read_text())["brandId"]
    domain = os.environ["INBOUND_DOMAIN"]
    to = args.to or f"{brand}@{domain}"
    raw = args.eml.read_bytes().replace(FIXTURE_BRAND, brand.encode())
    if args.ticket:
        raw = raw.replace(FIXTURE_TICKET, args.ticket.encode())

    ses_id = secrets.token_hex(16)
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    s3.put_object(Bucket=os.environ["BUCKET_NAME"], Key=f"inbound/{ses_id}", Body=raw)

    event = (ROOT / "events/mail/received.json").read_text()
    for name, value in (("SES_MESSAGE_ID", ses_id), ("RECIPIENT", to), ("DMARC", args.dmarc),
                        ("SPAM", args.spam), ("VIRUS", args.virus)):
        event = event.replace("{{" + name + "}}", value)
    request = urllib.request.Request(
        f"{args.invoke_url}/2015-03-31/functions/email-inbound/invocations",
        data=event.encode(), method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = response.read().decode(errors="replace")
            failed = response.headers.get("X-Amz-Function-Error")
    except urllib.error.HTTPError as e:
        print(f"email-inbound: HTTP {e.code}: {e.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    print(f"mailed {args.eml} to {to} (SES message id {ses_id})", file=sys.stderr)
    print(answer)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
