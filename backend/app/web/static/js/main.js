// The dashboard's shell: sign-in, the page router (`#/page?key=value`), and the session's end.

import { ApiError, currentUser, onSessionEnd, signIn, signOut } from "./api.js";
import { plotly } from "./charts.js";
import { esc } from "./format.js";
import { route } from "./nav.js";
import { renderBudgets } from "./budgets.js";
import { renderExplore } from "./explore.js";
import { renderJob, renderJobs } from "./jobs.js";
import { renderOverview } from "./overview.js";
import { renderRates } from "./rates.js";

const PAGES = { overview: renderOverview, jobs: renderJobs, job: renderJob, explore: renderExplore,
  rates: renderRates, budgets: renderBudgets };
const NAV_PAGE = { job: "jobs" }; // a job's page is under Jobs in the navigation
const main = document.getElementById("main");
const top = document.getElementById("top");
let endMessage = "";
let drawn = 0; // pages drawn so far: an older page's late failure is not shown on the current one

function showSignIn(message = "") {
  top.hidden = true;
  main.innerHTML = `
    <section class="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in to jobcost</h1>
      <p class="muted">What GPU and ML compute costs, and who spent it.</p>
      ${message ? `<p class="notice" role="status" id="session-message">${esc(message)}</p>` : ""}
      <form id="sign-in-form" novalidate>
        <label for="email">E-mail</label>
        <input id="email" name="username" type="email" autocomplete="username" required>
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <p class="error" role="alert" id="sign-in-error"></p>
        <button type="submit" id="sign-in-button">Sign in</button>
      </form>
    </section>`;
  const form = document.getElementById("sign-in-form");
  const error = document.getElementById("sign-in-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const email = form.username.value.trim();
    const password = form.password.value;
    if (!email || !password) {
      error.textContent = "Enter your e-mail and your password.";
      return;
    }
    form.querySelector("button").disabled = true;
    performance.mark("sign-in"); // bench/dashboard.py measures the Overview from here
    try {
      await signIn(email, password);
      plotly().catch(() => {}); // start fetching the chart library while the first figures are asked for
      endMessage = "";
      render();
    } catch (failure) {
      form.querySelector("button").disabled = false;
      if (failure instanceof ApiError && failure.status === 401) {
        error.textContent = "Wrong e-mail or password (or the account is deactivated). Try again.";
        form.password.value = "";
        form.password.focus();
      } else {
        error.textContent = `Could not sign in: ${failure.message}`;
      }
    }
  });
  document.getElementById("email").focus();
}

function renderChrome(page) {
  const me = currentUser();
  top.hidden = false;
  const teams = me.role === "admin" ? "all teams" : me.teams.map((t) => t.name).join(", ") || "no team";
  document.getElementById("who").innerHTML =
    `<span class="email">${esc(me.email)}</span> <span class="role">${esc(me.role)} · ${esc(teams)}</span>`;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function render() {
  if (!currentUser()) {
    showSignIn(endMessage);
    return;
  }
  const [name, params] = route();
  const page = PAGES[name] ? name : "overview";
  renderChrome(NAV_PAGE[page] ?? page);
  delete main.dataset.loaded;
  delete main.dataset.totals;
  const mine = ++drawn;
  PAGES[page](main, params).catch((failure) => {
    if (mine !== drawn) return; // a page left before its answers came: its elements are gone, and so is the error
    if (failure instanceof ApiError && failure.status === 401) return; // the session's end redraws
    main.insertAdjacentHTML("afterbegin", `<p class="error" role="alert">${esc(failure.message)}</p>`);
  });
}

onSessionEnd((reason) => {
  endMessage = reason === "expired"
    ? "Your session has expired. Sign in again to go on where you were."
    : "You are signed out.";
  render();
});

document.getElementById("sign-out").addEventListener("click", () => signOut());
window.addEventListener("hashchange", () => render());
render();
