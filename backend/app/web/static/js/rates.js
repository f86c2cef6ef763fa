// The rate card: `GET /api/v1/prices` (the rates in force, or their history) with sources and dates. Admins add
// rates (`POST /api/v1/admin/prices`) and retire custom ones (`DELETE /api/v1/admin/prices/{id}`), and see what
// the recost that follows changed (its report, at once or from the operation it started), and page through the
// change log (`GET /api/v1/admin/prices/changes`: who, when, before → after). Members never call admin routes.

import { currentUser, del, get, post } from "./api.js";
import { count, esc, hours, money, rate, timestamp } from "./format.js";
import { setParams } from "./nav.js";

const POLL_MS = 1000;
const CHANGES_PAGE = 10;

function matches(rate, filter) {
  if (!filter) return true;
  const needle = filter.toLowerCase();
  return [rate.provider, rate.gpu_type, rate.note ?? "", rate.origin].some((v) => v.toLowerCase().includes(needle));
}

async function settled(answer) {
  let operation = answer.operation;
  while (operation && operation.state === "running") {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    operation = await get(`operations/${operation.id}`);
  }
  if (operation && operation.state !== "succeeded") throw new Error(`the recost failed: ${operation.error ?? operation.state}`);
  return answer.recost ?? operation?.result ?? null;
}

function report(message, recost) {
  if (!recost) return `<p>${esc(message)}. No job needed recosting.</p>`;
  return `<p>${esc(message)}.</p>
    <table class="report" id="recost-report"><tbody>
      <tr><th scope="row">Jobs recosted</th><td class="num">${count(recost.jobs_recosted)} of ${count(recost.jobs_read)} in scope</td></tr>
      <tr><th scope="row">Their cost</th><td class="num">${money(recost.cost_before)} → ${money(recost.cost_after)}</td></tr>
      <tr><th scope="row">Their unpriced GPU-hours</th><td class="num">${hours(recost.unpriced_gpu_hours_before)} → ${hours(recost.unpriced_gpu_hours_after)}</td></tr>
    </tbody></table>`;
}

function addForm(params) {
  return `<section class="panel" aria-labelledby="add-title"><h2 id="add-title">Add a rate</h2>
    <p class="muted small">A custom rate prices jobs of its provider (or <code>*</code>: any provider) and GPU type from
      its start (00:00 UTC) on; an open rate of the same pair that started earlier is closed at that start. The jobs it
      reprices are recosted at once.</p>
    <form class="controls" id="add-rate">
      <label>Provider <input name="provider" required value="${esc(params.get("provider") ?? "")}" placeholder="aws or *"></label>
      <label>GPU type <input name="gpu_type" required value="${esc(params.get("gpu_type") ?? "")}" placeholder="H100"></label>
      <label>USD per GPU-hour <input name="usd_per_gpu_hour" required inputmode="decimal" pattern="\\d+(\\.\\d{1,6})?" placeholder="2.50"></label>
      <label>Valid from (UTC day) <input type="date" name="valid_from" required></label>
      <label>Valid to (optional) <input type="date" name="valid_to"></label>
      <label>Note <input name="note" placeholder="contract, quote…"></label>
      <button type="submit">Add rate</button>
    </form>
    <div id="rate-result" role="status" aria-live="polite"></div></section>`;
}

/** A change log row's `before` or `after` in words: a rate as "provider GPU $/GPU-h, from … to …", else its fields. */
function described(row) {
  if (!row) return '<span class="muted">—</span>';
  if (row.usd_per_gpu_hour !== undefined) {
    const span = `${timestamp(row.valid_from, true)} → ${row.valid_to ? timestamp(row.valid_to, true) : "open"}`;
    return `${esc(row.provider)} ${esc(row.gpu_type)} <strong>${rate(row.usd_per_gpu_hour)}</strong>/GPU-h,
      ${esc(span)}${row.retired_at ? " (retired)" : ""}${row.note ? ` <span class="muted">${esc(row.note)}</span>` : ""}`;
  }
  return Object.entries(row).map(([k, v]) => `<code>${esc(k)}=${esc(typeof v === "object" ? JSON.stringify(v) : v)}</code>`).join(" ");
}

function changesSection() {
  return `<section class="panel" aria-labelledby="changes-title"><h2 id="changes-title">Change log</h2>
    <p class="muted small">Every change of the rate card, newest first: the admin (or <code>catalog</code>, the shipped
      file's seeding), when (UTC), and the rate before and after.</p>
    <div id="changes"><p class="muted">…</p></div></section>`;
}

async function showChanges(skip) {
  const page = await get("admin/prices/changes", { skip, limit: CHANGES_PAGE });
  const rows = page.changes.map((c) => `<tr><td>${esc(timestamp(c.created_at))}</td><td>${esc(c.actor)}</td>
    <td>${esc(c.action)}</td><td>${described(c.before)}</td><td>${described(c.after)}</td></tr>`).join("");
  const last = Math.min(skip + page.changes.length, page.total);
  const box = document.getElementById("changes");
  if (!box) return; // the page was left meanwhile
  box.innerHTML = `<div class="table-wrap"><table id="changes-table"><thead><tr><th scope="col">When (UTC)</th>
      <th scope="col">Who</th><th scope="col">Action</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
      <tbody>${rows || '<tr><td colspan="5" class="empty">No change yet.</td></tr>'}</tbody></table></div>
    <nav class="pager" aria-label="Change log pages">
      <button type="button" class="secondary" id="changes-newer"${skip > 0 ? "" : " disabled"}>Newer</button>
      <span id="changes-count" role="status">${page.total ? `${count(skip + 1)}–${count(last)} of ${count(page.total)}` : ""}</span>
      <button type="button" class="secondary" id="changes-older"${page.has_more ? "" : " disabled"}>Older</button>
    </nav>`;
  const turn = (id, next) => document.getElementById(id).addEventListener("click", () => {
    showChanges(next).then(() => document.getElementById(id)?.focus()).catch((failure) => {
      box.insertAdjacentHTML("afterbegin", `<p class="error" role="alert">${esc(failure.message)}</p>`);
    });
  });
  turn("changes-newer", Math.max(0, skip - CHANGES_PAGE));
  turn("changes-older", skip + CHANGES_PAGE);
}

function table(rates, admin, history) {
  const head = ["Provider", "GPU type", "USD / GPU-hour", "Valid from (UTC)", "Valid to", ...(history ? ["State"] : []),
    "Origin", "Source", "Note", ...(admin ? [""] : [])];
  const rows = rates.map((r) => `<tr data-rate="${r.id}">
    <td>${esc(r.provider)}</td><td>${esc(r.gpu_type)}</td><td class="num">${rate(r.usd_per_gpu_hour)}</td>
    <td>${esc(timestamp(r.valid_from, true))}</td><td>${esc(r.valid_to ? timestamp(r.valid_to, true) : "open")}</td>
    ${history ? `<td>${esc(r.retired_at ? "retired" : r.state ?? "")}</td>` : ""}
    <td>${esc(r.origin)}${r.created_by && r.origin === "custom" ? ` <span class="muted">by ${esc(r.created_by)}</span>` : ""}</td>
    <td>${r.source ? `<a href="${esc(r.source)}" rel="noopener noreferrer" target="_blank">source</a>` : ""}${r.source_date ? ` <span class="muted">${esc(r.source_date)}</span>` : ""}</td>
    <td>${esc(r.note ?? "")}</td>
    ${admin ? `<td>${r.origin === "custom" && !r.retired_at ? `<button type="button" class="secondary" data-retire="${r.id}">Retire</button>` : ""}</td>` : ""}
  </tr>`).join("");
  return `<div class="table-wrap"><table id="rates-table"><thead><tr>${head.map((h, i) =>
    `<th scope="col"${i === 2 ? ' class="num"' : ""}>${h}</th>`).join("")}</tr></thead>
    <tbody>${rows || `<tr><td colspan="${head.length}" class="empty">No rate matches.</td></tr>`}</tbody></table></div>`;
}

/** Draw the rate card for the hash's parameters (`filter`, `history`, and `provider`/`gpu_type` to price). */
export async function renderRates(main, params) {
  const admin = currentUser().role === "admin";
  const history = params.get("history") === "1";
  const filter = params.get("filter") ?? params.get("gpu_type") ?? "";
  const card = await get("prices", history ? { include: "history" } : {});
  const rates = card.prices.filter((r) => matches(r, filter));
  main.innerHTML = `<h1>Rate card</h1>
    <p class="muted">USD per GPU-hour ${history ? "of every rate ever added" : `in force at ${esc(timestamp(card.at))}`}:
      catalog rates come from the shipped file (each with its public source and date), custom rates from admins.
      A job without a billed cost costs its GPU-hours × the rate in force while it ran.</p>
    <form class="controls" id="rates-filter" role="search">
      <label>Filter <input name="filter" value="${esc(filter)}" placeholder="GPU type, provider, note"></label>
      <label class="inline"><input type="checkbox" name="history" value="1"${history ? " checked" : ""}> Show history</label>
      <button type="submit">Apply</button>
    </form>
    ${admin ? addForm(params) : ""}
    <p class="muted" id="rates-count">${count(rates.length)} of ${count(card.prices.length)} rates.</p>
    ${table(rates, admin, history)}
    ${admin ? changesSection() : ""}`;
  const filterForm = document.getElementById("rates-filter");
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = {};
    if (filterForm.filter.value.trim()) next.filter = filterForm.filter.value.trim();
    if (filterForm.history.checked) next.history = "1";
    setParams("rates", next);
    renderRates(main, new URLSearchParams(next));
  });
  if (admin) {
    wireAdmin(main, params);
    await showChanges(0);
  }
  main.dataset.loaded = "true";
}

function wireAdmin(main, params) {
  const form = document.getElementById("add-rate");
  const result = document.getElementById("rate-result");
  const show = async (action) => {
    result.innerHTML = '<p class="muted">Saving and recosting…</p>';
    try {
      const answer = await action();
      const recost = await settled(answer);
      const keep = Object.fromEntries([...params].filter(([k]) => ["filter", "history"].includes(k)));
      await renderRates(main, new URLSearchParams(keep));
      document.getElementById("rate-result").innerHTML = `<div class="notice">${report(answer.message, recost)}</div>`;
    } catch (failure) {
      const problem = failure.problem ?? {};
      const fields = (problem.errors ?? []).map((e) => `${(e.loc ?? []).slice(-1)[0]}: ${e.msg}`).join("; ");
      result.innerHTML = `<p class="error" role="alert">${esc(failure.message)}${fields ? ` (${esc(fields)})` : ""}</p>`;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const fields = {
      provider: data.get("provider").trim(), gpu_type: data.get("gpu_type").trim(),
      usd_per_gpu_hour: data.get("usd_per_gpu_hour").trim(), valid_from: `${data.get("valid_from")}T00:00:00Z`,
    };
    if (data.get("valid_to")) fields.valid_to = `${data.get("valid_to")}T00:00:00Z`;
    if (data.get("note").trim()) fields.note = data.get("note").trim();
    show(() => post("admin/prices", { rates: [fields] }));
  });
  main.querySelector("#rates-table").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-retire]");
    if (!button) return;
    const row = button.closest("tr");
    const what = `${row.cells[0].textContent} ${row.cells[1].textContent} at ${row.cells[2].textContent}`;
    if (!window.confirm(`Retire the rate ${what}? The jobs it priced are recosted.`)) return;
    show(() => del(`admin/prices/${button.dataset.retire}`));
  });
}
