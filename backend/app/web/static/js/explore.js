// Explore: any question the analytics query answers (docs/analytics.md): up to three `group_by` dimensions, a
// step, filters and a top N, as a chart and a table of the answer's rows, and the same query as CSV.

import { cost, getText } from "./api.js";
import { draw, OTHER_COLOUR, PALETTE, placeholder, purge } from "./charts.js";
import { count, day, esc, hours, minus, money, plotNumber } from "./format.js";
import { setParams } from "./nav.js";
import { defaultStep, PRESETS, windowOf } from "./window.js";

const DIMENSIONS = ["team", "model", "gpu_type", "provider", "user", "status"];
const DIMENSION_LABEL = { team: "Team", model: "Model", gpu_type: "GPU type", provider: "Provider", user: "User",
  status: "Status" };
const FILTERS = [
  { key: "team", label: "Team" }, { key: "model_name", label: "Model" }, { key: "gpu_type", label: "GPU type" },
  { key: "provider", label: "Provider" }, { key: "user", label: "User" }, { key: "status", label: "Status" },
  { key: "label", label: "Label (KEY:VALUE)" },
];
const MEASURES = [
  { key: "cost", label: "Cost (USD)", show: money, money: true },
  { key: "gpu_hours", label: "GPU-hours", show: hours },
  { key: "unpriced_gpu_hours", label: "Unpriced GPU-hours", show: hours },
  { key: "wasted_cost", label: "Wasted cost (USD)", show: money, money: true },
  { key: "job_count", label: "Jobs", show: count },
  // Energy (docs/energy.md): `measured` names the answer's measured part; the rest of the figure is estimated.
  { key: "energy_kwh", label: "Energy (kWh)", show: hours, measured: "energy_measured_kwh" },
  { key: "energy_measured_kwh", label: "of it measured (kWh)", show: hours, column: true },
  { key: "co2e_kg", label: "Carbon (kg CO2e)", show: hours, measured: "co2e_measured_kg" },
  { key: "co2e_measured_kg", label: "of it measured (kg)", show: hours, column: true },
  { key: "idle_gpu_hours", label: "Idle GPU-hours", show: hours },
  { key: "idle_cost", label: "Idle cost (USD)", show: money, money: true },
];
const CHARTABLE = MEASURES.filter((m) => !m.column); // a measured part is charted with its whole

function dimensionLabel(dim) {
  return dim.startsWith("label:") ? `Label ${dim.slice(6)}` : DIMENSION_LABEL[dim];
}

function groupName(row, dims) {
  if (row.other) return "Other";
  return dims.map((d) => row.group[d] ?? "(none)").join(" · ") || "All";
}

/** The analytics query's parameters from the page's. */
function queryOf(params) {
  const preset = PRESETS.some((p) => p.id === params.get("preset")) ? params.get("preset")
    : params.get("start") ? "custom" : "30d";
  const { start, end } = windowOf(preset, { start: params.get("start"), end: params.get("end") });
  const dims = (params.get("group_by") ?? "team").split(",").filter(Boolean).slice(0, 3);
  const query = { start, end, group_by: dims.join(",") || undefined };
  const step = params.get("step") ?? "";
  if (step) query.step = step; // no fill: the table is the API's rows as they are, and stacked bars need no zeros
  if (params.get("limit")) query.limit = params.get("limit");
  for (const { key } of FILTERS) if (params.get(key)) query[key] = params.get(key);
  const measure = CHARTABLE.some((m) => m.key === params.get("measure")) ? params.get("measure") : "cost";
  return { preset, query, dims, step, measure };
}

function controls(params, state) {
  const presets = PRESETS.map((p) => `<option value="${p.id}"${p.id === state.preset ? " selected" : ""}>${p.label}</option>`).join("");
  const dimSelect = (i) => {
    const current = state.dims[i] ?? "";
    const isLabel = current.startsWith("label:");
    const options = ["", ...DIMENSIONS, "label"].map((d) => {
      const selected = d === current || (d === "label" && isLabel);
      return `<option value="${d}"${selected ? " selected" : ""}>${d ? (d === "label" ? "Label…" : DIMENSION_LABEL[d]) : "—"}</option>`;
    }).join("");
    return `<label>Group ${i + 1} <select name="dim${i}">${options}</select></label>
      <label class="label-key"${isLabel ? "" : " hidden"}>Label key ${i + 1} <input name="key${i}" value="${esc(isLabel ? current.slice(6) : "")}"></label>`;
  };
  const steps = [["", "None (whole window)"], ["day", "Day"], ["week", "Week"], ["month", "Month"]]
    .map(([v, l]) => `<option value="${v}"${v === state.step ? " selected" : ""}>${l}</option>`).join("");
  const measures = CHARTABLE.map((m) => `<option value="${m.key}"${m.key === state.measure ? " selected" : ""}>${m.label}</option>`).join("");
  const filters = FILTERS.map(({ key, label }) =>
    `<label>${label} <input name="${key}" value="${esc(params.get(key) ?? "")}" autocomplete="off"></label>`).join("");
  return `
    <form class="controls" id="explore-form" aria-label="Question">
      <label>Window <select name="preset">${presets}</select></label>
      <label>From <input type="date" name="start" value="${state.query.start}"${state.preset === "custom" ? "" : " disabled"}></label>
      <label>To <input type="date" name="end" value="${state.query.end}"${state.preset === "custom" ? "" : " disabled"}></label>
      ${[0, 1, 2].map(dimSelect).join("")}
      <label>Step <select name="step">${steps}</select></label>
      <label>Top N per period <input type="number" name="limit" min="1" max="1000" value="${esc(params.get("limit") ?? "")}" placeholder="all"></label>
      <label>Chart <select name="measure">${measures}</select></label>
      <details class="filters"${FILTERS.some(({ key }) => params.get(key)) ? " open" : ""}><summary>Filters</summary>${filters}</details>
      <button type="submit">Show</button>
    </form>`;
}

function paramsOf(form) {
  const data = new FormData(form);
  const dims = [0, 1, 2].map((i) => {
    const d = data.get(`dim${i}`);
    if (d === "label") return data.get(`key${i}`) ? `label:${data.get(`key${i}`).trim()}` : "";
    return d;
  }).filter(Boolean);
  const next = { preset: data.get("preset"), group_by: dims.join(","), step: data.get("step"),
    limit: data.get("limit"), measure: data.get("measure") };
  if (next.preset === "custom") Object.assign(next, { start: data.get("start"), end: data.get("end") });
  for (const { key } of FILTERS) next[key] = (data.get(key) ?? "").trim();
  return Object.fromEntries(Object.entries(next).filter(([, v]) => v));
}

function table(answer, dims, step) {
  const head = [
    ...(step ? ["Period (UTC)"] : []), ...dims.map(dimensionLabel), ...MEASURES.map((m) => m.label)];
  const rows = answer.rows.map((r) => {
    const period = step ? [`${day(r.period_start)} – ${day(r.period_end)}`] : [];
    const groups = dims.map((d) => (r.other ? "Other" : r.group[d] ?? "(none)"));
    return [...period.map(esc), ...groups.map(esc), ...MEASURES.map((m) => m.show(r[m.key]))];
  });
  const numeric = (i) => i >= head.length - MEASURES.length;
  return `<div class="table-wrap"><table id="explore-table">
    <thead><tr>${head.map((h, i) => `<th scope="col"${numeric(i) ? ' class="num"' : ""}>${h}</th>`).join("")}</tr></thead>
    <tbody>${rows.map((cells) => `<tr>${cells.map((c, i) => `<td${numeric(i) ? ' class="num"' : ""}>${c}</td>`).join("")}</tr>`).join("")
      || `<tr><td colspan="${head.length}" class="empty">No usage matches.</td></tr>`}</tbody>
    <tfoot><tr><th scope="row" colspan="${head.length - MEASURES.length}">Totals</th>
      ${MEASURES.map((m) => `<td class="num">${m.show(answer.totals[m.key])}</td>`).join("")}</tr></tfoot></table></div>`;
}

async function chart(element, answer, dims, step, measureKey) {
  const measure = MEASURES.find((m) => m.key === measureKey);
  const axis = { title: { text: measure.label }, rangemode: "tozero",
    ...(measure.money ? { tickprefix: "$", tickformat: ",.0f" } : { tickformat: "," }) };
  if (!answer.rows.length) {
    placeholder(element, "No usage matches: nothing to chart.");
    return;
  }
  if (step) {
    const series = new Map();
    for (const r of answer.rows) {
      const name = groupName(r, dims);
      if (!series.has(name)) series.set(name, { x: [], y: [], text: [], other: r.other });
      const s = series.get(name);
      s.x.push(r.period_start);
      s.y.push(plotNumber(r[measure.key]));
      s.text.push(measure.show(r[measure.key]));
    }
    let i = 0;
    const traces = [...series].map(([name, s]) => ({
      type: "bar", name, x: s.x, y: s.y, customdata: s.text,
      marker: { color: s.other ? OTHER_COLOUR : PALETTE[i++ % PALETTE.length] },
      hovertemplate: `<b>${esc(name)}</b><br>%{x|%d %b %Y}: %{customdata}<extra></extra>`,
    }));
    await draw(element, traces, {
      barmode: "stack", height: 360, showlegend: true,
      xaxis: { title: { text: { day: "UTC day", week: "Week (Monday, UTC)", month: "Month (UTC)" }[step] }, type: "date" },
      yaxis: axis,
    }, `Stacked bar chart of ${measure.label} per ${step} by ${dims.map(dimensionLabel).join(", ") || "nothing"}`);
    return;
  }
  const rows = [...answer.rows].reverse();
  if (measure.measured) { // energy and carbon: measured and estimated parts stacked, each named
    const parts = [["Measured", (r) => r[measure.measured], PALETTE[0]],
      ["Estimated", (r) => minus(r[measure.key], r[measure.measured]), PALETTE[1]]];
    await draw(element, parts.map(([name, part, color]) => ({
      type: "bar", orientation: "h", name, y: rows.map((r) => groupName(r, dims)), x: rows.map((r) => plotNumber(part(r))),
      customdata: rows.map((r) => measure.show(part(r))), marker: { color },
      hovertemplate: `%{y}: %{customdata} ${name.toLowerCase()}<extra></extra>`,
    })), {
      barmode: "stack", height: Math.max(240, 80 + 28 * rows.length), showlegend: true,
      legend: { orientation: "h", y: -0.25 }, margin: { l: 150, r: 16, t: 8, b: 64 },
      xaxis: { ...axis, nticks: 5, automargin: true }, yaxis: { automargin: true },
    }, `Bar chart of ${measure.label} by ${dims.map(dimensionLabel).join(", ") || "nothing"}, measured and estimated parts`);
    return;
  }
  await draw(element, [{
    type: "bar", orientation: "h", y: rows.map((r) => groupName(r, dims)), x: rows.map((r) => plotNumber(r[measure.key])),
    customdata: rows.map((r) => measure.show(r[measure.key])), text: rows.map((r) => measure.show(r[measure.key])),
    textposition: "auto", marker: { color: rows.map((r) => (r.other ? OTHER_COLOUR : PALETTE[0])) },
    hovertemplate: "%{y}: %{customdata}<extra></extra>",
  }], {
    height: Math.max(220, 60 + 28 * rows.length), showlegend: false, margin: { l: 150, r: 16, t: 8, b: 48 },
    xaxis: { ...axis, nticks: 5, automargin: true }, yaxis: { automargin: true },
  }, `Bar chart of ${measure.label} by ${dims.map(dimensionLabel).join(", ") || "nothing"}`);
}

function download(text, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

/** Draw Explore for the hash's parameters into `main`. */
export async function renderExplore(main, params) {
  purge(document.getElementById("chart-explore"));
  const state = queryOf(params);
  main.innerHTML = `<h1>Explore</h1>${controls(params, state)}
    <p class="muted" id="explore-text"></p>
    <section class="panel"><div class="chart" id="chart-explore"></div></section>
    <section class="panel"><div class="panel-head"><h2>Rows</h2>
      <button type="button" id="explore-csv">Download CSV</button></div>
      <p class="muted small">The CSV is the same query from the API: these rows and totals' rows, in this order, with
      every figure to the micro-dollar and each team's id.</p><div id="explore-rows"></div></section>`;
  const form = document.getElementById("explore-form");
  form.addEventListener("change", (event) => {
    if (event.target.name?.startsWith("dim")) {
      const i = event.target.name.slice(3);
      form.querySelector(`[name="key${i}"]`).parentElement.hidden = event.target.value !== "label";
    }
    if (event.target.name === "preset") {
      form.start.disabled = form.end.disabled = event.target.value !== "custom";
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = paramsOf(form);
    setParams("explore", next);
    renderExplore(main, new URLSearchParams(next)).catch((failure) => {
      main.insertAdjacentHTML("afterbegin", `<p class="error" role="alert">${esc(failure.message)}</p>`);
    });
  });
  const { query, dims, step, measure } = state;
  if (step && !params.get("step")) query.step = defaultStep(query.start, query.end);
  document.getElementById("explore-text").textContent =
    `${day(query.start)} – ${day(query.end)} (UTC)${dims.length ? `, by ${dims.map(dimensionLabel).join(", ")}` : ""}` +
    `${step ? `, per ${step}` : ""}.`;
  const answer = await cost(query);
  document.getElementById("explore-rows").innerHTML = table(answer, dims, step);
  document.getElementById("explore-csv").addEventListener("click", async () => {
    const csv = await getText("analytics/cost", { ...query, format: "csv" }, "text/csv");
    download(csv, `jobcost-explore_${query.start}_${query.end}${dims.length ? `_by-${dims.join("-")}` : ""}${step ? `_${step}` : ""}.csv`);
  });
  try {
    await chart(document.getElementById("chart-explore"), answer, dims, step, measure);
  } catch (failure) {
    placeholder(document.getElementById("chart-explore"), `Chart unavailable: ${failure.message}`);
  }
  main.dataset.loaded = "true";
}
