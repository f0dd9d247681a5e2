#!/usr/bin/python3
"""The websocket engine from a Python client (Debian's python3-websockets), over real sockets.

Starts `nautilus run` with the hub, VPIN and the websocket engine on free loopback ports, a
token configured and small send queues, then checks what docs/ENGINES.md (websocket) promises:
typed messages as JSON and as MessagePack, snapshots on subscribe, refusals with a reason and a
counter (no token, malformed, unknown, bad pattern, too many, oversize), and that a client
which stops reading is disconnected without slowing another client or growing the server.

Usage: ws_client_test.py NAUTILUS_BINARY
"""
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import msgpack
import websockets

TOKEN = "s3cret-token"
TIMEOUT = 20  # seconds for any one expectation
# Under ASan or TSan the server is several times slower and its memory grows with shadow
# memory: the throughput and memory bounds are looser there, what is checked is the same.
SANITIZED = bool(os.environ.get("NAUTILUS_SANITIZE"))
MIN_FRAMES = 200 if SANITIZED else 1000
RSS_GROWTH_MB = 1000 if SANITIZED else 200


def free_offset():
    """A port offset at which the websocket (8600), hub (8800) and vpin (10000) ports are free."""
    for _ in range(100):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        offset = port - 8600
        ok = True
        for p in (8600, 8800, 10000):
            if not 0 < p + offset < 65536:
                ok = False
                break
            t = socket.socket()
            try:
                t.bind(("127.0.0.1", p + offset))
            except OSError:
                ok = False
            finally:
                t.close()
        if ok:
            return offset
    raise SystemExit("no free ports")


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}", flush=True)


def http_get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


def metric(text, name, **labels):
    """The value of one Prometheus sample (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def recv_json(ws, until, what):
    """Frames until one satisfies `until` (a predicate on the decoded JSON)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
        m = json.loads(raw) if isinstance(raw, str) else msgpack.unpackb(raw)
        if until(m):
            return m
    raise AssertionError(f"timed out waiting for {what}")


async def main(binary):
    offset = free_offset()
    port = 8600 + offset
    base = f"http://127.0.0.1:{port}"
    url = f"ws://127.0.0.1:{port}/ws"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    log = tempfile.NamedTemporaryFile(prefix="nautilus-ws-test-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [binary, "run", "--engines", "marketdata,vpin,websocket", "--port-offset", str(offset),
         "--speed", "2000", "--duration", "120",
         "--set", f"websocket.token={TOKEN}",
         "--set", "websocket.queue_frames=256", "--set", "websocket.conflate_after=32",
         "--set", "websocket.max_behind_ms=1000", "--set", "websocket.socket_send_buffer=8192",
         "--set", "websocket.max_patterns=8"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                http_get(f"{base}/health")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise AssertionError("the platform did not start: " + open(log.name).read())
                time.sleep(0.2)
        await run_checks(url, base, auth, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        os.unlink(log.name)


async def run_checks(url, base, auth, pid):
    # --- no token, a wrong one: refused at the handshake with 401, counted
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        try:
            async with websockets.connect(url, extra_headers=headers, open_timeout=10):
                raise AssertionError("connected without the token")
        except websockets.exceptions.InvalidStatusCode as e:
            check(e.status_code == 401, f"a handshake with {headers or 'no token'} gets 401")

    # --- JSON: hello, subscribe, typed bars
    async with websockets.connect(url, extra_headers=auth, open_timeout=10) as ws:
        hello = json.loads(await ws.recv())
        check(hello["control"] == "hello" and hello["format"] == "json", "hello says the format")
        await ws.send(json.dumps({"op": "subscribe", "topics": ["market_data.*.bar"], "id": "a"}))
        ack = await recv_json(ws, lambda m: m.get("control") == "subscribe", "the subscribe ack")
        check(ack["id"] == "a" and ack["patterns"] == ["market_data.*.bar"], "subscribe is acked")
        bar = await recv_json(ws, lambda m: m.get("type") == "bar", "a bar")
        p = bar["payload"]
        check(bar["topic"] == f"market_data.{p['symbol']}.bar" and bar["v"] == 1,
              "a bar arrives on its topic in the wire format's JSON")
        check(float(p["high"]) >= float(p["low"]) > 0 and isinstance(bar["ts_event"], int),
              "its prices are decimal strings and its times integers")
        # the other messages of the list: ping, list, unsubscribe
        await ws.send(json.dumps({"op": "ping", "id": 9}))
        pong = await recv_json(ws, lambda m: m.get("control") == "ping", "the pong")
        check(pong["id"] == "9" and pong["ts"] > 0, "ping is answered")
        await ws.send(json.dumps({"op": "list"}))
        lst = await recv_json(ws, lambda m: m.get("control") == "list", "the list")
        check(set(lst["patterns"]) == {"market_data.*.bar", "websocket.broadcast.*"},
              "list gives the client's patterns (broadcasts included)")

        # --- bad control messages: an error with the kind and a reason; the connection stays
        for text, kind in (("not json", "malformed"), ('{"op":"dance"}', "unknown_op"),
                           ('{"op":"subscribe","topics":["bad pattern!"]}', "bad_pattern"),
                           (json.dumps({"op": "subscribe", "topics": [f"x{i}" for i in range(9)]}),
                            "too_many")):
            await ws.send(text)
            err = await recv_json(ws, lambda m: m.get("control") == "error", f"the {kind} error")
            check(err["kind"] == kind and err["reason"], f"{kind} is refused: {err['reason']}")
        await ws.send(json.dumps({"op": "ping"}))
        await recv_json(ws, lambda m: m.get("control") == "ping", "a pong after the errors")
        # Over the limit a client reaches its pattern count, not only per message: 7 more fit
        # (8 at most, the broadcast pattern not counted), 8 do not, and none of them is added.
        await ws.send(json.dumps({"op": "subscribe", "topics": [f"y{i}" for i in range(8)]}))
        err = await recv_json(ws, lambda m: m.get("control") in ("error", "subscribe"), "the answer")
        check(err.get("kind") == "too_many", f"the client's own limit holds: {err.get('reason')}")
        await asyncio.sleep(1.5)  # the control budget refills

    # --- a client sending control messages too fast is refused, and stays connected
    async with websockets.connect(url, extra_headers=auth, open_timeout=10) as ws:
        await ws.recv()
        for _ in range(60):
            await ws.send(json.dumps({"op": "ping"}))
        answers = [json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)) for _ in range(60)]
        limited = [a for a in answers if a.get("kind") == "rate_limited"]
        check(limited and len(limited) < 60, f"a burst of 60 control messages: {len(limited)} "
                                             f"refused as rate_limited ({limited[0]['reason']})")

    # --- MessagePack by sub-protocol, and the token in the query
    async with websockets.connect(url + f"?token={TOKEN}", subprotocols=["nautilus.msgpack"],
                                  open_timeout=10) as ws:
        check(ws.subprotocol == "nautilus.msgpack", "the msgpack sub-protocol is agreed")
        hello = json.loads(await ws.recv())
        check(hello["format"] == "msgpack", "a token in the query is accepted")
        await ws.send(json.dumps({"op": "subscribe", "topics": ["market_data.*.bar"]}))
        # The snapshot: the latest bar of each symbol, at once.
        ack = await recv_json(ws, lambda m: m.get("control") == "subscribe", "the ack")
        check(ack["snapshot"] >= 1, f"a late subscriber gets a snapshot ({ack['snapshot']} topics)")
        frame = await asyncio.wait_for(ws.recv(), TIMEOUT)
        check(isinstance(frame, bytes), "data frames are binary")
        env = msgpack.unpackb(frame)
        check(env["v"] == 1 and env["type"] == "bar" and "close" in env["payload"],
              "and decode as the wire format's MessagePack")

    # --- oversize: a frame over max_control_bytes closes the connection with 1009
    async with websockets.connect(url, extra_headers=auth, open_timeout=10, max_size=None) as ws:
        await ws.recv()
        await ws.send("x" * 70_000)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), TIMEOUT)
        except websockets.exceptions.ConnectionClosed as e:
            check(e.code == 1009, f"an oversize frame is closed with 1009 ({e.code} {e.reason})")

    # --- a client that stops reading: disconnected, the other unharmed, memory bounded
    rss_before = rss_mb(pid)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(url.split(":")[2].split("/")[0])))
    slow = await websockets.connect(url, sock=sock, extra_headers=auth, open_timeout=10,
                                    max_queue=1, read_limit=2 ** 12, max_size=None)
    fast = await websockets.connect(url, extra_headers=auth, open_timeout=10)
    await fast.recv()
    for ws in (slow, fast):
        await ws.send(json.dumps({"op": "subscribe", "topics": ["*"]}))
    gaps, last, got = [], time.monotonic(), 0
    t0 = time.monotonic()
    slow_gone, polled = None, t0
    while time.monotonic() - t0 < 8:
        await asyncio.wait_for(fast.recv(), 5)
        now = time.monotonic()
        gaps.append(now - last)
        last = now
        got += 1
        if slow_gone is None and now - polled > 0.5:
            polled = now
            clients = json.loads(http_get(f"{base}/websocket/clients", auth))["clients"]
            if len(clients) == 1:
                slow_gone = now - t0
    check(slow_gone is not None, f"the client that stopped reading was disconnected "
                                 f"({slow_gone if slow_gone is None else round(slow_gone, 1)} s)")
    check(got > MIN_FRAMES and max(gaps) < 2.0,
          f"the reading client kept receiving meanwhile ({got} frames, longest gap "
          f"{max(gaps):.2f} s)")
    rss_after = rss_mb(pid)
    check(rss_after < rss_before + RSS_GROWTH_MB, f"server RSS bounded ({rss_before:.0f} -> {rss_after:.0f} MB)")
    await fast.close()
    reason = ""
    try:
        while True:
            await asyncio.wait_for(slow.recv(), 5)
    except websockets.exceptions.ConnectionClosed as e:
        reason = e.reason
    except asyncio.TimeoutError:
        reason = "(no close seen)"
    print(f"the slow client's close: {reason!r}")

    # --- system.health.* from the host, as a snapshot of every engine
    async with websockets.connect(url, extra_headers=auth, open_timeout=10) as ws:
        await ws.recv()
        await ws.send(json.dumps({"op": "subscribe", "topics": ["system.health.*"]}))
        engines = set()
        deadline = time.monotonic() + 15
        while len(engines) < 3 and time.monotonic() < deadline:
            m = await recv_json(ws, lambda m: m.get("type") == "engine_health", "engine health")
            engines.add(m["payload"]["engine"])
        check(engines == {"marketdata", "vpin", "websocket"}, f"health of every engine: {engines}")

    # --- every refusal is counted in /metrics
    text = http_get(f"{base}/metrics")
    check(metric(text, "nautilus_websocket_refused_total", reason="unauthorized") >= 2,
          "refused handshakes are counted")
    for kind in ("malformed", "unknown_op", "bad_pattern", "too_many", "rate_limited"):
        check(metric(text, "nautilus_websocket_control_errors_total", kind=kind) >= 1,
              f"{kind} control messages are counted")
    check(metric(text, "nautilus_websocket_oversize_total") >= 1, "oversize frames are counted")
    check(metric(text, "nautilus_websocket_disconnected_slow_total") >= 1,
          "slow disconnections are counted")
    check(metric(text, "nautilus_websocket_frames_out_total") > MIN_FRAMES,
          "frames out are counted")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
