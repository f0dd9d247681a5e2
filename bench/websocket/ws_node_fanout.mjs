// The anchor of `nautilus bench websocket`: Node's `ws` server (npm; scripts/install-deps.sh
// fetches it) doing the fan-out the websocket engine does: every `1000 / rate` ms it sends the
// same frame, with the time of publishing in it, to every connected client. A client whose
// socket has more than 64 KiB unsent is skipped for that message, as the engine conflates a
// client that falls behind: neither server buffers without bound. perMessageDeflate off (the
// engine does not compress either).
//
//   node ws_node_fanout.mjs WS_PACKAGE_DIR PORT RATE FRAME_FILE
//
// FRAME_FILE holds a frame of the engine's, whose "ts_pub":<digits> is rewritten per message.
// Prints "listening" once it accepts connections; runs until killed.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [wsDir, port, rate, frameFile] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { WebSocketServer } = require(path.resolve(wsDir));
const frame = readFileSync(frameFile, 'utf8');
const at = frame.indexOf('"ts_pub":');
const head = frame.slice(0, at + 9);
const tail = frame.slice(at + 9).replace(/^[0-9]+/, '');
const LIMIT = 64 * 1024;

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(port), perMessageDeflate: false,
  maxPayload: 64 * 1024 });
wss.on('connection', (ws) => { ws.on('message', () => {}); ws.on('error', () => {}); });
wss.on('listening', () => console.log('listening'));

// Messages per tick: a 1 ms timer cannot fire more than ~1000 times a second.
const perSecond = Number(rate);
const tickMs = Math.max(1, Math.floor(1000 / perSecond));
const perTick = Math.max(1, Math.round(perSecond * tickMs / 1000));
setInterval(() => {
  for (let k = 0; k < perTick; k++) {
    const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
    const msg = head + ns.toString() + tail;
    for (const c of wss.clients) {
      if (c.readyState === 1 && c.bufferedAmount < LIMIT) c.send(msg);
    }
  }
}, tickMs);
