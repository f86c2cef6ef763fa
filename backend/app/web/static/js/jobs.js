// Jobs: the filterable table of `GET /api/v1/jobs` with cursor paging ("Load more" follows `next_cursor`), and a
// job's page (`GET /api/v1/jobs/{job_id}?include=snapshots`) with its cost per UTC day.

import { get } from "./api.js";
import { draw, PALETTE, placeholder } from "./charts.js";
import { count, day, esc, hours, money, plotNumber, timestamp } from "./format.js";
import { setParams } from "./nav.js";
import { addDays } from "./window.js";

const PAGE = 50; // jobs per request unless the page's `per_page` (1–100) says otherwise
const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "preempted"];
const TEXT_FILTERS = [
  { key: "team", label: "Team" }, { key: "model_name", label: "Model" }, { key: "gpu_type", label: "GPU type" },
  { key: "provider", label: "Provider" }, { key: "user", label: "User" },
];
// [field, header, how shown, how compared]
const COLUMNS = [
  ["job_id", "Job", (j) => `<a href="#/job?id=${encodeURIComponent(j.job_id)}">${esc(j.job_id)}</a>`, "text"],
  ["team", "Team", (j) => esc(j.team.name), "text"],
  ["status", "Status", (j) => esc(j.status), "text"],
  ["model_name", "Model", (j) => esc(j.model_name ?? ""), "text"],
  ["gpu_type", "GPUs", (j) => esc(`${j.gpu_count} × ${j.gpu_type ?? "?"}`), "text"],
  ["provider", "Provider", (j) => esc(j.provider ?? ""), "text"],
  ["user", "User", (j) => esc(j.user ?? ""), "text"],
  ["started_at", "Started (UTC)", (j) => esc(timestamp(j.started_at, true)), "text"],
  ["gpu_hours", "GPU-hours", (j) => hours(j.gpu_hours), "number"],
  ["cost", "Cost (USD)", (j) => (j.cost === null ? '<span class="muted">unpriced</span>' : money(j.cost)), "number"],
];
const NUMERIC = new Set(COLUMNS.filter((c) => c[3] === "number").map((c) => c[0]));
// Columns the API sorts on (`GET /jobs?sort=`): the whole listing is ordered, then paged.
const SORTABLE = new Set(["started_at", "gpu_hours", "cost"]);
const SORTS = new Set([...SORTABLE].flatMap((f) => [f, `-${f}`]));

/** The page's sort (`-started_at`, the API's default, unless the URL says another). */
function sortOf(params) {
  return SORTS.has(params.get("sort")) ? params.get("sort") : "-started_at";
}

/** The API's filters from the page's parameters (days become RFC 3339 instants at 00:00 UTC). */
function apiFilters(params) {
  const filters = {};
  for (const { key } of TEXT_FILTERS) if (params.get(key)) filters[key] = params.get(key);
  if (params.get("status")) filters.status = params.get("status");
  if (params.get("from")) filters.started_after = `${params.get("from")}T00:00:00Z`;
  if (params.get("to")) filters.started_before = `${addDays(params.get("to"), 1)}T00:00:00Z`;
  if (sortOf(params) !== "-started_at") filters.sort = sortOf(params);
  return filters;
}

function filterForm(params) {
  const texts = TEXT_FILTERS.map(({ key, label }) =>
    `<label>${label} <input name="${key}" value="${esc(params.get(key) ?? "")}" autocomplete="off"></label>`).join("");
  const statuses = ["", ...STATUSES].map((s) =>
    `<option value="${s}"${params.get("status") === s ? " selected" : ""}>${s || "Any"}</option>`).join("");
  return `
    <form class="controls" id="jobs-filters" aria-label="Filters">
      ${texts}
      <label>Status <select name="status">${statuses}</select></label>
      <label>Started from <input type="date" name="from" value="${esc(params.get("from") ?? "")}"></label>
      <label>Started to <input type="date" name="to" value="${esc(params.get("to") ?? "")}"></label>
      <button type="submit">Apply</button>
      <button type="reset" class="secondary" id="jobs-clear">Clear</button>
    </form>`;
}

/** Draw the Jobs table for the hash's filters into `main`. */
export async function renderJobs(main, params) {
  const sort = sortOf(params);
  const sortField = sort.replace(/^-/, "");
  const direction = sort.startsWith("-") ? "descending" : "ascending";
  const header = ([field, label]) => {
    const cls = NUMERIC.has(field) ? ' class="num"' : "";
    if (!SORTABLE.has(field)) return `<th scope="col"${cls}>${label}</th>`;
    const current = field === sortField ? direction : "none";
    return `<th scope="col"${cls} aria-sort="${current}"><button type="button" data-sort="${field}"
      title="Sort all matching jobs by ${label}">${label}</button></th>`;
  };
  main.innerHTML = `<h1>Jobs</h1>${filterForm(params)}
    <p class="muted" id="jobs-count" role="status"></p>
    <div class="table-wrap"><table id="jobs-table" class="sortable">
      <thead><tr>${COLUMNS.map(header).join("")}</tr></thead>
      <tbody></tbody></table></div>
    <p class="muted small">Newest start first unless a column says otherwise: <em>Started</em>, <em>GPU-hours</em>
      and <em>Cost</em> sort every matching job (by the API, not only the jobs loaded); jobs without the value
      (never started, unpriced) come last either way.</p>
    <button type="button" id="jobs-more" hidden>Load more</button>`;
  const form = document.getElementById("jobs-filters");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = Object.fromEntries([...new FormData(form)].filter(([, v]) => v));
    if (params.get("per_page")) next.per_page = params.get("per_page");
    if (params.get("sort")) next.sort = params.get("sort");
    setParams("jobs", next);
    renderJobs(main, new URLSearchParams(next));
  });
  form.addEventListener("reset", (event) => {
    event.preventDefault();
    setParams("jobs", {});
    renderJobs(main, new URLSearchParams());
  });

  const filters = apiFilters(params);
  const perPage = Math.min(100, Math.max(1, Number(params.get("per_page")) || PAGE));
  const loaded = [];
  let total = null;
  const body = main.querySelector("#jobs-table tbody");
  const more = document.getElementById("jobs-more");
  let cursor = null;

  function paint() {
    body.innerHTML = loaded.map((job) => `<tr>${COLUMNS.map(([field, , show]) =>
      `<td${NUMERIC.has(field) ? ' class="num"' : ""}>${show(job)}</td>`).join("")}</tr>`).join("")
      || `<tr><td colspan="${COLUMNS.length}" class="empty">No job matches these filters.</td></tr>`;
    document.getElementById("jobs-count").textContent =
      `Showing ${count(loaded.length)} of ${total === null ? "?" : count(total)} job${total === 1 ? "" : "s"}.`;
  }

  async function load() {
    more.disabled = true;
    const page = await get("jobs", cursor ? { ...filters, cursor, limit: perPage } : { ...filters, limit: perPage });
    if (page.total !== null && page.total !== undefined) total = page.total;
    loaded.push(...page.jobs);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    more.disabled = false;
    paint();
    main.dataset.loaded = "true";
  }

  main.querySelector("#jobs-table thead").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-sort]");
    if (!button) return;
    const field = button.dataset.sort;
    // A new column starts from its largest (latest start, highest cost); the same column flips.
    const next = field === sortField ? (sort.startsWith("-") ? field : `-${field}`) : `-${field}`;
    const kept = Object.fromEntries([...params].filter(([k]) => k !== "sort"));
    if (next !== "-started_at") kept.sort = next;
    setParams("jobs", kept);
    renderJobs(main, new URLSearchParams(kept)).then(() => {
      main.querySelector(`#jobs-table button[data-sort="${field}"]`)?.focus(); // keyboard users stay on the header
    }).catch((failure) => {
      main.insertAdjacentHTML("afterbegin", `<p class="error" role="alert">${esc(failure.message)}</p>`);
    });
  });
  more.addEventListener("click", () => load().catch((failure) => {
    more.insertAdjacentHTML("afterend", `<p class="error" role="alert">${esc(failure.message)}</p>`);
  }));
  await load();
}

// What each `defaults_used` entry means (docs/energy.md): the figure assumed for want of data.
const DEFAULTS = {
  gpu_utilization: "GPU utilisation (not reported): 0.5 assumed",
  gpu_type: "the GPU type's watts (no figure for it): an A100's assumed",
  pue: "the data centre's PUE (unknown or on-premises provider): 1.58 assumed",
  region: "the grid's carbon intensity (unknown region): the world average assumed",
};

/** The job's energy block (`energy` of `GET /jobs/{job_id}`): figures, measured or estimated, and what was assumed. */
function energySection(energy) {
  if (!energy) {
    return `<section class="panel" id="job-energy" aria-labelledby="energy-title"><h2 id="energy-title">Energy and carbon</h2>
      <p class="muted">Not computed yet for this job (stored before energy figures existed: <code>jobcost energy recompute</code>).</p></section>`;
  }
  const assumed = energy.defaults_used.length
    ? `<ul id="energy-defaults">${energy.defaults_used.map((d) => `<li><code>${esc(d)}</code>: ${esc(DEFAULTS[d] ?? "a default")}</li>`).join("")}</ul>`
    : '<p id="energy-defaults">Nothing: every figure came from the job and the coefficients.</p>';
  const facts = [
    ["Energy", `${hours(energy.kwh)} kWh`], ["Source", `<span class="badge" id="energy-source">${esc(energy.source)}</span>`],
    ["Carbon", `${hours(energy.co2e_kg)} kg CO2e`],
    ["Idle GPU-hours", energy.idle_gpu_hours === null ? '<span class="muted">unknown (no utilisation reported)</span>' : hours(energy.idle_gpu_hours)],
    ["Idle cost", energy.idle_cost === null ? '<span class="muted">unknown</span>' : `${money(energy.idle_cost)} USD`],
  ];
  return `<section class="panel" id="job-energy" aria-labelledby="energy-title"><h2 id="energy-title">Energy and carbon</h2>
    <p class="muted small">${energy.source === "measured" ? "Measured: the energy the job's record reported." :
      "Estimated from GPU-hours, the GPU's watts at its utilisation and the data centre's PUE (docs/energy.md)."}</p>
    <dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl>
    <h3>Assumed for want of data</h3>${assumed}</section>`;
}

function jobPath(jobId) {
  return jobId.split("/").map(encodeURIComponent).join("/");
}

/** Draw one job (`#/job?id=JOB_ID`) with its daily snapshots. */
export async function renderJob(main, params) {
  const jobId = params.get("id") ?? "";
  main.innerHTML = `<p><a href="#/jobs">← Jobs</a></p><h1>Job <code>${esc(jobId)}</code></h1><div id="job"></div>`;
  let job;
  try {
    job = await get(`jobs/${jobPath(jobId)}`, { include: "snapshots" });
  } catch (failure) {
    if (failure.status === 404) {
      document.getElementById("job").innerHTML = `<p class="notice">No job ${esc(jobId)} that you can read.</p>`;
      main.dataset.loaded = "true";
      return;
    }
    throw failure;
  }
  const facts = [
    ["Team", esc(job.team.name)], ["Status", esc(job.status)], ["Model", esc(job.model_name ?? "—")],
    ["GPU type", esc(job.gpu_type ?? "—")], ["GPUs", esc(job.gpu_count)], ["Provider", esc(job.provider ?? "—")],
    ["User", esc(job.user ?? "—")], ["Submitted", esc(timestamp(job.submitted_at) || "—")],
    ["Started", esc(timestamp(job.started_at) || "—")], ["Ended", esc(timestamp(job.ended_at) || "—")],
    ["GPU-hours", hours(job.gpu_hours)], ["Cost", job.cost === null ? "unpriced" : `${money(job.cost)} USD`],
    ["Billed cost", job.billed_cost === null ? "—" : `${money(job.billed_cost)} USD`], ["Cost source", esc(job.cost_source)],
    ["Labels", Object.entries(job.labels).map(([k, v]) => `<code>${esc(k)}=${esc(v)}</code>`).join(" ") || "—"],
  ];
  const snapshots = job.snapshots ?? [];
  document.getElementById("job").innerHTML = `
    <section class="panel"><dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl></section>
    ${energySection(job.energy)}
    <section class="panel"><h2>Cost per UTC day</h2><div class="chart" id="chart-job"></div>
      <div class="table-wrap"><table id="snapshots-table"><thead><tr><th scope="col">UTC day</th>
        <th scope="col" class="num">GPU-hours</th><th scope="col" class="num">Cost (USD)</th></tr></thead>
        <tbody>${snapshots.map((s) => `<tr><td>${esc(s.day)}</td><td class="num">${hours(s.gpu_hours)}</td>
          <td class="num">${s.cost === null ? "unpriced" : money(s.cost)}</td></tr>`).join("")}</tbody></table></div>
    </section>`;
  const chart = document.getElementById("chart-job");
  if (!snapshots.length || job.cost === null) {
    placeholder(chart, snapshots.length ? "Unpriced: no cost to chart." : "The job has not run on any day yet.");
  } else {
    await draw(chart, [{
      type: "bar", x: snapshots.map((s) => day(s.day)), y: snapshots.map((s) => plotNumber(s.cost)),
      customdata: snapshots.map((s) => money(s.cost)), marker: { color: PALETTE[0] },
      hovertemplate: "%{x}: %{customdata}<extra></extra>",
    }], {
      height: 260, showlegend: false, bargap: 0.35,
      xaxis: { title: { text: "UTC day" }, type: "category" }, // one bar per day, however few
      yaxis: { title: { text: "Cost (USD)" }, tickprefix: "$", tickformat: ",.0f", rangemode: "tozero" },
    }, `Bar chart of the job's cost on each of ${snapshots.length} UTC days`);
  }
  main.dataset.loaded = "true";
}
