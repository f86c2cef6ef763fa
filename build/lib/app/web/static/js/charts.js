// Charts with plotly.js (from the plotly package, served at assets/vendor/plotly.min.js). It is loaded after
// the first paint: the totals show at once, the charts when the library has arrived.

import { esc } from "./format.js";

// Okabe–Ito, readable by the colour-blind, then greys for "other".
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D31", "#332288",
  "#117733", "#882255"];
export const OTHER_COLOUR = "#9e9e9e";

let loading = null;

/** Resolves to window.Plotly, inserting its script once. */
export function plotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "assets/vendor/plotly.min.js";
      script.async = true;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => reject(new Error("the chart library could not be loaded"));
      document.head.append(script);
    });
  }
  return loading;
}

const BASE_LAYOUT = {
  margin: { l: 70, r: 16, t: 8, b: 56 },
  separators: ".,",
  font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 13, color: "#1f2933" },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  legend: { orientation: "h", x: 0, xanchor: "left", y: 1.02, yanchor: "bottom" },
  hoverlabel: { align: "left" },
};

// No mode bar: it covered the bars' labels, and its zoom tools are more than a cost chart needs.
const CONFIG = { displaylogo: false, responsive: true, displayModeBar: false };

/** Draw `traces` in `element` with axis titles; `summary` is read by screen readers. */
export async function draw(element, traces, layout, summary) {
  element.setAttribute("role", "img");
  element.setAttribute("aria-label", summary);
  const Plotly = await plotly();
  const merged = { ...BASE_LAYOUT, ...layout };
  // responsive plots take the container's height: give it the layout's, or a resize squeezes the plot.
  element.style.height = `${merged.height || 320}px`;
  await Plotly.react(element, traces, merged, CONFIG);
  element.dataset.rendered = "true";
}

/** A message in a chart's place (empty data, or a failed load). */
export function placeholder(element, text) {
  element.removeAttribute("role");
  element.style.height = "";
  element.innerHTML = `<p class="empty">${esc(text)}</p>`;
  element.dataset.rendered = "empty";
}

export function purge(element) {
  if (window.Plotly && element) window.Plotly.purge(element);
}
