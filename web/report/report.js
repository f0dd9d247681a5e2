// The backtest tearsheet: builds every chart and table of report.html from the run's report.json
// (schema version 1, docs/BACKTESTING.md), which render_report_html embeds in the page as the
// text of the JSON script element #report-data. Charts are uPlot's, inlined beside this file;
// nothing is fetched.
//
// Rules the page keeps:
// - Every number shown is either in the JSON or derived here from it in a way the figure's
//   caption says (e.g. cumulative return compounds the equity's daily returns). null in the JSON
//   is a value the platform could not define (NaN): it is shown as an em dash, never as 0.
// - A chart with nothing to draw (no benchmark configured, no VPIN symbol, no trades, a rolling
//   window longer than the run) says so in its place, in words, instead of an empty frame.
// - Time is UTC everywhere (the platform's clock), whatever the reader's time zone.
//
// For the page test (tests/web/report_page_test.mjs): window.__charts maps each chart's name to
// its uPlot instance, window.__report.notes lists the figures that show a note instead, and
// window.__report.ready turns true once everything is built.
(function () {
  'use strict';

  const charts = {};
  const state = { ready: false, notes: [], version: null };
  window.__charts = charts;
  window.__report = state;

  // ---------------------------------------------------------------- formatting

  const DASH = '\u2014';
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

  function fixed(x, digits) {
    let s = x.toFixed(digits);
    if (Number(s) === 0) s = (0).toFixed(digits);  // no "-0.00"
    return s;
  }
  // 0.1234 -> "+12.34%"; signed: false for levels that are not gains or losses.
  function pct(v, digits = 2, signed = true) {
    if (!isNum(v)) return DASH;
    const s = fixed(v * 100, digits);
    return (signed && Number(s) > 0 ? '+' : '') + s + '%';
  }
  function num(v, digits = 2) {
    if (!isNum(v)) return DASH;
    const s = v.toLocaleString('en-US', {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    return s === '-0' || /^-0\.0*$/.test(s) ? s.slice(1) : s;
  }
  const money = (v) => num(v, 2);
  const int = (v) => num(v, 0);
  const ratio = (v) => num(v, 2);
  // Math.min(...a) and Math.max(...a) run out of stack on long arrays: these do not.
  const minOf = (a) => a.reduce((m, v) => (v < m ? v : m), Infinity);
  const maxOf = (a) => a.reduce((m, v) => (v > m ? v : m), -Infinity);
  const signClass = (v) => (!isNum(v) || v === 0 ? '' : v > 0 ? 'pos' : 'neg');

  // "2024-01-02" -> seconds since the epoch at 00:00 UTC.
  function dateSec(text) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(text));
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) / 1000 : NaN;
  }
  // An ISO 8601 UTC time ("2024-01-02T15:31:00Z", fractions of any length) -> seconds.
  function tsSec(text) {
    const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(
      String(text));
    if (!m) return NaN;
    const ms = Date.parse(m[1] + (m[3] || 'Z'));
    return ms / 1000 + (m[2] ? Number(m[2]) : 0);
  }
  const isoDate = (sec) => new Date(sec * 1000).toISOString().slice(0, 10);
  const isoMinute = (sec) => new Date(sec * 1000).toISOString().slice(0, 16).replace('T', ' ');
  const isoSecond = (sec) => new Date(sec * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov',
    'Dec'];

  // ---------------------------------------------------------------- DOM

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'style') e.style.cssText = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c == null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  const $ = (sel) => document.querySelector(sel);

  function hint(figId, ...parts) {
    const p = document.querySelector('#' + figId + ' .hint');
    if (p) p.replaceChildren(...parts);
  }
  // Says, in the figure's place for a chart (or table), why there is none.
  function note(figId, text, target) {
    const fig = document.getElementById(figId);
    const box = target || fig.querySelector('.chart, .table-wrap');
    box.replaceChildren(el('div', { class: 'note', role: 'note', text }));
    fig.dataset.note = text;
    state.notes.push(figId);
  }

  // ---------------------------------------------------------------- charts

  const COLORS = {
    strategy: '#1f5fbf',
    benchmark: '#8a8f98',
    pos: '#1a7f37',
    neg: '#c62828',
    accent: '#b35c00',
    grid: '#eceff2',
    axis: '#5b6470',
  };
  const HEIGHT = {
    cumulative: 320, drawdown: 200, rolling_sharpe: 220, rolling_volatility: 220, yearly: 240,
    distribution: 240, exposure: 230, bars: 380, vpin: 260,
  };
  const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');

  function axis(values, extra) {
    return Object.assign({
      stroke: COLORS.axis,
      grid: { stroke: COLORS.grid, width: 1 },
      ticks: { stroke: COLORS.grid, width: 1, size: 4 },
      font: '11px system-ui, sans-serif',
    }, values ? { values } : {}, extra || {});
  }
  // Percent tick labels with as many decimals as the tick step needs.
  function pctTicks(u, splits, _axisIdx, _space, incr) {
    const step = String(+((incr || 0.01) * 100).toPrecision(6));  // 0.25 for a 0.25% step
    const d = Math.min(3, (step.split('.')[1] || '').length);
    return splits.map((v) => pct(v, d, true));
  }
  const numTicks = (digits) => (u, splits) => splits.map((v) => num(v, digits));

  // Horizontal reference lines (zero, a full-period value), drawn under the series.
  function hlines(lines) {
    return {
      hooks: {
        drawAxes: [(u) => {
          const { ctx, bbox } = u;
          ctx.save();
          for (const l of lines) {
            if (!isNum(l.value)) continue;
            const y = Math.round(u.valToPos(l.value, l.scale || 'y', true)) + 0.5;
            if (y < bbox.top || y > bbox.top + bbox.height) continue;
            ctx.strokeStyle = l.color || '#9aa1aa';
            ctx.lineWidth = (l.width || 1) * devicePixelRatio;
            ctx.setLineDash((l.dash || []).map((d) => d * devicePixelRatio));
            ctx.beginPath();
            ctx.moveTo(bbox.left, y);
            ctx.lineTo(bbox.left + bbox.width, y);
            ctx.stroke();
          }
          ctx.restore();
        }],
      },
    };
  }
  // Vertical reference lines with a label (VaR, mean).
  function vlines(lines) {
    return {
      hooks: {
        draw: [(u) => {
          const { ctx, bbox } = u;
          ctx.save();
          ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
          for (const l of lines) {
            if (!isNum(l.value)) continue;
            const x = Math.round(u.valToPos(l.value, 'x', true)) + 0.5;
            if (x < bbox.left || x > bbox.left + bbox.width) continue;
            ctx.strokeStyle = l.color;
            ctx.fillStyle = l.color;
            ctx.lineWidth = devicePixelRatio;
            ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(x, bbox.top);
            ctx.lineTo(x, bbox.top + bbox.height);
            ctx.stroke();
            ctx.textAlign = l.align || 'left';
            ctx.fillText(l.label, x + (l.align === 'right' ? -4 : 4) * devicePixelRatio,
              bbox.top + (12 + (l.row || 0) * 13) * devicePixelRatio);
          }
          ctx.restore();
        }],
      },
    };
  }
  // A shaded span of x (the maximum drawdown), under the series.
  function span(from, to, color) {
    return {
      hooks: {
        drawAxes: [(u) => {
          if (!isNum(from) || !isNum(to)) return;
          const { ctx, bbox } = u;
          const x0 = Math.max(bbox.left, u.valToPos(from, 'x', true));
          const x1 = Math.min(bbox.left + bbox.width, u.valToPos(to, 'x', true));
          if (x1 <= x0) return;
          ctx.save();
          ctx.fillStyle = color;
          ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
          ctx.restore();
        }],
      },
    };
  }

  // A tooltip beside the cursor of the chart under the mouse (the others follow with their
  // cursor line only): the x value, then each visible series' value at that point, then
  // `extra(idx)` rows.
  function tooltip(xLabel, extra) {
    let tip = null;
    let hovered = false;
    return {
      hooks: {
        init: [(u) => {
          tip = el('div', { class: 'u-tip', hidden: true });
          u.over.appendChild(tip);
          u.over.addEventListener('mouseenter', () => { hovered = true; });
          u.over.addEventListener('mouseleave', () => { hovered = false; tip.hidden = true; });
        }],
        setCursor: [(u) => {
          const { left, top, idx } = u.cursor;
          if (!hovered || idx == null || left == null || left < 0) {
            tip.hidden = true;
            return;
          }
          const rows = [];
          for (let s = 1; s < u.series.length; s++) {
            const ser = u.series[s];
            if (!ser.show || ser.tip === false) continue;
            const v = u.data[s][idx];
            if (v == null) continue;
            rows.push([ser.label, ser.value(u, v, s, idx), ser.color]);
          }
          if (extra) rows.push(...extra(idx));
          if (rows.length === 0) {
            tip.hidden = true;
            return;
          }
          tip.replaceChildren(el('div', { class: 't-x', text: xLabel(u.data[0][idx], idx) }),
            ...rows.map(([label, value, color]) => el('div', { class: 't-row' },
              el('span', {}, color ? el('span', { class: 't-swatch', style: `background:${color}` })
                : null, label),
              el('span', { text: value }))));
          tip.hidden = false;
          const w = tip.offsetWidth;
          const h = tip.offsetHeight;
          const ow = u.over.clientWidth;
          const oh = u.over.clientHeight;
          let x = left + 14;
          if (x + w > ow) x = Math.max(0, left - w - 14);
          let y = top + 14;
          if (y + h > oh) y = Math.max(0, oh - h);
          tip.style.left = x + 'px';
          tip.style.top = y + 'px';
        }],
      },
    };
  }

  function widthOf(box) {
    return Math.max(260, Math.floor(box.getBoundingClientRect().width));
  }

  // Builds a chart in the figure's .chart box. Unless its x scale says `time: false`, x is UTC
  // time and the chart is synchronised with the other time charts (uPlot's cursor sync): one
  // cursor across them all, and a drag that zooms one zooms them all to the same dates (a
  // double-click shows each its whole range again).
  function chart(name, figId, opts, data) {
    const box = document.querySelector('#' + figId + ' .chart');
    const time = opts.scales && opts.scales.x && opts.scales.x.time === false ? false : true;
    const cursor = Object.assign({ drag: { x: true, y: false }, points: { size: 7 } },
      time ? { sync: { key: 'nautilus-time', setSeries: false } } : {}, opts.cursor);
    const o = Object.assign({
      width: widthOf(box),
      height: HEIGHT[name] || 240,
      legend: { live: false },
      padding: [10, 14, 0, 4],
    }, opts, { cursor });
    if (time) o.tzDate = utc;
    for (const s of o.series) {
      if (s.stroke && !s.color) s.color = s.stroke;
    }
    const u = new uPlot(o, data, box);
    charts[name] = u;
    u.__box = box;
    return u;
  }

  function resizeAll(width) {
    for (const u of Object.values(charts)) {
      const w = width || widthOf(u.__box);
      if (Math.abs(w - u.width) >= 1) u.setSize({ width: w, height: u.height });
    }
  }

  // ---------------------------------------------------------------- the run's series

  // The equity's daily series, derived once: wealth compounds the daily returns (1 on the first
  // day, which has none), as the analytics metrics do, so the charts agree with the metrics.
  function equitySeries(report) {
    const rows = (report.equity || []).filter((e) => isNum(dateSec(e.date)));
    const x = rows.map((e) => dateSec(e.date));
    const hasBench = report.backtest && report.backtest.benchmark != null &&
      rows.some((e) => isNum(e.benchmark_return));
    let w = 1;
    let bw = 1;
    let high = 1;
    const wealth = [];
    const cum = [];
    const bench = [];
    const drawdown = [];
    rows.forEach((e, i) => {
      if (isNum(e.return)) w *= 1 + e.return;
      wealth.push(w);
      cum.push(w - 1);
      high = Math.max(high, w);
      drawdown.push(w / high - 1);
      if (!hasBench) return;
      if (isNum(e.benchmark_return)) {
        bw *= 1 + e.benchmark_return;
        bench.push(bw - 1);
      } else {
        bench.push(i === 0 ? 0 : null);
      }
    });
    return { rows, x, wealth, cum, bench: hasBench ? bench : null, drawdown, hasBench };
  }

  // Drawdown periods of the wealth series, deepest first: peak (last day at the high), trough,
  // recovery (first day back at the high, or null) and the calendar days under water counted as
  // the metrics count them (first day below the high to the last, inclusive).
  function drawdownPeriods(eq) {
    const out = [];
    let peak = 0;
    let cur = null;
    for (let i = 0; i < eq.wealth.length; i++) {
      const w = eq.wealth[i];
      if (w >= eq.wealth[peak] && cur == null) {
        peak = i;
        continue;
      }
      if (cur == null) cur = { peak, trough: i, depth: w / eq.wealth[peak] - 1 };
      if (w >= eq.wealth[cur.peak]) {
        cur.recovery = i;
        out.push(cur);
        cur = null;
        peak = i;
        continue;
      }
      const d = w / eq.wealth[cur.peak] - 1;
      if (d < cur.depth) {
        cur.depth = d;
        cur.trough = i;
      }
    }
    if (cur != null) {
      cur.recovery = null;
      out.push(cur);
    }
    for (const p of out) {
      const first = eq.x[p.peak + 1];
      const last = p.recovery != null ? eq.x[p.recovery - 1] : eq.x[eq.x.length - 1];
      p.days = Math.round((last - first) / 86400) + 1;
    }
    return out.sort((a, b) => a.depth - b.depth);
  }

  // ---------------------------------------------------------------- header and headline

  function header(report, eq) {
    const bt = report.backtest || {};
    const name = bt.strategy ? `Backtest: ${bt.strategy}` : 'Backtest report';
    $('#title').textContent = name;
    document.title = name + (bt.start ? ` (${String(bt.start).slice(0, 10)} to ` +
      `${String(bt.end || '').slice(0, 10)})` : '');
    const parts = [];
    if (bt.start || bt.end) {
      parts.push(`${String(bt.start || '?').slice(0, 10)} to ${String(bt.end || '?').slice(0, 10)}`);
    }
    if (eq.x.length) parts.push(`${int(eq.x.length)} trading days`);
    parts.push(bt.benchmark != null ? `benchmark ${bt.benchmark}` : 'no benchmark configured');
    if (isNum(bt.initial_cash)) parts.push(`initial cash ${money(bt.initial_cash)}`);
    $('#subtitle').textContent = parts.join(' \u00b7 ');

    const facts = $('#run-facts');
    const fact = (k, ...v) => facts.append(el('dt', { text: k }), el('dd', {}, ...v));
    if (bt.config != null) fact('Config', el('code', { text: bt.config }));
    if (Array.isArray(bt.data) && bt.data.length) {
      fact('Data', ...bt.data.map((d, i) => [i ? ', ' : '', el('code', { text: d })]));
    }
    if (bt.start || bt.end) fact('Simulated clock', `${bt.start || '?'} to ${bt.end || '?'}`);
    if (isNum(bt.events)) fact('Events replayed', int(bt.events));
    if (Array.isArray(bt.engines) && bt.engines.length) fact('Engines', bt.engines.join(', '));
  }

  function headline(report, eq) {
    const m = report.metrics || {};
    const trades = report.trades || [];
    const orders = report.orders || {};
    const box = $('#headline');
    const kpi = (id, label, value, cls, sub, title) => box.append(
      el('div', { class: 'kpi', id: 'kpi-' + id, title },
        el('div', { class: 'label', text: label }),
        el('div', { class: 'value ' + (cls || ''), text: value }),
        el('div', { class: 'sub', text: sub || '\u00a0' })));
    const benchCum = eq.bench ? eq.bench.filter((v) => v != null).pop() : null;
    kpi('total-return', 'Total return', pct(m.cum_returns_final), signClass(m.cum_returns_final),
      eq.hasBench ? `benchmark ${pct(benchCum)}` : 'no benchmark configured');
    const years = eq.x.length > 1 ? (eq.x[eq.x.length - 1] - eq.x[0]) / (365.25 * 86400) : null;
    kpi('cagr', 'CAGR', pct(m.annual_return), signClass(m.annual_return),
      years != null ? `over ${num(years, 1)} years` : '',
      'Compound annual growth rate: (1 + total return)^(252 / days with a return) - 1');
    kpi('sharpe', 'Sharpe ratio', ratio(m.sharpe_ratio), '',
      `Sortino ${ratio(m.sortino_ratio)}`, 'Annualised, risk-free rate 0');
    let ddSub = '';
    if (isNum(m.max_drawdown) && m.max_drawdown < 0) {
      ddSub = (isNum(m.max_drawdown_days) ? `${int(m.max_drawdown_days)} days, ` : '') +
        (m.max_drawdown_recovery ? `recovered ${m.max_drawdown_recovery}` : 'not recovered');
    } else if (isNum(m.max_drawdown)) {
      ddSub = 'no drawdown';
    }
    kpi('max-drawdown', 'Max drawdown', pct(m.max_drawdown), signClass(m.max_drawdown), ddSub);
    kpi('volatility', 'Volatility', pct(m.annual_volatility, 2, false), '', 'annualised');
    const subs = [];
    if (isNum(orders.submitted)) subs.push(`${int(orders.submitted)} orders`);
    if (isNum(orders.denied)) subs.push(`${int(orders.denied)} denied`);
    kpi('trades', 'Trades', int(isNum(report.trades_total) ? report.trades_total : trades.length), '',
      subs.join(' \u00b7 '));
    const last = eq.rows.length ? eq.rows[eq.rows.length - 1] : null;
    if (last && isNum(last.nav)) {
      const bt = report.backtest || {};
      kpi('nav', 'Final NAV', int(last.nav), '',
        isNum(bt.initial_cash) ? `from ${int(bt.initial_cash)}` : '', money(last.nav));
    }
  }

  // ---------------------------------------------------------------- performance charts

  function cumulativeChart(report, eq) {
    const fig = 'fig-cumulative';
    if (eq.x.length === 0) return note(fig, 'No equity in the report: the run recorded no daily NAV.');
    const m = report.metrics || {};
    const bt = report.backtest || {};
    const series = [
      { value: (u, v) => isoDate(v) },
      { label: 'Strategy', stroke: COLORS.strategy, width: 2, value: (u, v) => pct(v) },
    ];
    const data = [eq.x, eq.cum];
    if (eq.bench) {
      series.push({ label: `Benchmark (${bt.benchmark})`, stroke: COLORS.benchmark, width: 1.5,
        value: (u, v) => pct(v) });
      data.push(eq.bench);
    }
    // The maximum drawdown as the metrics give it, shaded.
    const plugins = [hlines([{ value: 0 }])];
    let shade = '';
    if (isNum(m.max_drawdown) && m.max_drawdown < 0) {
      const from = m.max_drawdown_peak ? dateSec(m.max_drawdown_peak) : eq.x[0];
      const to = m.max_drawdown_recovery ? dateSec(m.max_drawdown_recovery)
        : eq.x[eq.x.length - 1];
      plugins.unshift(span(from, to, 'rgba(198, 40, 40, 0.07)'));
      shade = ` Shaded: the maximum drawdown (${pct(m.max_drawdown)}), from its peak ` +
        `${m.max_drawdown_peak || 'at the start'} to ` +
        `${m.max_drawdown_recovery ? 'its recovery ' + m.max_drawdown_recovery : 'the end (not recovered)'}.`;
    }
    plugins.push(tooltip((x) => isoDate(x), (i) => {
      const r = eq.rows[i];
      return isNum(r.nav) ? [['NAV', money(r.nav)]] : [];
    }));
    chart('cumulative', fig, {
      series,
      // A flat line (a run that never traded) sits in a band of +-1%, not uPlot's 0 to 100.
      scales: { y: { range: (u, min, max) => (min === max ? [min - 0.01, max + 0.01]
        : [min - (max - min) * 0.05, max + (max - min) * 0.05]) } },
      axes: [axis(), axis(pctTicks, { size: 64 })],
      plugins,
    }, data);
    const flat = eq.cum.every((v) => v === 0);
    hint(fig, (eq.hasBench ? 'The strategy against its benchmark, '
      : 'No benchmark configured: the strategy alone, ') +
      'daily returns compounded from the first day.' +
      (flat ? ' The NAV did not change during the run.' : shade) +
      ' Drag across any time chart to zoom them all to the same dates, double-click to reset.');
  }

  function drawdownChart(report, eq) {
    const fig = 'fig-drawdown';
    if (eq.x.length === 0) return note(fig, 'No equity in the report: no drawdown to draw.');
    const deepest = minOf(eq.drawdown);
    if (!(deepest < 0)) {
      return note(fig, 'No drawdown: the strategy\u2019s wealth never fell below its high.');
    }
    const at = eq.drawdown.indexOf(deepest);
    chart('drawdown', fig, {
      series: [
        { value: (u, v) => isoDate(v) },
        { label: 'Drawdown', stroke: COLORS.neg, width: 1.25, fill: 'rgba(198, 40, 40, 0.18)',
          value: (u, v) => pct(v) },
      ],
      scales: { y: { range: (u, min) => [Math.min(min * 1.08, -0.001), 0] } },
      axes: [axis(), axis(pctTicks, { size: 64 })],
      plugins: [tooltip((x) => isoDate(x))],
    }, [eq.x, eq.drawdown]);
    hint(fig, `Fall of wealth from its running high (the daily returns compounded). Deepest: ` +
      `${pct(deepest)} on ${isoDate(eq.x[at])}.`);
  }

  function rollingChart(report, key) {
    const sharpe = key === 'sharpe';
    const fig = sharpe ? 'fig-rolling-sharpe' : 'fig-rolling-volatility';
    const name = sharpe ? 'rolling_sharpe' : 'rolling_volatility';
    const r = report.rolling;
    const m = report.metrics || {};
    if (!r || !Array.isArray(r.dates) || r.dates.length === 0) {
      return note(fig, 'No rolling statistics in the report.');
    }
    const w = isNum(r.window) ? r.window : null;
    const title = document.querySelector('#' + fig + ' h3');
    title.textContent = `Rolling ${sharpe ? 'Sharpe ratio' : 'volatility'}` +
      (w ? ` (${w} days)` : '');
    const x = r.dates.map(dateSec);
    if (!Array.isArray(r[key])) {
      return note(fig, `No rolling ${sharpe ? 'Sharpe ratio' : 'volatility'} in the report` +
        (w != null && w < 2 ? ` (a window of ${w} day${w === 1 ? '' : 's'} has none).` : '.'));
    }
    const y = r[key].map((v) => (isNum(v) ? v : null));
    if (!y.some((v) => v != null)) {
      return note(fig, r.dates.length < (w || 0)
        ? `No ${w}-day window has ended: the run has ${int(r.dates.length)} daily returns.`
        : `No value in any ${w || ''}-day window${sharpe
          ? ': the returns have no variance in any of them' : ''}.`);
    }
    const full = sharpe ? m.sharpe_ratio : m.annual_volatility;
    const fmt = sharpe ? (v) => ratio(v) : (v) => pct(v, 2, false);
    chart(name, fig, {
      series: [
        { value: (u, v) => isoDate(v) },
        { label: sharpe ? 'Sharpe ratio' : 'Volatility (annualised)',
          stroke: sharpe ? COLORS.strategy : COLORS.accent, width: 1.5, value: (u, v) => fmt(v) },
      ],
      axes: [axis(), axis(sharpe ? numTicks(1) : (u, s, a, sp, inc) =>
        pctTicks(u, s, a, sp, inc).map((t) => t.replace('+', '')), { size: 56 })],
      plugins: [
        hlines([{ value: 0 }, { value: full, color: COLORS.axis, dash: [5, 4] }]),
        tooltip((v) => isoDate(v)),
      ],
    }, [x, y]);
    const warm = y.findIndex((v) => v != null);
    hint(fig, `Over the last ${w || '?'} daily returns, annualised (252 days a year)` +
      (sharpe ? ', risk-free rate 0' : '') + `. Dashed: the whole run's ` +
      `${sharpe ? 'Sharpe ratio' : 'volatility'}, ${fmt(full)}.` +
      (warm > 0 ? ` Starts on ${r.dates[warm]}, once the first window is full.` : ''));
  }

  // Each bar's value over (or under) it, so the chart reads on paper too.
  function barLabels(grouped) {
    return {
      hooks: {
        draw: [(u) => {
          const { ctx } = u;
          ctx.save();
          ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
          ctx.textAlign = 'center';
          const colWid = u.bbox.width / (u.scales.x.max - u.scales.x.min);
          for (let s = 1; s < u.series.length; s++) {
            if (!u.series[s].show) continue;
            const off = !grouped ? 0 : (s === 1 ? -0.18 : 0.18) * colWid;
            ctx.fillStyle = s === 1 ? COLORS.strategy : COLORS.axis;
            u.data[s].forEach((v, i) => {
              if (v == null) return;
              const x = u.valToPos(u.data[0][i], 'x', true) + off;
              const y = u.valToPos(v, 'y', true);
              ctx.textBaseline = v >= 0 ? 'bottom' : 'top';
              ctx.fillText(pct(v, 1), x, y + (v >= 0 ? -3 : 3) * devicePixelRatio);
            });
          }
          ctx.restore();
        }],
      },
    };
  }

  function yearlyChart(report, eq) {
    const fig = 'fig-yearly';
    const m = report.metrics || {};
    const yearly = (m.yearly_returns || []).filter((p) => isNum(p.year));
    if (yearly.length === 0) return note(fig, 'No yearly returns in the metrics.');
    if (yearly.every((p) => p.return === 0) && !eq.hasBench) {
      return note(fig, `Every yearly return is ${pct(0)}: the NAV did not change.`);
    }
    // The benchmark's calendar years, compounded from its daily returns.
    const benchByYear = new Map();
    if (eq.hasBench) {
      eq.rows.forEach((e) => {
        if (!isNum(e.benchmark_return)) return;
        const year = Number(String(e.date).slice(0, 4));
        benchByYear.set(year, (benchByYear.get(year) ?? 1) * (1 + e.benchmark_return));
      });
    }
    const first = eq.x.length ? new Date(eq.x[0] * 1000) : null;
    const last = eq.x.length ? new Date(eq.x[eq.x.length - 1] * 1000) : null;
    const partial = (year) => (first && year === first.getUTCFullYear() &&
      (first.getUTCMonth() > 0 || first.getUTCDate() > 7)) ||
      (last && year === last.getUTCFullYear() &&
      (last.getUTCMonth() < 11 || last.getUTCDate() < 24));
    const labels = yearly.map((p) => String(p.year) + (partial(p.year) ? '*' : ''));
    const x = yearly.map((_, i) => i);
    const series = [
      { value: (u, v) => labels[v] },
      { label: 'Strategy', stroke: COLORS.strategy, fill: 'rgba(31, 95, 191, 0.75)', width: 0,
        paths: uPlot.paths.bars({ size: [eq.hasBench ? 0.36 : 0.5, 90], align: eq.hasBench ? -1 : 0 }),
        points: { show: false }, value: (u, v) => pct(v) },
    ];
    const data = [x, yearly.map((p) => (isNum(p.return) ? p.return : null))];
    if (eq.hasBench) {
      series.push({ label: `Benchmark (${report.backtest.benchmark})`, stroke: COLORS.benchmark,
        fill: 'rgba(138, 143, 152, 0.7)', width: 0,
        paths: uPlot.paths.bars({ size: [0.36, 90], align: 1 }), points: { show: false },
        value: (u, v) => pct(v) });
      data.push(yearly.map((p) => (benchByYear.has(p.year) ? benchByYear.get(p.year) - 1 : null)));
    }
    chart('yearly', fig, {
      scales: {
        x: { time: false, range: [-0.5, yearly.length - 0.5] },
        y: { range: (u, min, max) => {
          const lo = Math.min(0, min);
          const hi = Math.max(0, max);
          const pad = (hi - lo) * 0.1 || 0.01;
          return [lo < 0 ? lo - pad : 0, hi > 0 ? hi + pad : 0];
        } },
      },
      series,
      axes: [
        axis((u, splits) => splits.map((v) => (Number.isInteger(v) ? labels[v] ?? '' : '')),
          { splits: () => x, grid: { show: false } }),
        axis(pctTicks, { size: 64 }),
      ],
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      plugins: [hlines([{ value: 0, color: COLORS.axis }]), barLabels(eq.hasBench),
        tooltip((v) => labels[v])],
    }, data);
    hint(fig, 'Compounded daily returns per calendar year (the metrics\u2019 yearly returns)' +
      (eq.hasBench ? '; the benchmark\u2019s from its daily returns.' : '; no benchmark configured.') +
      (labels.some((l) => l.endsWith('*')) ? ' * a year the run covers only in part.' : ''));
  }

  function distributionChart(report, eq) {
    const fig = 'fig-distribution';
    const m = report.metrics || {};
    const r = eq.rows.map((e) => e.return).filter(isNum);
    if (r.length < 2) return note(fig, 'Fewer than two daily returns: no distribution to draw.');
    const lo = minOf(r);
    const hi = maxOf(r);
    if (lo === hi) {
      return note(fig, `Every daily return is ${pct(lo)}: no distribution to draw.`);
    }
    const n = r.length;
    const mean = r.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(r.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (n - 1));
    // Freedman-Diaconis bin width, between 10 and 80 bins.
    const sorted = r.slice().sort((a, b) => a - b);
    const q = (p) => {
      const h = (n - 1) * p;
      const i = Math.floor(h);
      return sorted[i] + (h - i) * ((sorted[Math.min(i + 1, n - 1)]) - sorted[i]);
    };
    const iqr = q(0.75) - q(0.25);
    let bins = iqr > 0 ? Math.ceil((hi - lo) / (2 * iqr / Math.cbrt(n))) : 20;
    bins = Math.min(80, Math.max(10, bins));
    const width = (hi - lo) / bins;
    const counts = new Array(bins).fill(0);
    for (const v of r) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
    const centers = counts.map((_, i) => lo + (i + 0.5) * width);
    const normal = centers.map((c) => n * width * Math.exp(-0.5 * ((c - mean) / sd) ** 2) /
      (sd * Math.sqrt(2 * Math.PI)));
    const lines = [{ value: mean, label: `mean ${pct(mean)}`, color: COLORS.strategy }];
    if (isNum(m.value_at_risk)) {
      lines.push({ value: m.value_at_risk, label: `VaR 95% ${pct(m.value_at_risk)}`,
        color: COLORS.neg, align: 'right' });
    }
    chart('distribution', fig, {
      scales: { x: { time: false, range: [lo - width, hi + width] }, y: { range: (u, a, b) => [0, b * 1.1] } },
      series: [
        { value: (u, v) => pct(v) },
        { label: 'Days', stroke: COLORS.strategy, fill: 'rgba(31, 95, 191, 0.55)', width: 0,
          paths: uPlot.paths.bars({ size: [0.92, Infinity], align: 0 }), points: { show: false },
          value: (u, v) => int(v) },
        { label: 'Normal, same mean and sd', stroke: COLORS.accent, width: 1.5,
          points: { show: false }, value: (u, v) => num(v, 1) },
      ],
      axes: [axis(pctTicks), axis(numTicks(0), { size: 44 })],
      cursor: { drag: { x: false, y: false } },
      plugins: [vlines(lines), tooltip((v) => `${pct(v - width / 2)} to ${pct(v + width / 2)}`)],
    }, [centers, counts, normal]);
    hint(fig, `${int(n)} daily returns in ${bins} bins of ${pct(width, 3, false)}, against a ` +
      `normal law of the same mean and standard deviation; skew ${ratio(m.skew)}, excess ` +
      `kurtosis ${ratio(m.kurtosis)}. Dashed: the mean` +
      (isNum(m.value_at_risk) ? ' and the daily 95% value at risk.' : '.'));
  }

  // ---------------------------------------------------------------- tables: months, drawdowns

  // A colour between white and green (gains) or red (losses), by |v| / scale.
  function heat(v, scale) {
    if (!isNum(v) || scale <= 0) return '';
    const t = Math.min(1, Math.abs(v) / scale) ** 0.8;
    const [r, g, b] = v >= 0 ? [26, 127, 55] : [198, 40, 40];
    const mix = (c) => Math.round(255 + (c - 255) * t * 0.85);
    const text = t > 0.6 ? '#fff' : '#1b1f24';
    return `background:rgb(${mix(r)},${mix(g)},${mix(b)});color:${text}`;
  }

  function monthlyTable(report) {
    const fig = 'fig-monthly';
    const m = report.metrics || {};
    const monthly = (m.monthly_returns || []).filter((p) => isNum(p.year) && isNum(p.month));
    if (monthly.length === 0) return note(fig, 'No monthly returns in the metrics.');
    const years = [...new Set(monthly.map((p) => p.year))].sort((a, b) => a - b);
    const cell = new Map(monthly.map((p) => [`${p.year}-${p.month}`, p.return]));
    const yearly = new Map((m.yearly_returns || []).map((p) => [p.year, p.return]));
    const scale = maxOf([0, ...monthly.map((p) => (isNum(p.return) ? Math.abs(p.return) : 0))]);
    const yscale = maxOf([0, ...[...yearly.values()].filter(isNum).map(Math.abs)]);
    const head = el('tr', {}, el('th', { class: 'l', text: 'Year' }),
      MONTHS.map((mo) => el('th', { text: mo })), el('th', { class: 'year', text: 'Whole year' }));
    const body = years.map((y) => el('tr', {},
      el('th', { class: 'l', text: String(y) }),
      MONTHS.map((mo, i) => {
        const key = `${y}-${i + 1}`;
        if (!cell.has(key)) return el('td', { class: 'empty' });
        const v = cell.get(key);
        return el('td', { style: heat(v, scale), title: `${mo} ${y}: ${pct(v)}`, text: pct(v, 1) });
      }),
      el('td', { class: 'year', style: heat(yearly.get(y), yscale), text: pct(yearly.get(y), 1),
        title: `${y}: ${pct(yearly.get(y))}` })));
    $('#monthly').replaceChildren(el('table', { class: 'heatmap', id: 'monthly-table' },
      el('thead', {}, head), el('tbody', {}, body)));
    hint(fig, 'Compounded daily returns per calendar month, and the year\u2019s in the last ' +
      `column. Colour: green for gains, red for losses, full at ${pct(scale, 1, false)} ` +
      '(the largest month); hover a cell for two decimals.');
  }

  function worstDrawdownsTable(eq) {
    const fig = 'fig-worst-drawdowns';
    if (eq.x.length === 0) return note(fig, 'No equity in the report.');
    const periods = drawdownPeriods(eq).slice(0, 5);
    if (periods.length === 0) {
      return note(fig, 'No drawdown: the strategy\u2019s wealth never fell below its high.');
    }
    const rows = periods.map((p, k) => el('tr', {},
      el('td', { class: 'l', text: String(k + 1) }),
      el('td', { class: 'l', text: isoDate(eq.x[p.peak]) }),
      el('td', { class: 'l', text: isoDate(eq.x[p.trough]) }),
      el('td', { class: 'l', text: p.recovery != null ? isoDate(eq.x[p.recovery]) : 'not recovered' }),
      el('td', { class: 'neg', text: pct(p.depth) }),
      el('td', { text: int(p.days) })));
    $('#worst-drawdowns').replaceChildren(el('table', { id: 'worst-drawdowns-table' },
      el('thead', {}, el('tr', {}, ['#', 'Peak', 'Trough', 'Recovery'].map((h) =>
        el('th', { class: 'l', text: h })), el('th', { text: 'Depth' }),
      el('th', { text: 'Days under water' }))),
      el('tbody', {}, rows)));
    hint(fig, 'The five deepest falls of wealth below a previous high, from the daily returns. ' +
      'Days under water: calendar days from the first day below the high to the last.');
  }

  // ---------------------------------------------------------------- positions and execution

  function exposureChart(report, eq) {
    const fig = 'fig-exposure';
    if (eq.x.length === 0) return note(fig, 'No equity in the report: no exposure to draw.');
    const frac = (k) => eq.rows.map((e) => (isNum(e[k]) && isNum(e.nav) && e.nav !== 0
      ? e[k] / e.nav : null));
    const gross = frac('gross_exposure');
    const net = frac('net_exposure');
    if (!gross.some((v) => v) && !net.some((v) => v)) {
      return note(fig, 'No exposure: the strategy held no position during the run.');
    }
    chart('exposure', fig, {
      series: [
        { value: (u, v) => isoDate(v) },
        { label: 'Gross (long + |short|)', stroke: COLORS.accent, width: 1.5,
          fill: 'rgba(179, 92, 0, 0.08)', value: (u, v) => pct(v, 1, false) },
        { label: 'Net (long \u2212 |short|)', stroke: COLORS.strategy, width: 1.5,
          value: (u, v) => pct(v, 1) },
      ],
      axes: [axis(), axis(pctTicks, { size: 60 })],
      plugins: [hlines([{ value: 0, color: COLORS.axis }]), tooltip((x) => isoDate(x), (i) => {
        const e = eq.rows[i];
        return [['Gross', money(e.gross_exposure)], ['Net', money(e.net_exposure)],
          ['Cash', money(e.cash)]];
      })],
    }, [eq.x, gross, net]);
    const mean = (a) => {
      const v = a.filter(isNum);
      return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
    };
    hint(fig, `Market value of the positions at each day\u2019s close, as a share of NAV. ` +
      `Average gross ${pct(mean(gross), 1, false)}, net ${pct(mean(net), 1)}.`);
  }

  function barsChart(report) {
    const fig = 'fig-bars';
    const b = report.bars;
    if (!b || b.symbol == null) {
      return note(fig, 'No bars symbol configured for the report: no price chart.');
    }
    document.querySelector('#' + fig + ' h3').textContent = `${b.symbol}: bars and fills`;
    const bars = (b.points || []).map((p) => Object.assign({ t: tsSec(p.ts) }, p))
      .filter((p) => isNum(p.t) && isNum(p.open) && isNum(p.high) && isNum(p.low) && isNum(p.close))
      .sort((p, q) => p.t - q.t);
    if (bars.length === 0) return note(fig, `No bars for ${b.symbol} in the report.`);
    // Fills at the same second on the same side are one marker at their average price.
    const fills = new Map();
    for (const f of b.fills || []) {
      const t = tsSec(f.ts);
      if (!isNum(t) || !isNum(f.price)) continue;
      const side = f.side === 'sell' ? 'sell' : 'buy';
      const key = `${side}@${t}`;
      const q = isNum(f.quantity) ? f.quantity : 0;
      const g = fills.get(key) || { t, side, qty: 0, notional: 0, n: 0, sum: 0 };
      g.qty += q;
      g.notional += q * f.price;
      g.sum += f.price;
      g.n++;
      fills.set(key, g);
    }
    const fillList = [...fills.values()].sort((p, q) => p.t - q.t);
    const price = (g) => (g.qty > 0 ? g.notional / g.qty : g.sum / g.n);
    const buys = fillList.filter((g) => g.side === 'buy');
    const sells = fillList.filter((g) => g.side === 'sell');
    const data = uPlot.join([
      [bars.map((p) => p.t), bars.map((p) => p.open), bars.map((p) => p.high),
        bars.map((p) => p.low), bars.map((p) => p.close),
        bars.map((p) => (isNum(p.volume) ? p.volume : null))],
      [buys.map((g) => g.t), buys.map(price)],
      [sells.map((g) => g.t), sells.map(price)],
    ]);
    const fillAt = new Map(fillList.map((g) => [`${g.side}@${g.t}`, g]));
    const spacing = bars.length > 1
      ? bars.slice(1).map((p, i) => p.t - bars[i].t).sort((a, c) => a - c)[
        Math.floor((bars.length - 1) / 2)]
      : 86400;
    const hide = { paths: () => null, points: { show: false } };
    const fmtT = spacing >= 86400 ? (t) => isoDate(t) : (t) => isoMinute(t) + ' UTC';

    // Candles under the series (volume, markers): wick high-low, body open-close.
    const candles = {
      hooks: {
        drawAxes: [(u) => {
          const { ctx, bbox } = u;
          const [xs, o, h, l, c] = u.data;
          const pxPerSec = bbox.width / (u.scales.x.max - u.scales.x.min);
          const bodyW = Math.max(1, Math.min(24 * devicePixelRatio, spacing * pxPerSec * 0.7));
          ctx.save();
          ctx.beginPath();
          ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
          ctx.clip();
          for (let i = 0; i < xs.length; i++) {
            if (o[i] == null) continue;
            const x = u.valToPos(xs[i], 'x', true);
            if (x < bbox.left - bodyW || x > bbox.left + bbox.width + bodyW) continue;
            const up = c[i] >= o[i];
            ctx.strokeStyle = ctx.fillStyle = up ? COLORS.pos : COLORS.neg;
            ctx.lineWidth = Math.max(1, devicePixelRatio);
            const yh = u.valToPos(h[i], 'y', true);
            const yl = u.valToPos(l[i], 'y', true);
            ctx.beginPath();
            ctx.moveTo(Math.round(x) + 0.5, yh);
            ctx.lineTo(Math.round(x) + 0.5, yl);
            ctx.stroke();
            if (bodyW >= 3) {
              const yo = u.valToPos(o[i], 'y', true);
              const yc = u.valToPos(c[i], 'y', true);
              const top = Math.min(yo, yc);
              const hgt = Math.max(1, Math.abs(yo - yc));
              if (up) {
                ctx.fillStyle = '#fff';
                ctx.fillRect(x - bodyW / 2, top, bodyW, hgt);
                ctx.strokeRect(x - bodyW / 2 + 0.5, top + 0.5, bodyW - 1, Math.max(0, hgt - 1));
              } else {
                ctx.fillRect(x - bodyW / 2, top, bodyW, hgt);
              }
            }
          }
          ctx.restore();
        }],
        // Fill markers on top: a triangle up under a buy, down above a sell.
        draw: [(u) => {
          const { ctx, bbox } = u;
          const s = 6 * devicePixelRatio;
          ctx.save();
          ctx.beginPath();
          ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
          ctx.clip();
          for (const [idx, color, dir] of [[6, COLORS.strategy, 1], [7, COLORS.accent, -1]]) {
            if (!u.series[idx].show) continue;
            ctx.fillStyle = color;
            ctx.strokeStyle = '#fff';
            ctx.lineWidth = devicePixelRatio;
            const ys = u.data[idx];
            for (let i = 0; i < ys.length; i++) {
              if (ys[i] == null) continue;
              const x = u.valToPos(u.data[0][i], 'x', true);
              const y = u.valToPos(ys[i], 'y', true);
              ctx.beginPath();
              ctx.moveTo(x, y);
              ctx.lineTo(x - s, y + dir * s * 1.6);
              ctx.lineTo(x + s, y + dir * s * 1.6);
              ctx.closePath();
              ctx.fill();
              ctx.stroke();
            }
          }
          ctx.restore();
        }],
      },
    };
    const u = chart('bars', fig, {
      series: [
        { value: (u, v) => fmtT(v) },
        Object.assign({ label: 'Open', value: (u, v) => money(v) }, hide),
        Object.assign({ label: 'High', value: (u, v) => money(v) }, hide),
        Object.assign({ label: 'Low', value: (u, v) => money(v) }, hide),
        Object.assign({ label: 'Close', value: (u, v) => money(v) }, hide),
        { label: 'Volume', scale: 'volume', stroke: '#b8c2cc', fill: 'rgba(138, 143, 152, 0.28)',
          width: 0, paths: uPlot.paths.bars({ size: [0.7, 24], align: 0 }),
          points: { show: false }, value: (u, v) => int(v) },
        Object.assign({ label: 'Buy fill', stroke: COLORS.strategy, value: (u, v) => money(v) }, hide),
        Object.assign({ label: 'Sell fill', stroke: COLORS.accent, value: (u, v) => money(v) }, hide),
      ],
      scales: {
        volume: { range: (u, min, max) => [0, (max || 1) * 4.5] },
        y: { range: (u, min, max) => {
          const pad = (max - min) * 0.06 || Math.abs(max) * 0.01 || 1;
          return [min - pad, max + pad];
        } },
      },
      axes: [axis(), axis(numTicks(2), { size: 64 })],
      legend: { show: false },
      cursor: { points: { show: false } },
      plugins: [candles, tooltip((x) => fmtT(x), (i) => {
        const t = data[0][i];
        const rows = [];
        for (const side of ['buy', 'sell']) {
          const g = fillAt.get(`${side}@${t}`);
          if (g) rows.push([`${side === 'buy' ? 'Bought' : 'Sold'} at ${isoSecond(t)}`, int(g.qty)]);
        }
        return rows;
      })],
    }, data);
    // Daily bars over a long run are a pixel wide: start on the last six months.
    const show = 126;
    let view = '';
    if (bars.length > show * 1.5) {
      u.setScale('x', { min: bars[bars.length - show].t - spacing, max: bars[bars.length - 1].t + spacing });
      view = ` Showing the last ${show} of ${int(bars.length)}: drag to zoom, double-click ` +
        'for the whole run.';
    }
    const key = (color, up) => el('span', { style: `color:${color}`, text: up ? '\u25b2' : '\u25bc' });
    const merged = isNum(b.bars_per_point) && b.bars_per_point > 1
      ? ` Each candle is ${int(b.bars_per_point)} bars merged (the report keeps at most 4,096).` : '';
    hint(fig, `${int(bars.length)} ${merged ? 'candles' : 'bars'} of ${b.symbol} (hollow green: up, red: down; grey: ` +
      'volume) and the strategy\u2019s fills on it: ', key(COLORS.strategy, true),
    ` ${int(buys.length)} buys, `, key(COLORS.accent, false), ` ${int(sells.length)} sells.`, merged,
    view);
  }

  // A faint red line down the chart at each alert, under the series.
  function alertLines(times) {
    return {
      hooks: {
        drawAxes: [(u) => {
          const { ctx, bbox } = u;
          ctx.save();
          ctx.strokeStyle = 'rgba(198, 40, 40, 0.35)';
          ctx.lineWidth = devicePixelRatio;
          for (const t of times) {
            const x = Math.round(u.valToPos(t, 'x', true)) + 0.5;
            if (x < bbox.left || x > bbox.left + bbox.width) continue;
            ctx.beginPath();
            ctx.moveTo(x, bbox.top);
            ctx.lineTo(x, bbox.top + bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        }],
      },
    };
  }

  function vpinChart(report) {
    const fig = 'fig-vpin';
    const v = report.vpin;
    const alertsBox = $('#vpin-alerts');
    if (!v || v.symbol == null) {
      alertsBox.remove();
      return note(fig, 'No VPIN symbol configured for the report: order-flow toxicity was not measured.');
    }
    document.querySelector('#' + fig + ' h3').textContent = `VPIN of ${v.symbol} (order-flow toxicity)`;
    const pts = (v.points || []).map((p) => ({ t: tsSec(p.ts), vpin: p.vpin, cdf: p.cdf }))
      .filter((p) => isNum(p.t)).sort((a, b) => a.t - b.t);
    const alerts = (v.alerts || []).map((p) => ({ t: tsSec(p.ts), vpin: p.vpin, cdf: p.cdf, ts: p.ts }))
      .filter((p) => isNum(p.t)).sort((a, b) => a.t - b.t);
    if (pts.length === 0) {
      alertsBox.remove();
      const engines = (report.backtest || {}).engines;
      return note(fig, Array.isArray(engines) && !engines.includes('vpin')
        ? `No VPIN for ${v.symbol}: the VPIN engine is not among the run\u2019s engines.`
        : `No VPIN value for ${v.symbol}: no volume bucket completed during the run.`);
    }
    const data = uPlot.join([
      [pts.map((p) => p.t), pts.map((p) => (isNum(p.vpin) ? p.vpin : null)),
        pts.map((p) => (isNum(p.cdf) ? p.cdf : null))],
      [alerts.map((p) => p.t), alerts.map((p) => (isNum(p.vpin) ? p.vpin : null))],
    ]);
    chart('vpin', fig, {
      series: [
        { value: (u, t) => isoMinute(t) + ' UTC' },
        { label: 'VPIN', stroke: COLORS.strategy, width: 1.25, value: (u, x) => num(x, 3),
          spanGaps: true, points: { show: false } },
        { label: 'CDF of VPIN', stroke: 'rgba(138, 143, 152, 0.55)', width: 1,
          value: (u, x) => num(x, 3), spanGaps: true, points: { show: false } },
        { label: 'Alert', stroke: COLORS.neg, fill: COLORS.neg, paths: () => null,
          points: { show: true, size: 9, width: 1.5, stroke: '#fff', fill: COLORS.neg },
          value: (u, x) => num(x, 3) },
      ],
      scales: { y: { range: [0, 1] } },
      axes: [axis(), axis(numTicks(1), { size: 44 })],
      plugins: [alertLines(alerts.map((a) => a.t)), tooltip((t) => isoMinute(t) + ' UTC')],
    }, data);
    hint(fig, `${int(pts.length)} volume buckets; VPIN (probability of informed trading) and ` +
      `its CDF over the run so far, both from 0 to 1. Red: the ${int(alerts.length)} ` +
      `alert${alerts.length === 1 ? '' : 's'} the VPIN engine raised.`);
    if (alerts.length === 0) {
      alertsBox.replaceChildren(el('div', { class: 'note small', text: 'No VPIN alert during the run.' }));
      return;
    }
    alertsBox.replaceChildren(el('table', { id: 'vpin-alerts-table' },
      el('thead', {}, el('tr', {}, el('th', { class: 'l', text: 'Alert (UTC)' }),
        el('th', { text: 'VPIN' }), el('th', { text: 'CDF' }))),
      el('tbody', {}, alerts.map((a) => el('tr', {},
        el('td', { class: 'l', text: isoSecond(a.t) }), el('td', { text: num(a.vpin, 3) }),
        el('td', { text: num(a.cdf, 3) }))))));
  }

  function ordersTable(report) {
    const fig = 'fig-orders';
    const o = report.orders;
    if (!o) return note(fig, 'No order counts in the report.');
    const share = (a, b) => (isNum(a) && isNum(b) && b > 0 ? pct(a / b, 1, false) : DASH);
    const counts = el('table', { id: 'orders-table' },
      el('thead', {}, el('tr', {}, ['Submitted', 'Filled', 'Cancelled', 'Denied by risk',
        'Fill rate'].map((h) => el('th', { text: h })))),
      el('tbody', {}, el('tr', {}, el('td', { text: int(o.submitted) }),
        el('td', { text: int(o.filled) }), el('td', { text: int(o.cancelled) }),
        el('td', { text: int(o.denied) }), el('td', { text: share(o.filled, o.submitted) }))));
    const reasons = Object.entries(o.denied_by_reason || {}).filter(([, n]) => isNum(n))
      .sort((a, b) => b[1] - a[1]);
    const denied = reasons.length
      ? el('table', { id: 'denied-table', style: 'margin-top:10px' },
        el('thead', {}, el('tr', {}, el('th', { class: 'l', text: 'Denied because' }),
          el('th', { text: 'Orders' }), el('th', { text: 'Share of denials' }))),
        el('tbody', {}, reasons.map(([k, n]) => el('tr', {},
          el('td', { class: 'l' }, el('code', { text: k })), el('td', { text: int(n) }),
          el('td', { text: share(n, o.denied) })))))
      : el('div', { class: 'note small', style: 'margin-top:10px', text: 'No order was denied.' });
    $('#orders').replaceChildren(counts, denied);
    hint(fig, 'The strategy\u2019s orders as the risk engine and the simulated exchange ' +
      'answered them; fill rate: filled / submitted.');
  }

  const TRADE_ROWS = 2000;
  function tradesTable(report) {
    const fig = 'fig-trades';
    const trades = report.trades || [];
    if (trades.length === 0) return note(fig, 'No trades: the strategy did not trade during the run.');
    const box = $('#trades');
    const symbols = [...new Set(trades.map((t) => t.symbol))].sort();
    const select = el('select', { id: 'trade-symbol', 'aria-label': 'Symbol' },
      el('option', { value: '', text: `All symbols (${int(trades.length)})` }),
      symbols.map((s) => el('option', { value: s,
        text: `${s} (${int(trades.filter((t) => t.symbol === s).length)})` })));
    const wrap = el('div', { class: 'table-wrap scroll' });
    const info = el('span', { class: 'hint' });
    box.classList.remove('table-wrap');
    box.replaceChildren(el('div', { class: 'toolbar' }, el('label', {}, 'Symbol ', select), info), wrap);
    const render = () => {
      const only = select.value;
      const list = only ? trades.filter((t) => t.symbol === only) : trades;
      const shown = list.slice(0, TRADE_ROWS);
      let bought = 0;
      let sold = 0;
      let fees = 0;
      for (const t of list) {
        const notional = isNum(t.quantity) && isNum(t.price) ? t.quantity * t.price : 0;
        if (t.side === 'sell') sold += notional; else bought += notional;
        if (isNum(t.commission)) fees += t.commission;
      }
      const rows = shown.map((t) => {
        const notional = isNum(t.quantity) && isNum(t.price) ? t.quantity * t.price : null;
        const t0 = tsSec(t.ts);
        return el('tr', {},
          el('td', { text: t.trade_id ?? DASH }),
          el('td', { class: 'l', text: isNum(t0) ? isoSecond(t0) : String(t.ts ?? DASH) }),
          el('td', { class: 'l', text: t.symbol ?? DASH }),
          el('td', { class: 'l side-' + (t.side === 'sell' ? 'sell' : 'buy'), text: t.side ?? DASH }),
          el('td', { text: num(t.quantity, Number.isInteger(t.quantity) ? 0 : 4) }),
          el('td', { text: money(t.price) }),
          el('td', { text: money(notional) }),
          el('td', { text: money(t.commission) }),
          el('td', { text: t.client_order_id ?? DASH }));
      });
      wrap.replaceChildren(el('table', { id: 'trades-table' },
        el('thead', {}, el('tr', {}, el('th', { text: '#' }), el('th', { class: 'l', text: 'Time (UTC)' }),
          el('th', { class: 'l', text: 'Symbol' }), el('th', { class: 'l', text: 'Side' }),
          ['Quantity', 'Price', 'Notional', 'Commission', 'Order id'].map((h) => el('th', { text: h })))),
        el('tbody', {}, rows),
        el('tfoot', {}, el('tr', {}, el('td', { class: 'l', colspan: 6,
          text: `${int(list.length)} trades: bought ${money(bought)}, sold ${money(sold)}` }),
        el('td', { text: money(bought + sold) }), el('td', { text: money(fees) }), el('td')))));
      info.textContent = list.length > shown.length
        ? `showing the first ${int(shown.length)} of ${int(list.length)}; all are in report.json` : '';
    };
    select.addEventListener('change', render);
    render();
    // The report holds the first 100,000 fills; trades_total counts them all.
    const total = isNum(report.trades_total) ? report.trades_total : trades.length;
    hint(fig, (total > trades.length
      ? `The first ${int(trades.length)} of the run\u2019s ${int(total)} fills (all the report ` +
        'holds), in time order'
      : 'Every fill of the run in time order') +
      ', at the simulated exchange\u2019s price; notional: quantity \u00d7 price.');
  }

  // ---------------------------------------------------------------- the metrics table

  // [key, label, format, explanation]: every key analytics::to_json writes, grouped; keys not
  // listed here (added later) still appear, under "Other".
  const P = (v) => pct(v);
  const date = (v) => (v == null ? DASH : String(v));
  const days = (v) => (isNum(v) ? `${int(v)} days` : DASH);
  const METRICS = [
    ['Returns', [
      ['cum_returns_final', 'Total return', P, 'prod(1 + r) - 1'],
      ['annual_return', 'CAGR', P, 'compound annual growth, 252 days a year'],
      ['best_day', 'Best day', P],
      ['worst_day', 'Worst day', P],
      ['best_month', 'Best month', P],
      ['worst_month', 'Worst month', P],
      ['best_year', 'Best year', P],
      ['worst_year', 'Worst year', P],
    ]],
    ['Risk', [
      ['annual_volatility', 'Volatility', (v) => pct(v, 2, false), 'annualised standard deviation'],
      ['downside_risk', 'Downside risk', (v) => pct(v, 2, false), 'annualised, below 0'],
      ['max_drawdown', 'Max drawdown', P],
      ['max_drawdown_peak', 'Max drawdown: peak', (v, m) => (v == null && m.max_drawdown < 0
        ? 'start of the run' : date(v))],
      ['max_drawdown_trough', 'Max drawdown: trough', date],
      ['max_drawdown_recovery', 'Max drawdown: recovery', (v, m) => (v == null && m.max_drawdown < 0
        ? 'not recovered' : date(v))],
      ['max_drawdown_days', 'Max drawdown: duration', days, 'calendar days under water'],
      ['value_at_risk', 'Daily value at risk (95%)', P, '5th percentile of daily returns'],
      ['conditional_value_at_risk', 'Daily expected shortfall (95%)', P,
        'mean of the worst 5% of days'],
    ]],
    ['Risk-adjusted', [
      ['sharpe_ratio', 'Sharpe ratio', ratio, 'annualised, risk-free rate 0'],
      ['probabilistic_sharpe_ratio', 'Probabilistic Sharpe ratio', (v) => pct(v, 1, false),
        'P(true Sharpe > 0), Bailey & L\u00f3pez de Prado'],
      ['sortino_ratio', 'Sortino ratio', ratio, 'annualised'],
      ['calmar_ratio', 'Calmar ratio', ratio, 'CAGR / |max drawdown|'],
      ['omega_ratio', 'Omega ratio', ratio, 'gains / losses, threshold 0'],
      ['tail_ratio', 'Tail ratio', ratio, '|95th percentile| / |5th percentile|'],
      ['stability_of_timeseries', 'Stability', (v) => num(v, 3),
        'R\u00b2 of cumulative log returns on time'],
    ]],
    ['Daily returns', [
      ['skew', 'Skew', (v) => num(v, 3)],
      ['kurtosis', 'Excess kurtosis', (v) => num(v, 3), '0 for a normal law'],
      ['hit_rate', 'Winning days', (v) => pct(v, 1, false), 'days up / days not flat'],
      ['payoff_ratio', 'Payoff ratio', ratio, 'average up day / |average down day|'],
      ['profit_factor', 'Profit factor', ratio, 'sum of up days / |sum of down days|'],
      ['days', 'Days with a return', int],
      ['missing_days', 'Missing days', int, 'returns left out as NaN'],
    ]],
    ['Against the benchmark', [
      ['alpha', 'Alpha', P, 'annualised (Jensen, CAPM)'],
      ['beta', 'Beta', (v) => num(v, 3)],
      ['information_ratio', 'Information ratio', (v) => num(v, 3),
        'mean / sd of daily excess returns, not annualised'],
      ['benchmark_days', 'Days with both returns', int],
    ]],
  ];
  const TABLE_KEYS = new Set(['monthly_returns', 'yearly_returns']);

  function metricsTable(report) {
    const fig = 'fig-metrics';
    const m = report.metrics;
    if (!m || typeof m !== 'object' || Object.keys(m).length === 0) {
      return note(fig, 'No metrics in the report.');
    }
    const known = new Set(METRICS.flatMap(([, rows]) => rows.map((r) => r[0])));
    const other = Object.keys(m).filter((k) => !known.has(k) && !TABLE_KEYS.has(k) &&
      (m[k] == null || typeof m[k] !== 'object'))
      .map((k) => [k, k.replace(/_/g, ' '), (v) => (isNum(v) ? num(v, 4) : v == null ? DASH : String(v))]);
    const groups = METRICS.concat(other.length ? [['Other', other]] : []);
    const tables = [];
    for (const [group, rows] of groups) {
      const present = rows.filter(([k]) => k in m);
      if (group === 'Against the benchmark' && present.length === 0) {
        tables.push(el('table', { class: 'metrics' }, el('tbody', {},
          el('tr', { class: 'group' }, el('th', { colspan: 2, text: group })),
          el('tr', {}, el('td', { class: 'label na', colspan: 2,
            text: 'No benchmark configured: no alpha, beta or information ratio.' })))));
        continue;
      }
      if (present.length === 0) continue;
      tables.push(el('table', { class: 'metrics' }, el('tbody', {},
        el('tr', { class: 'group' }, el('th', { colspan: 2, text: group })),
        present.map(([k, label, fmt, why]) => {
          const v = m[k];
          const text = fmt(v, m);
          const cls = [text === DASH ? 'na' : '',
            fmt === P ? signClass(v) : ''].join(' ').trim();
          return el('tr', { 'data-key': k },
            el('td', { class: 'label' }, label, why ? el('small', { text: why }) : null),
            el('td', { class: cls || null, text, title: v === null ? 'not defined (NaN)' : null }));
        }))));
    }
    $('#metrics').replaceChildren(el('div', { class: 'metrics-cols' }, tables));
    hint(fig, 'Every metric the analytics engine computed over the run\u2019s daily returns ' +
      '(empyrical\u2019s formulas, QuantStats\u2019 where empyrical has none); ' +
      `${DASH}: not defined for this run (e.g. a ratio of 0 to 0).`);
  }

  // ---------------------------------------------------------------- main

  function build() {
    let report;
    try {
      report = JSON.parse(document.getElementById('report-data').textContent);
    } catch (e) {
      const box = $('#load-error');
      box.hidden = false;
      box.textContent = `This page holds no readable report.json: ${e.message}`;
      console.error('report.json could not be parsed:', e);
      state.ready = true;
      return;
    }
    state.version = report.version;
    if (report.version !== 1) {
      const box = $('#load-error');
      box.hidden = false;
      box.textContent = `This page reads report.json version 1; this one says version ` +
        `${report.version}: parts of it may be missing or misread.`;
    }
    const eq = equitySeries(report);
    // [build, the figure it fills]
    const steps = [
      [() => header(report, eq)], [() => headline(report, eq)],
      [() => cumulativeChart(report, eq), 'fig-cumulative'],
      [() => drawdownChart(report, eq), 'fig-drawdown'],
      [() => rollingChart(report, 'sharpe'), 'fig-rolling-sharpe'],
      [() => rollingChart(report, 'volatility'), 'fig-rolling-volatility'],
      [() => yearlyChart(report, eq), 'fig-yearly'],
      [() => distributionChart(report, eq), 'fig-distribution'],
      [() => monthlyTable(report), 'fig-monthly'],
      [() => worstDrawdownsTable(eq), 'fig-worst-drawdowns'],
      [() => exposureChart(report, eq), 'fig-exposure'],
      [() => barsChart(report), 'fig-bars'], [() => vpinChart(report), 'fig-vpin'],
      [() => ordersTable(report), 'fig-orders'], [() => tradesTable(report), 'fig-trades'],
      [() => metricsTable(report), 'fig-metrics'],
    ];
    // One part that fails (a report this page misreads) leaves the others standing, says so in
    // its place, and on the console, where the page test looks.
    for (const [step, fig] of steps) {
      try {
        step();
      } catch (e) {
        console.error('report: a part of the page failed:', e);
        if (fig) {
          try {
            note(fig, `This part could not be drawn from this report: ${e.message}`);
          } catch (_) { /* the figure itself is gone */ }
        }
      }
    }
    const bt = report.backtest || {};
    $('#generated').textContent = `Generated by Nautilus from the report.json of ` +
      `${bt.config ?? 'a backtest'} (schema version ${report.version ?? '?'}). ` +
      'Times are UTC; all amounts are in the account\u2019s currency.';

    let timer = null;
    window.addEventListener('resize', () => {
      clearTimeout(timer);
      timer = setTimeout(() => resizeAll(), 100);
    });
    // Paper is narrower than the screen: draw the charts for it, and back after.
    window.addEventListener('beforeprint', () => resizeAll(680));
    window.addEventListener('afterprint', () => resizeAll());
    state.ready = true;
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', build);
  else build();
})();
