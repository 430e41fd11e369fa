#!/usr/bin/python3
"""A small HTTP server standing in for the web the fetch_url job downloads from.

Usage: media_server.py --file VIDEO --port-file PATH
Listens on 127.0.0.1 on a free port and writes the port to PATH once it accepts connections.

Routes:
  /clip.mp4              the video, video/mp4 (any path ending in .mp4 serves it)
  /octet                 the video, application/octet-stream
  /untyped               the video, no Content-Type
  /redirect/N            N redirects (302 to /redirect/N-1, /redirect/1 to /clip.mp4)
  /page, /post/...       an HTML page (a social platform's post page)
  /json                  application/json
  /empty                 video/mp4 with an empty body
  /big                   video/mp4 announcing 10 GB in Content-Length (sends 1 MiB, then stops)
  /endless               video/mp4, chunked, never ends (until the client hangs up)
  /status/NNN            answers with that status
  /count                 how many requests reached /clip.mp4 so far (text)
  POST /hook/...         a webhook receiver: 503 to the first POST of each path, then 200;
                         every POST is kept, and GET /hooks answers them as a JSON list of
                         {path, headers, body, status}
"""
import argparse
import http.server
import json
import os
import socketserver
import threading

counter = {"clip": 0}
hooks = []
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_bytes(self, status, body, content_type):
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if not path.startswith("/hook/"):
            return self.send_bytes(404, b"not found", "text/plain")
        with lock:
            first = not any(h["path"] == path for h in hooks)
            status = 503 if first else 200
            hooks.append({"path": path, "headers": dict(self.headers.items()),
                          "body": body.decode("utf-8", "replace"), "status": status})
        return self.send_bytes(status, b"", "text/plain")

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        video = self.server.video
        if path.endswith(".mp4"):
            with lock:
                counter["clip"] += 1
            return self.send_bytes(200, video, "video/mp4")
        if path == "/octet":
            return self.send_bytes(200, video, "application/octet-stream")
        if path == "/untyped":
            return self.send_bytes(200, video, None)
        if path.startswith("/redirect/"):
            n = int(path[len("/redirect/"):])
            target = "/clip.mp4" if n <= 1 else "/redirect/%d" % (n - 1)
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path == "/page" or path.startswith("/post/"):
            body = b"<!doctype html><html><body><video src='x.mp4'></video></body></html>"
            return self.send_bytes(200, body, "text/html; charset=utf-8")
        if path == "/json":
            return self.send_bytes(200, b"{}", "application/json")
        if path == "/empty":
            return self.send_bytes(200, b"", "video/mp4")
        if path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(10 * 1000 ** 3))
            self.end_headers()
            try:
                self.wfile.write(b"\0" * (1 << 20))
            except OSError:
                pass
            self.close_connection = True
            return
        if path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = video[:65536] or b"\0" * 65536
            try:
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                pass
            self.close_connection = True
            return
        if path.startswith("/status/"):
            code = int(path[len("/status/"):])
            return self.send_bytes(code, b"status %d" % code, "text/plain")
        if path == "/hooks":
            with lock:
                listed = json.dumps(hooks).encode()
            return self.send_bytes(200, listed, "application/json")
        if path == "/count":
            with lock:
                n = counter["clip"]
            return self.send_bytes(200, str(n).encode(), "text/plain")
        return self.send_bytes(404, b"not found", "text/plain")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", required=True)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    with open(args.file, "rb") as f:
        server.video = f.read()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
