// The live dashboard: one WebSocket to the websocket engine (/ws on this page's own host), the
// topics below subscribed with JSON control messages, and the bus figures polled from this
// engine's own /messagebus/status. Charts are uPlot; everything else is plain DOM. Updates are
// drawn at most a few times a second, however fast messages come.
"use strict";

(function () {
  const PATTERNS = [
    "system.health.*", "market_data.*.bar", "vpin.calculation.*", "vpin.enhanced.*",
    "toxicity.alert.*", "portfolio.update.account", "position.change.*", "risk.alert.*", "risk.state",
    "margin.alert.*", "collateral.margin.account", "performance.metric.account",
    "backtesting.job.*",
  ];
  const MAX_POINTS = 600;      // per price/VPIN/equity series
  const BUS_POINTS = 120;      // seconds of bus history
  const STALE_S = 35;          // an engine silent this long is marked stale
  const COLORS = { accent: "#58a6ff", accent2: "#bc8cff", good: "#3fb950", warn: "#d29922",
                   bad: "#f85149", muted: "#7f8c9d", grid: "#243040" };

  const $ = (id) => document.getElementById(id);
  const fmtNum = (v, d = 2) => (v === null || v === undefined || !isFinite(v)) ? "—"
    : Number(v).toLocaleString(undefined, { minimumFractionDigits: d, maximumFractionDigits: d });
  const fmtMoney = (v) => (v === null || v === undefined || !isFinite(v)) ? "—"
    : Number(v).toLocaleString(undefined, { maximumFractionDigits: 0 });
  const num = (v) => (v === null || v === undefined) ? NaN : Number(v);
  const signClass = (el, v) => { el.classList.toggle("pos", v > 0); el.classList.toggle("neg", v < 0); };

  // --- state ---
  const engines = new Map();         // name -> {health, seen}
  const bars = new Map();            // symbol -> {x:[], close:[]}
  const vpin = new Map();            // symbol -> {x:[], vpin:[], cdf:[]}
  const toxic = new Map();           // symbol -> [x...]
  const equity = { x: [], nav: [] };
  const positions = new Map();       // symbol -> position_change
  const backtests = new Map();       // id -> backtest_status
  const alerts = [];                 // newest first
  const bus = { x: [], rate: [], p50: [], p99: [], last: null };
  let symbol = null;
  let rx = 0, rxRate = 0, lastMarketTs = 0;
  let dirty = true;

  function push(arrs, vals, max = MAX_POINTS) {
    for (let i = 0; i < arrs.length; i++) arrs[i].push(vals[i]);
    if (arrs[0].length > max) for (const a of arrs) a.splice(0, a.length - max);
  }

  // --- charts ---
  const axis = { stroke: COLORS.muted, grid: { stroke: COLORS.grid, width: 1 }, ticks: { stroke: COLORS.grid } };
  function chart(el, series, opts = {}) {
    const o = {
      width: Math.max(200, el.clientWidth || 400), height: opts.height || 150,
      cursor: { sync: opts.sync ? { key: opts.sync } : undefined },
      scales: { x: opts.time === false ? { time: false, range: (u, lo, hi) => [Math.max(0, lo), Math.max(hi, 1)] } : { time: true } },
      axes: [{ ...axis, values: opts.xvalues }, { ...axis, size: 60, values: opts.values }],
      series: [{}, ...series],
      legend: { show: true },
      hooks: opts.hooks || {},
    };
    const data = [[], ...series.map(() => [])];
    return new uPlot(o, data, el);
  }
  // Market-time charts plot points one after another (x is the point's index) and label the
  // axis with the points' times, as trading charts do: nights and weekends take no room.
  const stamp = (t) => { const d = new Date(t * 1000).toISOString(); return d.slice(5, 10) + " " + d.slice(11, 16); };
  function ordinal(times) {
    return {
      values: (u, splits) => splits.map((i) => {
        const t = times()[Math.round(i)];
        return t === undefined || Math.round(i) !== i ? "" : stamp(t);
      }),
    };
  }
  const idx = (xs) => xs.map((_, i) => i);
  let priceTimes = [], vpinTimes = [];
  function ordChart(el, series, times, opts = {}) {
    return chart(el, series, { ...opts, time: false, xvalues: ordinal(times).values });
  }
  // The alerts' positions among a chart's points (the first point at or after each alert).
  function marksFor(timesOf) {
    return { draw: [(u) => {
      const ts = timesOf(), xs = toxic.get(symbol) || [];
      const ctx = u.ctx;
      ctx.save(); ctx.strokeStyle = COLORS.bad; ctx.lineWidth = 1.5; ctx.setLineDash([4, 3]);
      for (const t of xs) {
        let lo = 0, hi = ts.length;
        while (lo < hi) { const mid = (lo + hi) >> 1; if (ts[mid] < t) lo = mid + 1; else hi = mid; }
        if (lo >= ts.length) continue;
        const px = u.valToPos(lo, "x", true);
        ctx.beginPath(); ctx.moveTo(px, u.bbox.top); ctx.lineTo(px, u.bbox.top + u.bbox.height); ctx.stroke();
      }
      ctx.restore();
    }] };
  }
  const charts = {
    price: ordChart($("price-chart"), [{ label: "close", stroke: COLORS.accent, width: 1.5 }],
      () => priceTimes, { height: 240, hooks: marksFor(() => priceTimes) }),
    vpin: ordChart($("vpin-chart"), [
      { label: "VPIN", stroke: COLORS.accent2, width: 1.5 },
      { label: "CDF", stroke: COLORS.warn, width: 1, dash: [4, 3] }], () => vpinTimes,
      { hooks: marksFor(() => vpinTimes) }),
    equity: ordChart($("equity-chart"), [{ label: "NAV", stroke: COLORS.good, width: 1.5,
      fill: "rgba(63,185,80,0.08)" }], () => equity.x, { values: (u, v) => v.map(fmtMoney) }),
    bus: chart($("bus-chart"), [{ label: "published/s", stroke: COLORS.accent, width: 1.5 }]),
    lat: chart($("lat-chart"), [
      { label: "p50 µs", stroke: COLORS.good, width: 1.5 },
      { label: "p99 µs", stroke: COLORS.warn, width: 1.5 }]),
  };
  window.addEventListener("resize", () => {
    for (const [k, c] of Object.entries(charts)) {
      const el = c.root.parentElement;
      c.setSize({ width: Math.max(200, el.clientWidth), height: k === "price" ? 240 : 150 });
    }
  });

  // --- messages ---
  function onEnvelope(m) {
    const t = m.topic, p = m.payload || {};
    const ts = num(m.ts_event) / 1e9;
    if (t.startsWith("system.health.")) {
      engines.set(p.engine, { h: p, seen: Date.now() });
    } else if (m.type === "bar") {
      if (ts > lastMarketTs) lastMarketTs = ts;
      let b = bars.get(p.symbol);
      if (!b) {
        b = { x: [], close: [] }; bars.set(p.symbol, b);
        const opt = document.createElement("option"); opt.value = opt.textContent = p.symbol;
        $("symbol").appendChild(opt);
        if (!symbol) { symbol = p.symbol; $("symbol").value = symbol; }
      }
      const x = num(p.ts_event) / 1e9;
      if (b.x.length && x <= b.x[b.x.length - 1]) { b.close[b.close.length - 1] = num(p.close); }
      else push([b.x, b.close], [x, num(p.close)]);
    } else if (m.type === "vpin_update") {
      let v = vpin.get(p.symbol);
      if (!v) { v = { x: [], vpin: [], cdf: [] }; vpin.set(p.symbol, v); }
      const x = num(p.ts_event) / 1e9;
      if (!v.x.length || x >= v.x[v.x.length - 1]) push([v.x, v.vpin, v.cdf], [x, num(p.vpin), p.cdf === null ? null : num(p.cdf)]);
    } else if (m.type === "toxicity_alert") {
      const xs = toxic.get(p.symbol) || []; xs.push(num(p.ts_event) / 1e9); toxic.set(p.symbol, xs.slice(-200));
      addAlert("toxicity", `${p.symbol} VPIN ${fmtNum(p.vpin, 3)} (CDF ${fmtNum(p.cdf, 3)} ≥ ${fmtNum(p.threshold, 2)})`, ts);
    } else if (m.type === "portfolio_snapshot") {
      const x = num(p.ts_event) / 1e9;
      if (!equity.x.length || x > equity.x[equity.x.length - 1]) push([equity.x, equity.nav], [x, num(p.nav)]);
      else equity.nav[equity.nav.length - 1] = num(p.nav);
      $("nav").textContent = fmtMoney(num(p.nav));
      const pnl = num(p.realized_pnl) + num(p.unrealized_pnl);
      $("pnl").textContent = fmtMoney(pnl); signClass($("pnl"), pnl);
      $("gross").textContent = fmtMoney(num(p.gross_exposure));
      $("net").textContent = fmtMoney(num(p.net_exposure));
    } else if (m.type === "position_change") {
      positions.set(p.symbol, p);
    } else if (m.type === "risk_alert") {
      $("trading-state").textContent = p.state;
      $("trading-state").className = p.state === "active" ? "pos" : "neg";
      // risk.state is the state in force (at start, then after each change), not an alert.
      if (t !== "risk.state") addAlert("risk", `${p.kind}${p.symbol ? " " + p.symbol : ""}: ${fmtNum(p.value)} / limit ${fmtNum(p.limit)} → ${p.state}`, ts);
    } else if (m.type === "margin_alert") {
      addAlert("margin", `${t.split(".").pop()}: utilisation ${fmtNum(100 * num(p.utilisation), 1)} %`, ts);
    } else if (m.type === "margin_update") {
      const u = num(p.utilisation);
      $("margin-util").textContent = `${fmtNum(100 * u, 1)} %`;
      $("excess").textContent = fmtMoney(num(p.excess_liquidity));
      const bar = $("margin-bar");
      bar.style.width = `${Math.min(100, Math.max(0, 100 * u))}%`;
      bar.style.background = u >= 1 ? COLORS.bad : u >= 0.8 ? COLORS.warn : COLORS.good;
    } else if (m.type === "backtest_status") {
      backtests.set(p.id, p);
    } else if (m.type === "performance_metrics") {
      $("perf").innerHTML = [["Sharpe", fmtNum(num(p.sharpe))], ["Sortino", fmtNum(num(p.sortino))],
        ["max DD", `${fmtNum(100 * num(p.max_drawdown), 1)} %`], ["vol", `${fmtNum(100 * num(p.volatility), 1)} %`],
        ["hit rate", `${fmtNum(100 * num(p.hit_rate), 0)} %`], ["days", p.days]]
        .map(([k, v]) => `<div><label>${k}</label><b>${v}</b></div>`).join("");
    }
    dirty = true;
  }

  function addAlert(kind, text, ts) {
    alerts.unshift({ kind, text, ts });
    if (alerts.length > 50) alerts.length = 50;
  }

  // --- drawing ---
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  function drawEngines() {
    if (!engines.size) return;
    const now = Date.now();
    const names = [...engines.keys()].sort();
    $("engines").innerHTML = names.map((n) => {
      const { h, seen } = engines.get(n);
      const age = (now - seen) / 1000;
      const cls = age > STALE_S ? "stale" : h.healthy ? (h.state === "running" ? "" : "degraded") : "down";
      const state = age > STALE_S ? `stale ${fmtNum(age, 0)} s` : h.state;
      return `<div class="engine ${cls}" data-engine="${esc(n)}"><div class="name">${esc(n)}<span class="state">${esc(state)}</span></div>
        <dl><dt>msgs/s</dt><dd>${fmtNum(h.messages_per_s, 1)}</dd><dt>lag p99</dt><dd>${isFinite(num(h.lag_us)) && h.lag_us !== null ? fmtNum(h.lag_us, 0) + " µs" : "—"}</dd>
        <dt>queue</dt><dd>${h.queue_depth}</dd><dt>errors</dt><dd>${h.errors}</dd>
        <dt>uptime</dt><dd>${fmtNum(h.uptime_s, 0)} s</dd></dl></div>`;
    }).join("");
  }
  function drawPositions() {
    const rows = [...positions.values()].filter((p) => p.side !== "flat").sort((a, b) => a.symbol.localeCompare(b.symbol));
    $("positions-empty").style.display = rows.length ? "none" : "";
    $("positions").querySelector("tbody").innerHTML = rows.map((p) => {
      const u = num(p.unrealized_pnl), r = num(p.realized_pnl);
      return `<tr><td>${esc(p.symbol)}</td><td>${esc(p.side)}</td><td class="num">${fmtNum(num(p.quantity), 0)}</td>
        <td class="num">${fmtNum(num(p.avg_price))}</td><td class="num ${u >= 0 ? "pos" : "neg"}">${fmtMoney(u)}</td>
        <td class="num ${r >= 0 ? "pos" : "neg"}">${fmtMoney(r)}</td></tr>`;
    }).join("");
  }
  function drawAlerts() {
    if (!alerts.length) return;
    $("alerts").innerHTML = alerts.map((a) => `<li class="${a.kind}"><span class="kind">${a.kind}</span>
      ${isFinite(a.ts) && a.ts > 0 ? new Date(a.ts * 1000).toISOString().slice(5, 16).replace("T", " ") + " " : ""}${esc(a.text)}</li>`).join("");
  }
  // The reports are served by the backtesting engine, whose port is this one's less 490 (as
  // the default ports are, and as --port-offset keeps them).
  function drawBacktests() {
    const list = [...backtests.values()].sort((a, b) => String(b.id).localeCompare(String(a.id), undefined, { numeric: true }));
    $("backtests-empty").style.display = list.length ? "none" : "";
    const base = `${location.protocol}//${location.hostname}:${Number(location.port || 80) - 490}`;
    const pct = (v) => (v === null || v === undefined) ? "—" : `${fmtNum(100 * num(v), 1)} %`;
    $("backtests").querySelector("tbody").innerHTML = list.slice(0, 20).map((b) => `<tr>
      <td>${esc(b.id)}</td><td>${esc(b.state)}</td><td class="num">${pct(b.fraction)}</td>
      <td class="num">${fmtNum(num(b.events), 0)}</td><td class="num">${fmtNum(num(b.fills), 0)}</td>
      <td class="num">${pct(b.total_return)}</td><td class="num">${b.sharpe === null ? "—" : fmtNum(num(b.sharpe))}</td>
      <td class="num">${pct(b.max_drawdown)}</td>
      <td>${b.state === "done" ? `<a href="${base}/backtests/${encodeURIComponent(b.id)}/report.html" target="_blank">tearsheet</a>` : ""}</td></tr>`).join("");
  }
  function draw() {
    $("rx-rate").textContent = `${fmtNum(rxRate, 0)} msg/s in`;
    drawEngines();
    if (!dirty) return;
    dirty = false;
    if (lastMarketTs) $("market-time").textContent = "market " + new Date(lastMarketTs * 1000).toISOString().replace("T", " ").slice(0, 19);
    const b = bars.get(symbol);
    priceTimes = b ? b.x : [];
    if (b) charts.price.setData([idx(b.x), b.close]);
    const v = vpin.get(symbol);
    vpinTimes = v ? v.x : [];
    charts.vpin.setData(v ? [idx(v.x), v.vpin, v.cdf] : [[], [], []]);
    const nt = (toxic.get(symbol) || []).length;
    $("tox-count").textContent = nt ? `${nt} toxicity alert${nt > 1 ? "s" : ""} (dashed lines)` : "";
    if (equity.x.length) charts.equity.setData([idx(equity.x), equity.nav]);
    drawPositions();
    drawAlerts();
    drawBacktests();
  }
  $("symbol").addEventListener("change", (e) => { symbol = e.target.value; dirty = true; draw(); });

  // --- the bus, from this engine's own REST ---
  async function pollBus() {
    try {
      const r = await fetch("/messagebus/status", { cache: "no-store" });
      const s = await r.json();
      const now = Date.now() / 1000;
      $("bus-backend").textContent = s.backend === "redis_streams" ? "Redis Streams" : "in process";
      if (bus.last) {
        const dt = now - bus.last.t;
        const rate = dt > 0 ? (s.published - bus.last.published) / dt : 0;
        push([bus.x, bus.rate, bus.p50, bus.p99], [now, Math.max(0, rate), s.latency_p50_ns / 1e3, s.latency_p99_ns / 1e3], BUS_POINTS);
        $("bus-rate").textContent = fmtNum(rate, 0);
        charts.bus.setData([bus.x, bus.rate]);
        charts.lat.setData([bus.x, bus.p50, bus.p99]);
      }
      bus.last = { t: now, published: s.published };
      $("bus-p50").textContent = `${fmtNum(s.latency_p50_ns / 1e3, 1)} µs`;
      $("bus-p99").textContent = `${fmtNum(s.latency_p99_ns / 1e3, 1)} µs`;
      $("bus-dropped").textContent = s.dropped;
    } catch (e) { /* the engine is restarting: the next poll tries again */ }
  }

  // --- the WebSocket ---
  let ws = null, backoff = 500;
  function connect() {
    const token = new URLSearchParams(location.search).get("token");
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws${token ? "?token=" + encodeURIComponent(token) : ""}`;
    $("ws-host").textContent = url.replace(/\?.*$/, "");  // without the token
    ws = new WebSocket(url, ["nautilus.json"]);
    ws.onopen = () => {
      backoff = 500;
      $("conn").className = "dot on"; $("conn-text").textContent = "live";
      ws.send(JSON.stringify({ op: "subscribe", topics: PATTERNS, id: "dashboard" }));
    };
    ws.onmessage = (ev) => {
      rx++;
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.control) {
        if (m.control === "error") addAlert("risk", `server: ${m.reason}`, NaN);
        return;
      }
      onEnvelope(m);
    };
    ws.onclose = (ev) => {
      $("conn").className = "dot off";
      $("conn-text").textContent = `disconnected${ev.reason ? ": " + ev.reason : ""}; retrying`;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  // For the page test (tests/web/dashboard_page_test.mjs) and the curious.
  window.__dashboard = { charts, engines, bars, vpin, equity, positions, alerts, backtests };

  let lastRx = 0;
  setInterval(() => { rxRate = rx - lastRx; lastRx = rx; }, 1000);
  setInterval(draw, 400);
  setInterval(pollBus, 1000);
  pollBus();
  connect();
})();
