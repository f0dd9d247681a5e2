"""Publishes one quote_tick envelope onto the Engine Logic bus the way a Python client would.

Run by redis_transport_test with Debian's /usr/bin/python3. Usage: publish.py <redis port>.
"""
import sys
import time

import msgpack
import redis

r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]))
now = time.time_ns()
env = {
    "v": 1, "topic": "analytics.result.SPY", "type": "quote_tick", "prio": 1,
    "src": "pyclient", "seq": 1, "ts_event": now, "ts_pub": now,
    "payload": {"symbol": "SPY", "bid": "450.10", "ask": "450.12", "bid_size": "100",
                "ask_size": "200", "ts_event": now},
}
r.xadd("nautilus:engine_communication", {"d": msgpack.packb(env, use_bin_type=True)})
