#!/usr/bin/env python3
"""Clients that submit at a set pace, as a room of participants does, rather than as fast as
they can: CLIENTS kept-alive connections, each POSTing BODY to URL every 1/RATE seconds on a
fixed schedule for SECONDS, on connections opened and used once before the clock starts (as a
browser's are). Each request's time runs from when it was due, not from when it
went out, so an answer that comes late counts against the requests queued behind it too (no
coordinated omission). Every answer must be a 201.

    paced_clients.py URL BODY CLIENTS RATE SECONDS [--user NAME:PASSWORD] [--header 'Name: value']

Prints "p50 | p90 | p99 | max | requests/s" (times in ms) on one line.
"""
import argparse
import asyncio
import base64
import ssl
import statistics
import sys
import time
import urllib.parse


async def connect(url):
    tls = None
    if url.scheme == "https":
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE  # the bench's throwaway certificate
    return await asyncio.open_connection(url.hostname, url.port, ssl=tls)


async def exchange(reader, writer, request):
    """Sends `request` and reads the answer; returns its status."""
    writer.write(request)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    status = status_line.split(b" ")[1] if b" " in status_line else b"?"
    if status != b"201":
        raise SystemExit(f"answer {status_line.decode().strip()!r}, not 201")


async def client(connection, request, rate, seconds, start, times):
    reader, writer = connection
    n = 0
    while (due := start + n / rate) < start + seconds:
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await exchange(reader, writer, request)
        times.append(time.monotonic() - due)
        n += 1
    writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("body")
    parser.add_argument("clients", type=int)
    parser.add_argument("rate", type=float, help="requests per second per client")
    parser.add_argument("seconds", type=float)
    parser.add_argument("--user", help="NAME:PASSWORD for basic auth")
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    headers = list(args.header)
    if args.user:
        headers.append("Authorization: Basic " + base64.b64encode(args.user.encode()).decode())
    body = open(args.body, "rb").read()
    url = urllib.parse.urlsplit(args.url)
    request = (f"POST {url.path} HTTP/1.1\r\nHost: {url.hostname}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n").encode() + body
    # Connections are opened, their TLS set up and one request answered before the clock starts,
    # as a browser's are by the time its user submits: the run times submissions, not handshakes.
    connections = await asyncio.gather(*(connect(url) for _ in range(args.clients)))
    for reader, writer in connections:
        await exchange(reader, writer, request)
    times = []
    # Clients start spread over one period, as people do, not all in the same millisecond.
    start = time.monotonic() + 0.2
    began = time.monotonic()
    await asyncio.gather(*(client(c, request, args.rate, args.seconds, start + i / (args.rate * args.clients), times)
                           for i, c in enumerate(connections)))
    elapsed = time.monotonic() - began
    ms = sorted(t * 1000 for t in times)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    print(f"{q[49]:.1f} | {q[89]:.1f} | {q[98]:.1f} | {ms[-1]:.1f} | {len(ms) / elapsed:,.0f}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
