// The backtest tearsheet in a real browser: headless Chromium (Debian's), driven by
// playwright-core (scripts/install-deps.sh installs both), opens pages render_report_html wrote
// and checks that each renders what its report holds, from nothing but the file.
//
//   node tests/web/report_page_test.mjs PLAYWRIGHT_CORE_DIR OUT_DIR sample=report.html \
//       empty=report_empty.html
//
// KIND=PAGE: `sample` is tests/fixtures/backtest/report_sample.json (every part present), `empty`
// is report_empty.json (no trades, no benchmark, no VPIN or bars symbol), `backtest` the page
// `nautilus backtest` wrote over the bundled sample. For each page:
// - no console error, no page error, and no request but the file itself (no network);
// - no src or href attribute pointing at http(s);
// - each chart expected is a uPlot instance (window.__charts) with data and a painted canvas,
//   each figure expected to have no chart says why in its place;
// - the tables have the rows the report implies; the tooltip, the shared zoom and the trade
//   list's symbol filter work;
// - a full-page screenshot OUT_DIR/report_KIND.png (and for the sample a PDF of the printed
//   page, report_sample.pdf), the test's artifacts.
// Exit status 0 when every check passes, 1 otherwise (each failure printed).
import { createRequire } from 'node:module';
import { readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [pwDir, outDir, ...pages] = process.argv.slice(2);
if (!pwDir || !outDir || pages.length === 0) {
  console.error('usage: report_page_test.mjs PLAYWRIGHT_CORE_DIR OUT_DIR KIND=PAGE.html...');
  process.exit(2);
}
const require = createRequire(import.meta.url);
const { chromium } = require(path.resolve(pwDir));
mkdirSync(outDir, { recursive: true });

const ALL_CHARTS = ['cumulative', 'drawdown', 'rolling_sharpe', 'rolling_volatility', 'yearly',
  'distribution', 'exposure', 'bars', 'vpin'];
// What each fixture must show: the charts drawn, and the figures that must carry a note instead
// (with a word of it).
const EXPECT = {
  sample: { charts: ALL_CHARTS, notes: {} },
  // The page of a real `nautilus backtest` over the bundled sample (examples/backtest/
  // momentum.toml: SPY as the benchmark, AAPL's bars and VPIN, a 5-day rolling window).
  backtest: { charts: ALL_CHARTS, notes: {} },
  empty: {
    charts: ['cumulative'],
    notes: {
      'fig-drawdown': 'No drawdown',
      'fig-rolling-sharpe': 'No 63-day window',
      'fig-rolling-volatility': 'No 63-day window',
      'fig-yearly': 'did not change',
      'fig-distribution': 'no distribution',
      'fig-worst-drawdowns': 'No drawdown',
      'fig-exposure': 'No exposure',
      'fig-bars': 'No bars symbol configured',
      'fig-vpin': 'No VPIN symbol configured',
      'fig-trades': 'No trades',
    },
  },
};

const failures = [];
function check(kind, ok, what) {
  if (!ok) failures.push(`${kind}: ${what}`);
  return ok;
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  for (const arg of pages) {
    const eq = arg.indexOf('=');
    const kind = arg.slice(0, eq);
    const file = path.resolve(arg.slice(eq + 1));
    const expect = EXPECT[kind];
    if (!expect) throw new Error(`unknown page kind ${kind} (sample, backtest or empty)`);
    const url = pathToFileURL(file).href;

    // The file as text: nothing it points at is on the network.
    const html = readFileSync(file, 'utf8');
    const remote = [...html.matchAll(/\b(?:src|href)\s*=\s*["']?\s*(https?:)?\/\//gi)];
    check(kind, remote.length === 0, `${remote.length} src/href attributes point at the network`);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const requests = [];
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u === url) return route.continue();
      requests.push(u);
      return route.abort();
    });
    const page = await context.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => { if (r.url() !== url) errors.push(`request failed: ${r.url()}`); });

    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__report && window.__report.ready, null, { timeout: 30000 });

    const info = await page.evaluate(() => {
      const charts = {};
      for (const [name, u] of Object.entries(window.__charts)) {
        const canvas = u.root.querySelector('canvas');
        let painted = 0;
        if (canvas && canvas.width > 0 && canvas.height > 0) {
          // Pixels that are neither transparent nor white: something was drawn.
          const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          for (let i = 0; i < px.length; i += 4) {
            if (px[i + 3] > 0 && (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240)) painted++;
          }
        }
        charts[name] = {
          points: u.data[0].length,
          values: u.data.slice(1).reduce((n, s) => n + s.filter((v) => v != null).length, 0),
          canvas: canvas ? [canvas.width, canvas.height] : null,
          painted,
          inDom: document.body.contains(u.root),
        };
      }
      const notes = {};
      for (const id of window.__report.notes) {
        notes[id] = document.getElementById(id).querySelector('.note')?.textContent ?? '';
      }
      const rows = (sel) => document.querySelectorAll(sel).length;
      const report = JSON.parse(document.getElementById('report-data').textContent);
      return {
        charts, notes,
        canvases: document.querySelectorAll('.chart canvas').length,
        kpis: [...document.querySelectorAll('.kpi')].map((k) => k.textContent),
        monthly: rows('#monthly-table tbody tr'),
        monthlyCells: rows('#monthly-table tbody td:not(.empty)'),
        trades: rows('#trades-table tbody tr'),
        metrics: rows('table.metrics tr[data-key]'),
        alerts: rows('#vpin-alerts-table tbody tr'),
        orders: rows('#orders-table tbody tr'),
        worst: rows('#worst-drawdowns-table tbody tr'),
        dashesInKpis: [...document.querySelectorAll('.kpi .value')].filter((v) => v.textContent === '\u2014').length,
        title: document.title,
        counts: {
          trades: report.trades.length,
          months: report.metrics.monthly_returns.length,
          years: new Set(report.metrics.monthly_returns.map((m) => m.year)).size,
          alerts: report.vpin.alerts.length,
          metricKeys: Object.keys(report.metrics).filter((k) => !k.endsWith('_returns')).length,
        },
      };
    });

    check(kind, requests.length === 0, `requests beyond the file: ${requests.join(', ')}`);
    check(kind, errors.length === 0, `errors:\n    ${errors.join('\n    ')}`);

    const drawn = Object.keys(info.charts).sort();
    check(kind, JSON.stringify(drawn) === JSON.stringify([...expect.charts].sort()),
      `charts drawn ${drawn.join(',')}, expected ${[...expect.charts].sort().join(',')}`);
    for (const [name, c] of Object.entries(info.charts)) {
      check(kind, c.inDom && c.canvas && c.canvas[0] > 0 && c.canvas[1] > 0, `${name}: no canvas`);
      check(kind, c.points > 0 && c.values > 0, `${name}: no data (${c.points} x, ${c.values} values)`);
      check(kind, c.painted > 500, `${name}: canvas looks blank (${c.painted} pixels drawn)`);
    }
    check(kind, info.canvases >= drawn.length, `${info.canvases} canvases for ${drawn.length} charts`);
    const noted = Object.keys(info.notes).sort();
    check(kind, JSON.stringify(noted) === JSON.stringify(Object.keys(expect.notes).sort()),
      `notes in ${noted.join(',') || 'no figure'}, expected ${Object.keys(expect.notes).sort().join(',') || 'none'}`);
    for (const [id, word] of Object.entries(expect.notes)) {
      check(kind, (info.notes[id] || '').includes(word), `${id}: note "${info.notes[id]}" lacks "${word}"`);
    }

    check(kind, info.kpis.length >= 6, `${info.kpis.length} headline numbers`);
    check(kind, info.monthly === info.counts.years && info.monthlyCells === info.counts.months + info.counts.years,
      `heatmap: ${info.monthly} rows / ${info.monthlyCells} cells for ${info.counts.years} years, ${info.counts.months} months`);
    check(kind, info.metrics >= info.counts.metricKeys,
      `metrics table: ${info.metrics} rows for ${info.counts.metricKeys} metrics`);
    check(kind, info.orders === 1, 'orders table missing');
    // The page lists the first 2,000 trades of the filter (report.js, TRADE_ROWS; the totals are
    // of them all).
    check(kind, info.trades === Math.min(info.counts.trades, 2000),
      `trades table: ${info.trades} rows, ${info.counts.trades} trades`);
    // The artifacts, as the page opens (before the checks below move the cursor and zoom).
    await page.screenshot({ path: path.join(outDir, `report_${kind}.png`), fullPage: true });
    if (kind === 'sample') {
      await page.emulateMedia({ media: 'print' });
      await page.pdf({ path: path.join(outDir, `report_${kind}.pdf`), format: 'A4',
        margin: { top: '12mm', bottom: '12mm', left: '12mm', right: '12mm' }, printBackground: true });
      await page.emulateMedia({ media: 'screen' });
      check(kind, errors.length === 0, `errors while printing: ${errors.join('; ')}`);
    }

    if (kind === 'sample') {
      check(kind, info.dashesInKpis === 0, 'a headline number is undefined');
      check(kind, info.alerts === info.counts.alerts && info.alerts > 0, `alerts table: ${info.alerts} rows`);
      check(kind, info.worst === 5, `worst drawdowns: ${info.worst} rows`);
      check(kind, info.kpis[0].includes('benchmark'), 'total return names no benchmark');

      // The tooltip: hover the middle of the cumulative chart.
      const over = await page.locator('#fig-cumulative .u-over').boundingBox();
      await page.mouse.move(over.x + over.width / 2, over.y + over.height / 2);
      const tip = await page.locator('#fig-cumulative .u-tip').textContent();
      check(kind, /Strategy.*%/.test(tip) && /NAV/.test(tip), `tooltip reads "${tip}"`);

      // A drag on the cumulative chart zooms every time chart to the same dates.
      await page.mouse.move(over.x + over.width * 0.3, over.y + over.height / 2);
      await page.mouse.down();
      await page.mouse.move(over.x + over.width * 0.6, over.y + over.height / 2, { steps: 5 });
      await page.mouse.up();
      const zoom = await page.evaluate(() => ['cumulative', 'drawdown', 'rolling_sharpe',
        'rolling_volatility', 'exposure', 'bars', 'vpin'].map((n) =>
        [window.__charts[n].scales.x.min, window.__charts[n].scales.x.max]));
      const full = await page.evaluate(() => window.__charts.cumulative.data[0]);
      check(kind, zoom[0][0] > full[0] && zoom[0][1] < full[full.length - 1], 'the drag did not zoom');
      check(kind, zoom.every(([a, b]) => a === zoom[0][0] && b === zoom[0][1]),
        `zoom not shared: ${JSON.stringify(zoom)}`);
      await page.mouse.dblclick(over.x + over.width / 2, over.y + over.height / 2);
      await page.mouse.move(0, 0);

      // The trade list's symbol filter.
      await page.selectOption('#trade-symbol', 'AAPL');
      const aapl = await page.locator('#trades-table tbody tr').count();
      const want = JSON.parse(html.match(/id="report-data">([^]*?)<\/script>/)[1])
        .trades.filter((t) => t.symbol === 'AAPL').length;
      check(kind, aapl === want, `AAPL filter: ${aapl} rows, ${want} trades`);
      await page.selectOption('#trade-symbol', '');
    }

    console.log(`${kind}: ${drawn.length} charts (${drawn.join(', ')}), ${noted.length} notes, ` +
      `${info.trades} trades, ${info.monthly} heatmap rows, ${info.metrics} metrics; ` +
      `screenshot ${path.join(outDir, `report_${kind}.png`)}`);
    await context.close();
  }
} finally {
  await browser.close();
}

if (failures.length) {
  console.error(`FAILED (${failures.length}):\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log('report page: all checks passed');
