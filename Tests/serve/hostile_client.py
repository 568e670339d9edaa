"""Loopback clients that misbehave on purpose, for the serve tests. Every loop is bounded in
count and time; each command prints one JSON object of what it measured."""
import argparse
import json
import socket
import struct
import threading
import time
import urllib.parse
import zlib


def address(url):
    """(host, port) of `host:port` (tritonclient's form) or `http://host:port`."""
    parts = urllib.parse.urlsplit(url if "://" in url else "http://" + url)
    return parts.hostname, parts.port


def seconds_until_closed(sock, limit):
    """Seconds until the server closes `sock` (EOF or reset), or None after `limit`."""
    start = time.monotonic()
    sock.settimeout(0.05)
    while time.monotonic() - start < limit:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
    return None


def timeouts(args):
    """An idle connection, one that sends half its headers, and one that stalls mid-body: how
    long each stays open after its last byte."""
    host, port = address(args.url)
    path = "/v2/models/%s/infer" % args.model
    openings = {
        "idle": b"",
        "slow_headers": ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: app" % path).encode(),
        "stalled_body": ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"inputs\":" % path).encode(),
    }
    results = {}

    def run(name, opening):
        sock = socket.create_connection((host, port))
        if opening:
            sock.sendall(opening)
        results[name] = seconds_until_closed(sock, args.limit)
        sock.close()

    threads = [threading.Thread(target=run, args=item) for item in openings.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args.limit + 5)
    print(json.dumps(results))


def stall(args):
    """Sends headers and part of a body, then nothing: prints "stalled" at once and, once the
    server closes the connection, the seconds it stayed open."""
    host, port = address(args.url)
    sock = socket.create_connection((host, port))
    sock.sendall(("POST /v2/models/%s/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{" % args.model).encode())
    print("stalled", flush=True)
    print(json.dumps({"closed_after": seconds_until_closed(sock, args.limit)}), flush=True)


def truncated(args):
    """Declares a 100-byte body, sends 10 bytes and half-closes: the status line it gets back."""
    host, port = address(args.url)
    sock = socket.create_connection((host, port))
    sock.sendall(("POST /v2/models/%s/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inputs\":" % args.model)
                 .encode())
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(10)
    reply = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            reply += data
    except socket.timeout:
        pass
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else None
    print(json.dumps({"status": status, "body": body.decode(errors="replace")[:300]}))


def png(side):
    """A zero-filled 8-bit RGB PNG of side × side pixels (compresses to a few MB)."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    row = b"\x00" * (1 + 3 * side)
    compressor = zlib.compressobj(1)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def request(host, port, method, path, body=b"", headers=None, timeout=120, replies=None):
    """One request on its own connection: (status, seconds); the reply's text is appended to
    `replies` when given."""
    import http.client
    start = time.monotonic()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    text = response.read()
    if replies is not None:
        replies.append(text.decode(errors="replace")[:400])
    connection.close()
    return response.status, time.monotonic() - start


def image_request(images, side):
    """(body, headers) of an infer request of `images` zero-filled side × side PNGs (binary extension)."""
    image = png(side)
    elements = b"".join(struct.pack("<I", len(image)) + image for _ in range(images))
    header = json.dumps({"inputs": [{"name": "image", "shape": [images], "datatype": "BYTES",
                                     "parameters": {"binary_data_size": len(elements)}}]}).encode()
    headers = {"Inference-Header-Content-Length": str(len(header)), "Content-Type": "application/octet-stream"}
    return header + elements, headers


def budget(args):
    """One request of a side × side PNG, and 0.5 s into its decoding a second one: both statuses
    and the second's time."""
    host, port = address(args.url)
    body, headers = image_request(1, args.side)
    path = "/v2/models/%s/infer" % args.model
    first = []
    thread = threading.Thread(target=lambda: first.append(request(host, port, "POST", path, body, headers)))
    thread.start()
    time.sleep(0.5)
    connection_start = time.monotonic()
    import http.client
    connection = http.client.HTTPConnection(host, port, timeout=60)
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    text = response.read().decode(errors="replace")
    second = {"status": response.status, "seconds": time.monotonic() - connection_start, "body": text[:400],
              "retry_after": response.getheader("Retry-After")}
    thread.join(120)
    print(json.dumps({"first": first[0][0] if first else None, "second": second}))


def busy(args):
    """Two requests of `--images` side × side PNGs decode while health and a small infer are
    timed: the slowest health answer and the small infer's time."""
    host, port = address(args.url)
    body, headers = image_request(args.images, args.side)
    path = "/v2/models/%s/infer" % args.model
    big, replies = [], []

    def heavy():
        big.append(request(host, port, "POST", path, body, headers, replies=replies))

    threads = [threading.Thread(target=heavy) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # Let both bodies arrive and start decoding.
    health, small = [], []
    tensor = json.dumps({"inputs": [{"name": "input", "shape": [1, 3, args.crop, args.crop], "datatype": "FP32",
                                     "data": [0.0] * (3 * args.crop * args.crop)}]}).encode()
    # A small infer beside them: it decodes on the small lane, never behind the huge images.
    side = threading.Thread(target=lambda: small.append(
        request(host, port, "POST", path, tensor, {"Content-Type": "application/json"}, timeout=60)))
    side.start()
    while any(thread.is_alive() for thread in threads) and len(health) < 600:
        health.append(request(host, port, "GET", "/v2/health/live", timeout=30))
        time.sleep(0.1)
    side.join(60)
    for thread in threads:
        thread.join(300)
    print(json.dumps({
        "health_checks": len(health), "health_max_seconds": max(s for _, s in health) if health else None,
        "health_statuses": sorted({status for status, _ in health}),
        "small_infer": small[0] if small else None, "big_requests": big, "big_replies": replies,
    }))


def read_reply(sock, limit):
    """Everything the server sends on `sock` until it closes or `limit` seconds pass:
    (bytes, seconds until EOF or None)."""
    start = time.monotonic()
    sock.settimeout(0.05)
    reply = b""
    while time.monotonic() - start < limit:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return reply, time.monotonic() - start
        if not data:
            return reply, time.monotonic() - start
        reply += data
    return reply, None


def status_and_headers(reply):
    head = reply.split(b"\r\n\r\n")[0].decode(errors="replace").split("\r\n")
    fields = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return (int(head[0].split(" ")[1]) if head[0].startswith("HTTP/") else None), fields


def http10(args):
    """HTTP/1.0 without and with keep-alive: the status, Connection header and whether (and
    when) the server closed the connection after answering."""
    host, port = address(args.url)
    results = {}
    for name, extra in (("plain", ""), ("keep_alive", "Connection: keep-alive\r\n")):
        sock = socket.create_connection((host, port))
        sock.sendall(("GET /v2/health/live HTTP/1.0\r\n%s\r\n" % extra).encode())
        reply, closed = read_reply(sock, 3)
        status, fields = status_and_headers(reply)
        results[name] = {"status": status, "connection": fields.get("connection"), "closed_after": closed}
        sock.close()
    print(json.dumps(results))


def expect(args):
    """`Expect: 100-continue` on an upload within the body limit (seconds until `100 Continue`,
    then the final status once the body is sent) and on one declared over the limit (the final
    status without a 100, and whether the connection then closes)."""
    host, port = address(args.url)
    path = "/v2/models/%s/infer" % args.model
    body = b'{"inputs": []}'
    sock = socket.create_connection((host, port))
    start = time.monotonic()
    sock.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                  "Expect: 100-continue\r\n\r\n" % (path, len(body))).encode())
    sock.settimeout(5)
    interim = b""
    while b"\r\n\r\n" not in interim:
        data = sock.recv(1)
        if not data:
            break
        interim += data
    waited = time.monotonic() - start
    sock.sendall(body)
    reply, _ = read_reply(sock, 2)
    small = {"interim": status_and_headers(interim)[0], "seconds_to_interim": waited,
             "final": status_and_headers(reply)[0]}
    sock.close()
    sock = socket.create_connection((host, port))
    sock.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                  % (path, args.oversize)).encode())
    reply, closed = read_reply(sock, 5)
    status, fields = status_and_headers(reply)
    sock.close()
    print(json.dumps({"small": small, "oversized": {"status": status, "connection": fields.get("connection"),
                                                    "closed_after": closed, "interims": reply.count(b"100 Continue")}}))


def crowd(args):
    """Opens `--count` idle connections, then times health on a new one: its status and
    seconds, and how many of the idle ones the server had closed."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.count + 256), hard))
    host, port = address(args.url)
    idle = []
    for _ in range(args.count):
        try:
            idle.append(socket.create_connection((host, port), timeout=5))
        except OSError:
            break
    time.sleep(0.5)
    try:
        status, seconds = request(host, port, "GET", "/v2/health/live", timeout=args.limit)
    except OSError as error:
        status, seconds = str(error), None
    closed = 0
    for sock in idle:
        sock.setblocking(False)
        try:
            if sock.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        sock.close()
    print(json.dumps({"opened": len(idle), "health": status, "seconds": seconds, "closed_by_server": closed}))


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("timeouts", "stall", "truncated", "busy", "budget", "http10", "expect", "crowd"):
        command = commands.add_parser(name)
        command.add_argument("--url", required=True)
        command.add_argument("--model", required=True)
    commands.choices["timeouts"].add_argument("--limit", type=float, default=20)
    commands.choices["stall"].add_argument("--limit", type=float, default=20)
    commands.choices["busy"].add_argument("--side", type=int, default=10000)
    commands.choices["busy"].add_argument("--images", type=int, default=8)
    commands.choices["busy"].add_argument("--crop", type=int, default=32)
    commands.choices["budget"].add_argument("--side", type=int, default=10000)
    commands.choices["expect"].add_argument("--oversize", type=int, default=100 << 20)
    commands.choices["crowd"].add_argument("--count", type=int, default=1100)
    commands.choices["crowd"].add_argument("--limit", type=float, default=10)
    args = parser.parse_args()
    {"timeouts": timeouts, "stall": stall, "truncated": truncated, "busy": busy, "budget": budget, "http10": http10,
     "expect": expect, "crowd": crowd}[args.command](args)


if __name__ == "__main__":
    main()
