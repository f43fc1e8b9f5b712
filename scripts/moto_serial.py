"""moto's server mode, answering one request at a time.

moto applies a DynamoDB transaction by snapshotting the table, writing, and on a failed
condition restoring the snapshot. Two transactions running at once in moto's threaded
server can therefore lose each other's committed writes (real DynamoDB is serializable).
A lock around the application serializes requests, so concurrent tests see DynamoDB's
semantics; connections are still accepted concurrently.

Usage: moto_serial.py HOST PORT
"""

import sys
import threading

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            # Read the whole answer inside the lock: moto may build it lazily.
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
