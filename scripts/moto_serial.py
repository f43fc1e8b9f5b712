"""moto's server mode, answering one request at a time.

moto applies a DynamoDB transaction by snapshotting the table, writing, and on a failed
condition restoring the snapshot. Two transactions running at once in moto's threaded
server can therefore lose each other's committed writes (real DynamoDB is serializable).
A lock around the application serializes requests, so concurrent tests see DynamoDB's
semantics; connections are still accepted concurrently.

With DISPATCH_IAM_LOG set, every request a function binary makes is also recorded there
(one JSON line: the function, named by the `app/<name>` the SDK puts in its user agent
from AWS_SDK_UA_APP_ID; the service; the operation; what decides its IAM resource), for
scripts/iam_check.py to hold against the function's policy in template.yaml.

Usage: moto_serial.py HOST PORT
"""

import io
import json
import os
import re
import sys
import threading
from urllib.parse import parse_qs

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

APP_ID = re.compile(r"(?:^|\s)app/([A-Za-z0-9!#$%&'*+.^_`|~-]+)")
SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def s3_operation(environ, query):
    """The S3 REST operation of a path-style request (the SDK uses path style against the
    emulator). Anything beyond the plain object and listing calls is named for what it is,
    so the IAM check, which does not model it, fails instead of passing it as another."""
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    has_key = len([p for p in path.split("/") if p]) > 1
    for sub in ("versionId", "tagging", "acl", "uploads", "uploadId", "retention", "legal-hold"):
        if sub in query:
            return f"{method} ?{sub}"
    if environ.get("HTTP_X_AMZ_COPY_SOURCE"):
        return "CopyObject"
    if environ.get("HTTP_X_AMZ_TAGGING"):
        return f"{method} with tags"
    if method == "GET" and not has_key:
        return "ListObjectsV2" if "list-type" in query else "ListObjects"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if not has_key:
        return f"{method} bucket"
    return {"HEAD": "HeadObject", "GET": "GetObject", "PUT": "PutObject",
            "DELETE": "DeleteObject"}.get(method, method)


def record_of(environ, body):
    """The IAM-relevant facts of one request, or None when no function made it."""
    agent = environ.get("HTTP_X_AMZ_USER_AGENT", "") + " " + environ.get("HTTP_USER_AGENT", "")
    app = APP_ID.search(agent)
    if not app:
        return None
    scope = SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = scope.group(1) if scope else "unknown"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    doc = {}
    if target:
        operation = target.split(".")[-1]
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            doc = {}
    elif service == "s3":
        operation = s3_operation(environ, parse_qs(environ.get("QUERY_STRING", ""),
                                                   keep_blank_values=True))
    elif service == "ses" and environ.get("PATH_INFO", "").endswith("/outbound-emails"):
        operation = "SendEmail"
    else:
        operation = environ["REQUEST_METHOD"] + " " + environ.get("PATH_INFO", "")
    items = doc.get("TransactItems")
    secrets = doc.get("SecretIdList") or ([doc["SecretId"]] if "SecretId" in doc else None)
    return {
        "function": app.group(1),
        "service": service,
        "operation": operation,
        "index": doc.get("IndexName"),
        "items": [next(iter(i)) for i in items] if isinstance(items, list) else None,
        "secrets": secrets,
        "queue": doc.get("QueueUrl"),
    }


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()
    log_path = os.environ.get("DISPATCH_IAM_LOG") or None

    def serialized(environ, start_response):
        if log_path and environ.get("HTTP_X_AMZ_TARGET"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
        else:
            body = b""
        with lock:
            if log_path:
                record = record_of(environ, body)
                if record:
                    with open(log_path, "a") as log:
                        log.write(json.dumps(record) + "\n")
            # Read the whole answer inside the lock: moto may build it lazily.
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
