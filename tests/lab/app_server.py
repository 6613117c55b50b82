"""A tiny HTTP/1.1 "productpage" for the app namespace: the workload behind the HBONE tunnel.

Run inside the app namespace: `python -m tests.lab.app_server 10.244.2.10:9080`. Prints "listening <addr>"
once bound, so the lab knows when traffic may start.
"""

from __future__ import annotations

import contextlib
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Simple Bookstore App</title></head>\n"
    b"<body><h3>The Comedy of Errors</h3>\n"
    b"<p>Summary: Wikipedia Summary: The Comedy of Errors is one of William Shakespeare's early plays.</p>\n"
    b"</body></html>\n"
)


class ProductPage(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "productpage/1"
    sys_version = ""

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/productpage":
            status, body, kind = 200, PAGE, "text/html; charset=utf-8"
        else:
            status, body, kind = 404, b"not found\n", "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.client_address[0]}:{self.client_address[1]} {format % args}\n")


def main(argv: list[str]) -> int:
    host, _, port = argv[0].rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), ProductPage)
    server.daemon_threads = True
    print(f"listening {host}:{port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
