"""Wire-format interop check, run by redis_streams_test with Debian's /usr/bin/python3.

Reads the C++-written entry from nautilus:engine_communication, then publishes a trade_tick
envelope of its own for the C++ consumer group to decode. Usage: interop.py <redis port>.
"""
import sys

import msgpack
import redis

r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]))
stream = "nautilus:engine_communication"

entries = r.xrange(stream, "-", "+")
assert len(entries) == 1, entries
_, fields = entries[0]
# An entry carries one envelope ("d") or a packed batch ("b"): accept both.
envs = [msgpack.unpackb(fields[b"d"], raw=False)] if b"d" in fields else msgpack.unpackb(fields[b"b"], raw=False)
env = envs[0]
assert env["v"] == 1, env
print(f"read {env['topic']} {env['type']} seq={env['seq']} bid={env['payload']['bid']}")

trade = {
    "v": 1, "topic": "strategy.signal.MSFT", "type": "trade_tick", "prio": 3,
    "src": "pyclient", "seq": 1, "ts_event": 1700000000000000000, "ts_pub": 1700000000000000001,
    "payload": {"symbol": "MSFT", "price": "99.25", "size": "10", "aggressor": 1,
                "trade_id": 5, "ts_event": 1700000000000000000},
}
r.xadd(stream, {"d": msgpack.packb(trade, use_bin_type=True)})
print("wrote strategy.signal.MSFT trade_tick")
