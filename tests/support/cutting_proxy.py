#!/usr/bin/python3
"""A TCP proxy that cuts a connection in the middle of an upload, the way a phone loses its
network: for the tests of `convoywatch submit` resuming.

Usage: cutting_proxy.py --target PORT --port-file PATH [--cut-after BYTES] [--cuts N]
                        [--down-file PATH] [--down-after-cut] [--rate BYTES_PER_S]
Listens on 127.0.0.1 on a free port, writes the port to PATH once it accepts connections, and
forwards every connection to 127.0.0.1:PORT.

On a connection that has sent a PATCH request line, the bytes the client sends are counted;
when more than BYTES have gone through, the rest of that read is dropped and the connection is
closed both ways (at most N times in all, default 1). While the --down-file exists, every new
connection is closed at once, as if the network were down; with --down-after-cut the proxy
creates that file itself at the cut (the test removes it to bring the network back).
With --rate, what clients send is forwarded at most that fast (a slow uplink).

Prints one JSON line per event on stdout: {"event": "cut", "forwarded": N} and
{"event": "refused"}.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

lock = threading.Lock()
state = {"cuts": 0}


def log(event):
    with lock:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


def close(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass


def pump_back(server, client):
    try:
        while True:
            data = server.recv(65536)
            if not data:
                break
            client.sendall(data)
    except OSError:
        pass
    close(server, client)


def handle(client, args):
    if args.down_file and os.path.exists(args.down_file):
        log({"event": "refused"})
        close(client)
        return
    try:
        server = socket.create_connection(("127.0.0.1", args.target))
    except OSError:
        close(client)
        return
    threading.Thread(target=pump_back, args=(server, client), daemon=True).start()
    counting = False
    forwarded = 0
    started = time.monotonic()
    total = 0
    try:
        while True:
            data = client.recv(16384 if args.rate else 65536)
            if not data:
                break
            if not counting and b"PATCH " in data:
                counting = True
                data_from = data.index(b"PATCH ")
                forwarded = -data_from  # count from the request line on
            if counting:
                with lock:
                    may_cut = args.cut_after > 0 and state["cuts"] < args.cuts
                if may_cut and forwarded + len(data) > args.cut_after:
                    keep = max(0, args.cut_after - forwarded)
                    server.sendall(data[:keep])
                    with lock:
                        state["cuts"] += 1
                    if args.down_after_cut and args.down_file:
                        open(args.down_file, "w").close()
                    log({"event": "cut", "forwarded": forwarded + keep})
                    break
                forwarded += len(data)
            server.sendall(data)
            if args.rate:
                total += len(data)
                ahead = total / args.rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
    except OSError:
        pass
    close(client, server)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target", type=int, required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--cut-after", type=int, default=0)
    p.add_argument("--cuts", type=int, default=1)
    p.add_argument("--down-file", default="")
    p.add_argument("--down-after-cut", action="store_true")
    p.add_argument("--rate", type=int, default=0)
    args = p.parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.rename(tmp, args.port_file)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=handle, args=(client, args), daemon=True).start()


if __name__ == "__main__":
    main()
