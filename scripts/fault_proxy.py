"""A fault-injecting HTTP proxy in front of the local AWS emulator.

    python scripts/fault_proxy.py LISTEN_PORT UPSTREAM_URL

Every request is forwarded to UPSTREAM_URL (moto) unchanged, unless a rule matches it.
The suite's fault tests point their SDK clients here and set rules; everything else talks
to moto directly. So the faults are real network behaviour seen by the real SDK: an
error answer DynamoDB or S3 would give, a connection that never answers, an answer lost
after the write was applied, a connection closed without an answer.

Rules are scoped: a rule matches a request only when every string of its `match` list
occurs in the request's method, path, `X-Amz-Target` header or body. Tests put their own
table name (DynamoDB) or organization id (S3 object keys) in `match`, so parallel tests
never see each other's faults.

Control (JSON, on this same port):
    POST /__faults        {"match": [...], "fault": F, "times": N?}   add a rule (N: how
                          many requests it hits; absent: every one)
    POST /__faults/clear  {"scope": S}   remove the rules whose match list contains S
    GET  /__faults/log?scope=S[&scope=T…]  what was seen containing every S:
                          [{"target", "path", "fault", "status", "summary"}]

Faults:
    throttle    DynamoDB: 400 ThrottlingException; S3: 503 SlowDown (nothing applied)
    error500    500 InternalFailure / InternalError (nothing applied)
    hang        wait 30 s, then close without an answer (nothing applied)
    hang_after  forward (the write is applied), then wait 30 s and close: the answer is lost
    reset       close the connection at once without an answer (nothing applied)
    slow        wait `delay` seconds (default 1.5), then forward: a slow but working service
"""

import http.client
import json
import socketserver
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG_SECONDS = 30
RULES = []
LOG = []
LOCK = threading.Lock()
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


def take_rule(haystack):
    """The first matching rule, counting the hit; None when none matches."""
    with LOCK:
        for rule in RULES:
            if rule.get("times") == 0:
                continue
            if all(m in haystack for m in rule["match"]):
                if rule.get("times") is not None:
                    rule["times"] -= 1
                return rule
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _json(self, status, value):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _control(self, body):
        url = urllib.parse.urlparse(self.path)
        if self.command == "POST" and url.path == "/__faults":
            rule = json.loads(body)
            if not rule.get("match") or rule.get("fault") not in FAULTS:
                return self._json(400, {"error": "a rule needs match and a known fault"})
            with LOCK:
                RULES.append(rule)
            return self._json(201, rule)
        if self.command == "POST" and url.path == "/__faults/clear":
            scope = json.loads(body)["scope"]
            with LOCK:
                RULES[:] = [r for r in RULES if scope not in r["match"]]
            return self._json(200, {"rules": len(RULES)})
        if self.command == "GET" and url.path == "/__faults/log":
            scopes = urllib.parse.parse_qs(url.query).get("scope", [""])
            with LOCK:
                seen = [e for e in LOG if all(s in e["haystack"] for s in scopes)]
            fields = ("target", "path", "fault", "status", "summary")
            return self._json(200, [{k: e.get(k) for k in fields} for e in seen])
        return self._json(404, {"error": "unknown control path"})

    def _handle(self):
        body = self._body()
        if self.path.startswith("/__faults"):
            return self._control(body)
        target = self.headers.get("x-amz-target", "")
        haystack = " ".join([self.command, self.path, target]) + " " + body.decode("utf-8", "replace")
        rule = take_rule(haystack)
        fault = rule["fault"] if rule else None
        with LOCK:
            LOG.append({
                "haystack": haystack, "target": target, "path": self.path, "fault": fault,
                "summary": body[:200].decode("utf-8", "replace"),
            })
        if fault is None:
            return self._forward(body, entry=LOG[-1])
        if fault == "slow":
            time.sleep(float(rule.get("delay", 1.5)))
            return self._forward(body, entry=LOG[-1])
        FAULTS[fault](self, body, bool(target))

    def _forward(self, body, lose_answer=False, entry=None):
        up = urllib.parse.urlparse(self.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        conn.request(self.command, self.path, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        conn.close()
        if entry is not None:
            with LOCK:
                entry["status"] = answer.status
        if lose_answer:
            time.sleep(HANG_SECONDS)
            self.close_connection = True
            return
        self.send_response(answer.status)
        for k, v in answer.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, dynamodb_type, s3_code, dynamodb):
        if dynamodb:
            data = json.dumps({"__type": dynamodb_type, "message": "injected fault"}).encode()
            kind = "application/x-amz-json-1.0"
        else:
            data = (
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                f"<Error><Code>{s3_code}</Code><Message>injected fault</Message></Error>"
            ).encode()
            kind = "application/xml"
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("x-amzn-errortype", dynamodb_type.split("#")[-1])
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _close(self):
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


def throttle(h, body, dynamodb):
    if dynamodb:
        h._error(400, "com.amazonaws.dynamodb.v20120810#ThrottlingException", "SlowDown", True)
    else:
        h._error(503, "SlowDown", "SlowDown", False)


def error500(h, body, dynamodb):
    h._error(500, "com.amazon.coral.service#InternalFailure", "InternalError", dynamodb)


def hang(h, body, dynamodb):
    time.sleep(HANG_SECONDS)
    h._close()


def hang_after(h, body, dynamodb):
    h._forward(body, lose_answer=True)
    h._close()


def reset(h, body, dynamodb):
    h._close()


FAULTS = {
    "throttle": throttle,
    "error500": error500,
    "hang": hang,
    "hang_after": hang_after,
    "reset": reset,
    "slow": None,
}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    port, upstream = int(sys.argv[1]), sys.argv[2]
    Handler.upstream = upstream
    socketserver.TCPServer.allow_reuse_address = True
    Server(("127.0.0.1", port), Handler).serve_forever()
