// The live dashboard in a real browser: `nautilus run` (every engine, the bundled sample at a
// high replay speed, free loopback ports), then headless Chromium (Debian's, driven by
// playwright-core) opens http://127.0.0.1:<websocket port>/ and checks that
// - the page loads with no console error and no page error;
// - the WebSocket connects, market time and prices move within seconds, the price, VPIN and
//   equity charts get data, and the engine grid shows every engine the platform runs;
// - a full-page screenshot OUT_DIR/dashboard.png is kept as the test's artifact.
//
//   node tests/web/dashboard_page_test.mjs PLAYWRIGHT_CORE_DIR OUT_DIR NAUTILUS_BINARY
//
// Over HTTPS (tests/web/dashboard_https_test.sh makes the certificates): the platform serves
// with CERT and KEY (NAUTILUS_TLS_CERT_FILE/KEY_FILE), the page is https://localhost:<port>/ and
// its stream wss://; Node trusts the test CA through NODE_EXTRA_CA_CERTS, and Chromium trusts
// exactly that server key (--ignore-certificate-errors-spki-list with its SPKI hash), nothing
// else.
//
//   node tests/web/dashboard_page_test.mjs PW OUT BIN --tls CERT KEY SPKI_SHA256_BASE64
//
// Exit status 0 when every check passes, 1 otherwise (each failure printed).
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const [pwDir, outDir, binary, tlsFlag, tlsCert, tlsKey, tlsSpki] = process.argv.slice(2);
const tls = tlsFlag === '--tls';
if (tlsFlag !== undefined && !(tls && tlsCert && tlsKey && tlsSpki)) {
  console.error('usage: dashboard_page_test.mjs PW OUT BIN [--tls CERT KEY SPKI_SHA256_BASE64]');
  process.exit(2);
}
if (!pwDir || !outDir || !binary) {
  console.error('usage: dashboard_page_test.mjs PLAYWRIGHT_CORE_DIR OUT_DIR NAUTILUS_BINARY');
  process.exit(2);
}
const require = createRequire(import.meta.url);
const { chromium } = require(path.resolve(pwDir));
mkdirSync(outDir, { recursive: true });

const failures = [];
function check(ok, what) {
  console.log(`${ok ? 'ok' : 'FAIL'}: ${what}`);
  if (!ok) failures.push(what);
  return ok;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const portFree = (port) => new Promise((resolve) => {
  const s = net.createServer();
  s.once('error', () => resolve(false));
  s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
});
async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// Every engine's default port, from `nautilus engines` ("<name> <port> <description>").
const engines = execFileSync(binary, ['engines'], { encoding: 'utf8' }).trim().split('\n')
  .map((l) => l.split(' ')).map(([name, port]) => ({ name, port: Number(port) }));
let offset = null;
for (let i = 0; i < 100 && offset === null; i++) {
  const o = (await freePort()) - 8600;
  let ok = true;
  for (const e of engines) {
    const p = e.port + o;
    if (p <= 0 || p >= 65536 || !(await portFree(p))) { ok = false; break; }
  }
  if (ok) offset = o;
}
if (offset === null) { console.error('no free ports'); process.exit(1); }
const wsPort = engines.find((e) => e.name === 'websocket').port + offset;
const btPort = engines.find((e) => e.name === 'backtesting').port + offset;

let log = '';
const env = tls
  ? { ...process.env, NAUTILUS_TLS_CERT_FILE: tlsCert, NAUTILUS_TLS_KEY_FILE: tlsKey }
  : process.env;
const platform = spawn(binary, ['run', '--port-offset', String(offset), '--speed', '600',
  '--duration', '120'], { stdio: ['ignore', 'pipe', 'pipe'], env });
platform.stdout.on('data', (d) => { log += d; });
platform.stderr.on('data', (d) => { log += d; });

let browser = null;
try {
  // The certificate names localhost and 127.0.0.1; over TLS the page uses the name.
  const scheme = tls ? 'https' : 'http';
  const base = tls ? `https://localhost:${wsPort}` : `http://127.0.0.1:${wsPort}`;
  let up = false;
  for (let i = 0; i < 300 && !up; i++) {
    try { up = (await fetch(`${base}/health`)).ok; } catch { await sleep(200); }
  }
  if (!check(up, `the platform answers on ${base}`)) throw new Error(log);

  // A backtest job, whose row and tearsheet link the dashboard must show.
  // Three days of the sample, so that it is done in seconds under the sanitizers too.
  const config = readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname),
    '../../examples/backtest/rest.toml'), 'utf8') + '\n[engines.marketdata]\nreplay_until = "2026-01-08"\n';
  const submitted = await fetch(`${scheme}://localhost:${btPort}/backtests`, { method: 'POST', body: config });
  check(submitted.status === 202 || submitted.status === 201 || submitted.ok,
        `a backtest is submitted (${submitted.status})`);

  const args = ['--no-sandbox'];
  if (tls) args.push(`--ignore-certificate-errors-spki-list=${tlsSpki}`);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/`, { waitUntil: 'load' });
  check(await page.title() === 'Nautilus — live', `the dashboard loads from ${base}/`);

  await page.waitForFunction(() => document.getElementById('conn').classList.contains('on'),
    null, { timeout: 10000 }).catch(() => {});
  check(await page.$eval('#conn', (e) => e.classList.contains('on')),
        `the WebSocket connects (${tls ? 'wss' : 'ws'}://)`);

  // Live values change within seconds: market time and the chosen symbol's last price.
  const sample = () => page.evaluate(() => {
    const d = window.__dashboard;
    const sym = document.getElementById('symbol').value;
    const b = d.bars.get(sym);
    return { time: document.getElementById('market-time').textContent,
             points: b ? b.x.length : 0, last: b ? b.x[b.x.length - 1] : null };
  });
  await page.waitForFunction(() => window.__dashboard.bars.size > 0, null, { timeout: 15000 })
    .catch(() => {});
  const a = await sample();
  await sleep(3000);
  const b = await sample();
  check(a.time !== b.time && b.time.startsWith('market '),
        `market time moves (${a.time} -> ${b.time})`);
  check(b.points > a.points || b.last !== a.last, `prices move (${a.points} -> ${b.points} bars)`);

  // Every chart with data, once the engines have had time to produce it (health every 10 s).
  const wanted = engines.map((e) => e.name);
  await page.waitForFunction((n) => window.__dashboard.engines.size >= n, wanted.length,
    { timeout: 30000 }).catch(() => {});
  // VPIN needs its first buckets filled: a few seconds more at this replay speed.
  await page.waitForFunction(() => {
    const c = window.__dashboard.charts;
    return c.vpin.data[0].length > 1 && c.equity.data[0].length > 1;
  }, null, { timeout: 40000 }).catch(() => {});
  const state = await page.evaluate(() => {
    const d = window.__dashboard;
    const len = (c) => (c.data && c.data[0] ? c.data[0].length : 0);
    return {
      engines: [...d.engines.keys()].sort(),
      cards: document.querySelectorAll('#engines .engine').length,
      price: len(d.charts.price), vpin: len(d.charts.vpin), equity: len(d.charts.equity),
      bus: len(d.charts.bus), lat: len(d.charts.lat),
      nav: document.getElementById('nav').textContent,
      trading: document.getElementById('trading-state').textContent,
    };
  });
  check(JSON.stringify(state.engines) === JSON.stringify([...wanted].sort()),
        `the engine grid shows every engine (${state.engines.join(', ')})`);
  check(state.cards === wanted.length, `one card per engine (${state.cards})`);
  for (const k of ['price', 'vpin', 'equity', 'bus', 'lat']) {
    check(state[k] > 1, `the ${k} chart has data (${state[k]} points)`);
  }
  check(state.nav !== '—', `the account's NAV is shown (${state.nav})`);
  // Risk publishes the state in force at start (risk.state), so it shows before any alert.
  check(state.trading === 'active', `the trading state is shown (${state.trading})`);
  // The backtest's row, then its tearsheet link once it is done (it takes seconds).
  await page.waitForFunction(() => [...window.__dashboard.backtests.values()].some((b) => b.state === 'done'),
    null, { timeout: 90000 }).catch(() => {});
  const link = await page.$eval('#backtests tbody', (t) => {
    const a = t.querySelector('a');
    return { rows: t.querySelectorAll('tr').length, href: a ? a.href : null };
  });
  check(link.rows >= 1 && link.href !== null, `the backtest list shows the job and its tearsheet link (${link.href})`);
  if (link.href) {
    const r = await fetch(link.href);
    check(r.ok && (await r.text()).includes('<html'), `the tearsheet link opens the report (${r.status})`);
  }
  await page.screenshot({ path: path.join(outDir, tls ? 'dashboard-https.png' : 'dashboard.png'),
                          fullPage: true });
  check(errors.length === 0, `no console or page errors${errors.length ? ': ' + errors.join(' | ') : ''}`);
} catch (e) {
  failures.push(String(e));
} finally {
  if (browser) await browser.close();
  platform.kill('SIGINT');
  await new Promise((r) => { platform.once('exit', r); setTimeout(r, 15000); });
}
if (failures.length) {
  console.error(`${failures.length} check(s) failed:\n${failures.join('\n')}`);
  if (log) console.error(`--- nautilus run's output (tail)\n${log.slice(-3000)}`);
  process.exit(1);
}
console.log('all dashboard checks passed');
