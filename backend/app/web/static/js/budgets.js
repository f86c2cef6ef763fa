// Budgets: `GET /api/v1/budgets`, each budget of the caller's teams in its current period (the UTC month or
// quarter holding today): actual spend against the amount, the forecast total when there is one, and each
// threshold's state. Admins set budgets through the API or `jobcost budgets` (docs/budgets-and-alerts.md).

import { get } from "./api.js";
import { draw, placeholder, purge, PALETTE } from "./charts.js";
import { day, esc, money, plotNumber } from "./format.js";

const STATE_TEXT = { ok: "not reached", "crossed-actual": "reached", "crossed-forecast": "forecast to reach" };

function label(b) {
  const whom = b.team ? `Team ${b.team}` : "All teams";
  return `${whom} · ${b.period === "month" ? "monthly" : "quarterly"}${b.name ? ` · ${b.name}` : ""}`;
}

function percentOf(amountText, budgetText) {
  return (plotNumber(amountText) / plotNumber(budgetText)) * 100;
}

function thresholds(b) {
  return b.threshold_states.map((t) => `<li data-state="${esc(t.state)}"><span class="pct">${t.percent} %</span>
    (${money(t.amount)}): <span class="state">${esc(STATE_TEXT[t.state] ?? t.state)}</span>${
    t.crossed_at ? ` <span class="muted small">alerted ${esc(day(t.crossed_at.slice(0, 10)))}</span>` : ""}</li>`).join("");
}

function forecastText(b) {
  const f = b.forecast;
  if (!f) return `<span class="muted">not available</span>`;
  return `${money(f.expected_total)} <span class="muted small">(${Math.round(Number(f.interval_level) * 100)} %:
    ${money(f.interval_low)} to ${money(f.interval_high)})</span>`;
}

function table(budgets) {
  const rows = budgets.map((b) => `<tr data-budget="${esc(b.id)}">
    <th scope="row">${esc(label(b))}</th>
    <td>${esc(day(b.period_start))} to ${esc(day(b.period_end))}</td>
    <td class="num">${money(b.amount)}</td>
    <td class="num">${money(b.actual)}</td>
    <td class="num">${esc(b.actual_percent)} %</td>
    <td class="num">${forecastText(b)}</td>
    <td><ul class="thresholds">${thresholds(b)}</ul></td>
  </tr>`).join("");
  return `<div class="table-wrap"><table id="budgets-table"><thead><tr>
    <th scope="col">Budget</th><th scope="col">Period (UTC)</th><th scope="col" class="num">Amount</th>
    <th scope="col" class="num">Spent so far</th><th scope="col" class="num">Of amount</th>
    <th scope="col" class="num">Forecast total</th><th scope="col">Thresholds</th></tr></thead>
    <tbody>${rows}</tbody></table></div>`;
}

async function chart(element, budgets) {
  const names = budgets.map(label);
  const traces = [{
    type: "bar", orientation: "h", name: "Spent so far", y: names, marker: { color: PALETTE[0] },
    x: budgets.map((b) => percentOf(b.actual, b.amount)),
    text: budgets.map((b) => money(b.actual)), hovertemplate: "%{y}<br>spent %{text} (%{x:.1f} % of the amount)<extra></extra>",
  }];
  if (budgets.some((b) => b.forecast)) {
    traces.push({
      type: "bar", orientation: "h", name: "Forecast total", y: names, marker: { color: PALETTE[1] },
      x: budgets.map((b) => (b.forecast ? percentOf(b.forecast.expected_total, b.amount) : null)),
      text: budgets.map((b) => (b.forecast ? money(b.forecast.expected_total) : "")),
      hovertemplate: "%{y}<br>forecast %{text} (%{x:.1f} % of the amount)<extra></extra>",
    });
  }
  const marks = budgets.flatMap((b) => b.threshold_states.map((t) => ({ y: label(b), x: t.percent })));
  traces.push({ type: "scatter", mode: "markers", name: "Thresholds", y: marks.map((m) => m.y), x: marks.map((m) => m.x),
    marker: { symbol: "line-ns-open", size: 18, color: "#1f2933" }, hovertemplate: "threshold %{x} %<extra></extra>" });
  await draw(element, traces, {
    barmode: "group", height: 120 + 60 * budgets.length, margin: { l: 220, r: 16, t: 8, b: 56 },
    xaxis: { title: { text: "% of the budget's amount" }, ticksuffix: " %", rangemode: "tozero" },
    yaxis: { automargin: true },
  }, `Spend against each budget in its current period: ${budgets.map((b) =>
    `${label(b)} ${b.actual_percent} %`).join("; ")}`);
}

/** Draw the budgets of the caller's teams. */
export async function renderBudgets(main) {
  const answer = await get("budgets");
  const budgets = answer.budgets;
  purge(document.getElementById("budgets-chart"));
  main.innerHTML = `<h1>Budgets</h1>
    <p class="muted">Each budget in its current period (UTC days): what has been spent so far, the forecast total, and
      its thresholds. An alert goes to the webhooks once per threshold and period, when spend or the forecast reaches it.</p>
    ${budgets.length ? `<section class="panel" aria-labelledby="chart-title"><h2 id="chart-title">Spend against the budgets</h2>
      <div id="budgets-chart" class="chart"></div></section>
      <section class="panel" aria-labelledby="table-title"><h2 id="table-title">Budgets</h2>${table(budgets)}</section>`
    : `<p class="empty" id="no-budgets">No budget covers your teams yet. Admins set them with
      <code>POST /api/v1/admin/budgets</code> or <code>jobcost budgets create</code>.</p>`}`;
  main.dataset.loaded = "true";
  const element = document.getElementById("budgets-chart");
  if (element) {
    try {
      await chart(element, budgets);
    } catch (failure) {
      placeholder(element, `The chart could not be drawn: ${failure.message}`);
    }
  }
}
