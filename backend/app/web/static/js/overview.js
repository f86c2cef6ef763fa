// The Overview: a window of UTC days, its totals against the previous window of the same length, spend over
// time by team, top models, wasted spend by team, and unpriced GPU-hours. Every figure is a field of an
// answer of `GET /api/v1/analytics/cost`, shown rounded to the cent (money) or the tenth (hours).

import { cost, currentUser, get } from "./api.js";
import { draw, OTHER_COLOUR, PALETTE, placeholder, purge } from "./charts.js";
import { change, count, day, esc, hours, isZero, money, month, plotNumber } from "./format.js";
import { go, setParams } from "./nav.js";
import { defaultStep, lengthInDays, PRESETS, previousWindow, windowOf } from "./window.js";

const MEASURES = [
  { key: "cost", label: "Cost", unit: "USD", show: money },
  { key: "gpu_hours", label: "GPU-hours", unit: "h", show: hours },
  { key: "unpriced_gpu_hours", label: "Unpriced GPU-hours", unit: "h", show: hours },
  { key: "wasted_cost", label: "Wasted cost", unit: "USD", show: money },
  { key: "job_count", label: "Jobs", unit: "", show: count },
];
const STEP_AXIS = { day: "UTC day", week: "Week (Monday, UTC)", month: "Month (UTC)" };
let generation = 0;

function compare(a, b) { // decimal strings, descending
  const scaled = (v) => BigInt(String(v).replace(".", "").replace(/^-?0+(?=\d)/, "") || "0");
  const x = scaled(a);
  const y = scaled(b);
  return x === y ? 0 : x > y ? -1 : 1;
}

function stateOf(params) {
  const preset = PRESETS.some((p) => p.id === params.get("preset")) ? params.get("preset")
    : params.get("start") ? "custom" : "30d";
  const { start, end } = windowOf(preset, { start: params.get("start"), end: params.get("end") });
  const step = ["day", "week", "month"].includes(params.get("step")) ? params.get("step") : "";
  return { preset, start, end, step };
}

function skeleton(state) {
  const presets = PRESETS.map((p) => `<option value="${p.id}"${p.id === state.preset ? " selected" : ""}>${p.label}</option>`).join("");
  const steps = ["", "day", "week", "month"].map((s) => `<option value="${s}"${s === state.step ? " selected" : ""}>${s ? `By ${s}` : "Automatic"}</option>`).join("");
  const cards = MEASURES.map((m) => `
    <div class="card" data-measure="${m.key}">
      <h2 id="card-${m.key}">${m.label}${m.unit === "USD" ? ' <span class="unit">USD</span>' : ""}</h2>
      <p class="value" aria-describedby="card-${m.key}">…</p>
      <p class="change">&nbsp;</p>
    </div>`).join("");
  return `
    <h1>Overview</h1>
    <form class="controls" id="window-form" aria-label="Window">
      <label>Window <select id="preset">${presets}</select></label>
      <label>From <input type="date" id="start" value="${state.start}"></label>
      <label>To <input type="date" id="end" value="${state.end}"></label>
      <label>Step <select id="step">${steps}</select></label>
    </form>
    <p class="window-text muted" id="window-text"></p>
    <div id="empty" role="status"></div>
    <section class="cards" aria-label="Totals of the window">${cards}</section>
    <section class="panel wide" aria-labelledby="forecast-title">
      <h2 id="forecast-title">Month forecast</h2>
      <p id="forecast" class="muted">…</p>
    </section>
    <section class="panel wide">
      <h2>Spend over time by team</h2>
      <div class="chart" id="chart-spend"></div>
    </section>
    <div class="two">
      <section class="panel"><h2>Top models by cost</h2><div class="chart" id="chart-models"></div></section>
      <section class="panel"><h2>Wasted spend by team</h2>
        <p class="muted small">Cost of jobs that failed, were cancelled or preempted.</p>
        <div class="chart" id="chart-waste"></div></section>
    </div>
    <section class="panel wide" aria-labelledby="energy-title">
      <div class="panel-head"><h2 id="energy-title">Energy, carbon and idle cost</h2>
        <a href="#/explore?group_by=team&measure=co2e_kg" id="energy-explore">Explore energy</a></div>
      <p class="muted small">Measured where the job reported its energy, estimated otherwise (docs/energy.md); the
        measured part is shown beside each figure. Idle: GPU time held without work, for jobs that report their
        utilisation.</p>
      <div id="energy"></div>
    </section>
    <section class="panel wide">
      <h2>Unpriced GPU-hours by provider and GPU type</h2>
      <p class="muted small">GPU time no rate prices: it adds nothing to the costs above until a rate covers it.</p>
      <div id="unpriced"></div>
    </section>`;
}

const ENERGY_COLUMNS = [
  ["energy_kwh", "Energy (kWh)", hours], ["energy_measured_kwh", "of it measured", hours],
  ["co2e_kg", "Carbon (kg CO2e)", hours], ["co2e_measured_kg", "of it measured", hours],
  ["idle_gpu_hours", "Idle GPU-hours", hours], ["idle_cost", "Idle cost (USD)", money],
];

/** Energy figures by team and by model, from answers the page already has: every figure a field of them. */
function energyTables(teams, models, totals) {
  const table = (id, label, rows, nameOf) => `<div class="table-wrap"><table id="${id}">
    <thead><tr><th scope="col">${label}</th>${ENERGY_COLUMNS.map(([, h]) => `<th scope="col" class="num">${h}</th>`).join("")}</tr></thead>
    <tbody>${rows.map((r) => `<tr><td>${esc(nameOf(r))}</td>${ENERGY_COLUMNS.map(([k, , show]) =>
      `<td class="num">${show(r[k])}</td>`).join("")}</tr>`).join("")}</tbody>
    <tfoot><tr><th scope="row">All</th>${ENERGY_COLUMNS.map(([k, , show]) => `<td class="num">${show(totals[k])}</td>`).join("")}</tr></tfoot>
  </table></div>`;
  return table("energy-teams", "Team", teams.rows, (r) => r.group.team)
    + table("energy-models", "Model", models.rows, (r) => (r.other ? "Other models" : r.group.model ?? "(no model)"));
}

function showTotals(totals, previous, prevWindow) {
  for (const m of MEASURES) {
    const card = document.querySelector(`.card[data-measure="${m.key}"]`);
    card.querySelector(".value").textContent = m.show(totals[m.key]);
    const delta = change(totals[m.key], previous[m.key]);
    const changeEl = card.querySelector(".change");
    const before = m.show(previous[m.key]);
    changeEl.innerHTML = delta.text === "new"
      ? `<span class="delta">new</span>: none in the previous ${prevWindow}`
      : `<span class="delta">${esc(delta.text)}</span> vs ${esc(before)} in the previous ${prevWindow}`;
    changeEl.dataset.direction = delta.direction;
  }
}

async function showEmpty(state, empty) {
  const months = await cost({ step: "month" });
  const last = months.rows[months.rows.length - 1];
  let hint = "No job has any usage yet: ingest some (see /docs) or run <code>jobcost demo</code>.";
  if (last) {
    hint = `The latest usage is in ${esc(month(last.period_start))}.
      <button type="button" id="jump-latest" data-start="${last.period_start}" data-end="${last.period_end}">Show that month</button>`;
  }
  empty.innerHTML = `<div class="notice"><p><strong>Nothing ran between ${esc(day(state.start))} and ${esc(day(state.end))}</strong>
    (UTC): no cost, no GPU-hours in this window.</p><p>${hint}</p></div>`;
  const jump = document.getElementById("jump-latest");
  if (jump) {
    jump.addEventListener("click", () => go("overview", { preset: "custom", start: jump.dataset.start, end: jump.dataset.end }));
  }
}

function spendChart(answer, step) {
  const teams = new Map();
  for (const row of answer.rows) {
    const name = row.other ? "Other teams" : row.group.team;
    if (!teams.has(name)) teams.set(name, { x: [], y: [], text: [] });
    const series = teams.get(name);
    series.x.push(row.period_start);
    series.y.push(plotNumber(row.cost));
    series.text.push(money(row.cost));
  }
  let i = 0;
  const traces = [...teams].map(([name, s]) => ({
    type: "bar", name, x: s.x, y: s.y, customdata: s.text,
    marker: { color: name === "Other teams" ? OTHER_COLOUR : PALETTE[i++ % PALETTE.length] },
    hovertemplate: `<b>${esc(name)}</b><br>%{x|%d %b %Y}: %{customdata}<extra></extra>`,
  }));
  const layout = {
    barmode: "stack", height: 340, showlegend: true, // even for one team (plotly hides a lone trace's legend)
    xaxis: { title: { text: STEP_AXIS[step] }, type: "date", tickformat: step === "month" ? "%b %Y" : "%d %b" },
    yaxis: { title: { text: "Cost (USD)" }, tickprefix: "$", tickformat: ",.0f", rangemode: "tozero" },
  };
  return [traces, layout, `Stacked bar chart of cost per ${step} by team, ${teams.size} teams`];
}

function barChart(rows, value, label, nameOf, axis) {
  const shown = [...rows].reverse(); // plotly draws the first bar at the bottom
  const traces = [{
    type: "bar", orientation: "h",
    y: shown.map(nameOf), x: shown.map((r) => plotNumber(r[value])), customdata: shown.map((r) => label(r[value])),
    marker: { color: shown.map((r) => (r.other ? OTHER_COLOUR : PALETTE[0])) },
    text: shown.map((r) => label(r[value])), textposition: "auto", cliponaxis: false,
    hovertemplate: "%{y}: %{customdata}<extra></extra>",
  }];
  const layout = {
    height: Math.max(200, 48 + 34 * shown.length), showlegend: false, margin: { l: 130, r: 16, t: 8, b: 48 },
    xaxis: { title: { text: axis }, tickprefix: "$", tickformat: ",.0f", rangemode: "tozero", nticks: 5, automargin: true },
    yaxis: { automargin: true },
  };
  return [traces, layout];
}

function unpricedTable(answer) {
  const rows = answer.rows.filter((r) => !isZero(r.unpriced_gpu_hours))
    .sort((a, b) => compare(a.unpriced_gpu_hours, b.unpriced_gpu_hours));
  if (!rows.length) return '<p class="empty">Every GPU-hour in this window is priced.</p>';
  const action = currentUser()?.role === "admin" ? "Price it" : "Rate card";
  const link = (r) => `#/rates?${new URLSearchParams({ provider: r.group.provider ?? "", gpu_type: r.group.gpu_type ?? "" })}`;
  const body = rows.map((r) => `<tr><td>${esc(r.group.provider ?? "(none)")}</td><td>${esc(r.group.gpu_type ?? "(none)")}</td>
      <td class="num">${hours(r.unpriced_gpu_hours)}</td><td class="num">${hours(r.gpu_hours)}</td>
      <td><a href="${esc(link(r))}">${action}</a></td></tr>`).join("");
  return `<div class="table-wrap"><table id="unpriced-table">
    <thead><tr><th scope="col">Provider</th><th scope="col">GPU type</th><th scope="col" class="num">Unpriced GPU-hours</th>
    <th scope="col" class="num">All GPU-hours</th><th scope="col"><span class="visually-hidden">Rate card</span></th></tr></thead><tbody>${body}</tbody></table></div>`;
}

/** The forecast of the month holding the window's last day (or today, if that is earlier), from
 * `GET /api/v1/analytics/forecast` (docs/forecast-and-anomalies.md): actual so far, expected total, 80 % interval. */
async function showForecast(end, mine) {
  const target = document.getElementById("forecast");
  const today = new Date().toISOString().slice(0, 10);
  try {
    const f = await get("analytics/forecast", { period: "month", as_of: end < today ? end : today });
    if (mine !== generation) return;
    target.classList.remove("muted");
    target.innerHTML = `<strong>${esc(month(f.period_start))}</strong>:
      <span id="forecast-actual">${esc(money(f.actual_to_date))}</span> spent to ${esc(day(f.as_of))};
      expected <span id="forecast-expected">${esc(money(f.expected_total))}</span> by ${esc(day(f.period_end))}
      (80 % interval <span id="forecast-low">${esc(money(f.interval_low))}</span> –
      <span id="forecast-high">${esc(money(f.interval_high))}</span>;
      <span id="forecast-method">${esc(f.method)}</span>).`;
  } catch (failure) {
    if (mine !== generation) return;
    target.textContent = `Forecast unavailable: ${failure.message}`;
  }
  target.dataset.ready = "true";
}

/** Draw the Overview for the hash's parameters (preset, start, end, step) into `main`. */
export async function renderOverview(main, params) {
  const mine = ++generation;
  const state = stateOf(params);
  for (const id of ["chart-spend", "chart-models", "chart-waste"]) purge(document.getElementById(id));
  main.innerHTML = skeleton(state);
  const form = document.getElementById("window-form");
  const custom = state.preset === "custom";
  form.start.disabled = !custom;
  form.end.disabled = !custom;
  form.addEventListener("change", () => {
    const preset = form.preset.value;
    const next = { preset, step: form.step.value };
    if (preset === "custom") Object.assign(next, { start: form.start.value || state.start, end: form.end.value || state.end });
    setParams("overview", Object.fromEntries(Object.entries(next).filter(([, v]) => v)));
    renderOverview(main, new URLSearchParams(location.hash.split("?")[1] || ""));
  });

  const { start, end } = state;
  if (end < start) {
    document.getElementById("empty").innerHTML = '<p class="error" role="alert">"To" is before "From": pick a later end day.</p>';
    return;
  }
  const step = state.step || defaultStep(start, end);
  const prev = previousWindow(start, end);
  const days = lengthInDays(start, end);
  const prevText = `${days} day${days === 1 ? "" : "s"}`;
  document.getElementById("window-text").textContent =
    `${day(start)} – ${day(end)} (UTC, ${prevText}), compared with ${day(prev.start)} – ${day(prev.end)}.`;

  showForecast(end, mine);
  const span = { start, end };
  const [current, previous] = await Promise.all([cost(span), cost(prev)]);
  if (mine !== generation) return;
  showTotals(current.totals, previous.totals, prevText);
  main.dataset.totals = "ready";
  performance.mark("overview-totals"); // bench/dashboard.py: the first paint of the Overview's figures

  const charts = ["chart-spend", "chart-models", "chart-waste"].map((id) => document.getElementById(id));
  if (current.totals.job_count === 0 && isZero(current.totals.gpu_hours)) {
    charts.forEach((c) => placeholder(c, "No usage in this window."));
    document.getElementById("unpriced").innerHTML = '<p class="empty">No usage in this window.</p>';
    document.getElementById("energy").innerHTML = '<p class="empty">No usage in this window.</p>';
    await showEmpty(state, document.getElementById("empty"));
    main.dataset.loaded = "empty";
    return;
  }

  const [overTime, models, teams, gpus] = await Promise.all([
    cost({ ...span, group_by: "team", step, fill: "zero" }),
    cost({ ...span, group_by: "model", limit: 8 }),
    cost({ ...span, group_by: "team" }),
    cost({ ...span, group_by: "provider,gpu_type", order: "name" }),
  ]);
  if (mine !== generation) return;
  document.getElementById("unpriced").innerHTML = unpricedTable(gpus);
  document.getElementById("energy").innerHTML = energyTables(teams, models, current.totals);

  const drawing = [];
  const [spendTraces, spendLayout, spendSummary] = spendChart(overTime, step);
  drawing.push(draw(charts[0], spendTraces, spendLayout, spendSummary));
  const modelName = (r) => (r.other ? "Other models" : r.group.model ?? "(no model)");
  const [mt, ml] = barChart(models.rows, "cost", money, modelName, "Cost (USD)");
  drawing.push(draw(charts[1], mt, ml, `Bar chart of the ${models.rows.length} models that cost most`));
  const wasted = teams.rows.filter((r) => !isZero(r.wasted_cost)).sort((a, b) => compare(a.wasted_cost, b.wasted_cost));
  if (wasted.length) {
    const [wt, wl] = barChart(wasted, "wasted_cost", money, (r) => r.group.team, "Wasted cost (USD)");
    drawing.push(draw(charts[2], wt, wl, `Bar chart of wasted cost for ${wasted.length} teams`));
  } else {
    placeholder(charts[2], "No failed, cancelled or preempted job cost anything in this window.");
  }
  try {
    await Promise.all(drawing);
  } catch (failure) {
    charts.filter((c) => c.dataset.rendered !== "true").forEach((c) => placeholder(c, `Chart unavailable: ${failure.message}`));
  }
  if (mine === generation) {
    main.dataset.loaded = "true";
    performance.mark("overview-loaded"); // bench/dashboard.py: every chart drawn
  }
}
