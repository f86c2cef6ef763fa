// Display of the API's figures. Amounts arrive as decimal strings ("8274.417847"); they are rounded to the cent
// as decimals (half away from zero), never through a float, so the page shows what the API says to the cent.

const GROUP = /\B(?=(\d{3})+(?!\d))/g;

function splitDecimal(text) {
  const value = String(text ?? "0").trim();
  const negative = value.startsWith("-");
  const [whole, fraction = ""] = value.replace(/^[-+]/, "").split(".");
  return { negative, whole: whole.replace(/^0+(?=\d)/, "") || "0", fraction };
}

/** Round a decimal string to `places` decimals, half away from zero: "1.005" → "1.01" (2 places). */
export function roundDecimal(text, places) {
  const { negative, whole, fraction } = splitDecimal(text);
  const scaled = BigInt(whole + fraction.padEnd(places + 1, "0").slice(0, places + 1));
  let units = scaled / 10n;
  if (scaled % 10n >= 5n) units += 1n;
  let digits = units.toString().padStart(places + 1, "0");
  const intPart = places ? digits.slice(0, -places) : digits;
  const fracPart = places ? digits.slice(-places) : "";
  const zero = units === 0n;
  return { negative: negative && !zero, intPart, fracPart };
}

function grouped(intPart) {
  return intPart.replace(GROUP, ",");
}

/** "8274.417847" → "$8,274.42" (USD, thousands separators, cents). */
export function money(text) {
  const { negative, intPart, fracPart } = roundDecimal(text, 2);
  return `${negative ? "−" : ""}$${grouped(intPart)}.${fracPart}`;
}

/** A rate: USD with 2 to 6 decimals, as many as it has: "2.125000" → "$2.125", "3.000000" → "$3.00". */
export function rate(text) {
  const { negative, intPart, fracPart } = roundDecimal(text, 6);
  return `${negative ? "−" : ""}$${grouped(intPart)}.${fracPart.replace(/0+$/, "").padEnd(2, "0")}`;
}

/** GPU-hours with one decimal: "1422.583333" → "1,422.6". */
export function hours(text) {
  const { negative, intPart, fracPart } = roundDecimal(text, 1);
  return `${negative ? "−" : ""}${grouped(intPart)}.${fracPart}`;
}

/** An integer count with separators: 1234567 → "1,234,567". */
export function count(value) {
  return grouped(String(value));
}

/** A float for plotting only (axis positions); labels always come from the strings above. */
export function plotNumber(text) {
  return Number(text);
}

/** True when a decimal string is zero ("0.000000"). */
export function isZero(text) {
  return !/[1-9]/.test(String(text ?? "0"));
}

/** The change from `previous` to `current` (decimal strings or numbers) as text: "▲ 12.5 %", "▼ 3.0 %", "no change",
 *  or "new" when the previous window had none. Computed on micro-units, so it is exact before its own rounding. */
export function change(current, previous) {
  const micro = (v) => {
    const { negative, whole, fraction } = splitDecimal(v);
    const units = BigInt(whole + fraction.padEnd(6, "0").slice(0, 6));
    return negative ? -units : units;
  };
  const cur = micro(current);
  const prev = micro(previous);
  if (prev === 0n) return cur === 0n ? { text: "no change", direction: "flat" } : { text: "new", direction: "up" };
  const basisPoints = ((cur - prev) * 10000n) / prev; // hundredths of a percent
  const pct = Number(basisPoints) / 100;
  if (basisPoints === 0n) return { text: "no change", direction: "flat" };
  const arrow = pct > 0 ? "▲" : "▼";
  return { text: `${arrow} ${Math.abs(pct).toFixed(1)} %`, direction: pct > 0 ? "up" : "down" };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "2026-01-04" → "4 Jan 2026". */
export function day(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-").map(Number);
  return `${d} ${MONTHS[m - 1]} ${y}`;
}

/** "2026-01-01" → "January 2026". */
export function month(iso) {
  const names = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December"];
  const [y, m] = iso.split("-").map(Number);
  return `${names[m - 1]} ${y}`;
}

/** An ISO timestamp → "4 Jan 2026 13:05 UTC" (without " UTC" when `short`: a column that says UTC). */
export function timestamp(iso, short = false) {
  if (!iso) return "";
  const t = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${t.getUTCDate()} ${MONTHS[t.getUTCMonth()]} ${t.getUTCFullYear()} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}${short ? "" : " UTC"}`;
}

/** Escape text for HTML. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** `a − b` for two decimal strings of at most 6 places ("31.250000" − "6.000000" → "25.250000"), exactly. */
export function minus(a, b) {
  const scaled = (text) => {
    const { negative, whole, fraction } = splitDecimal(text);
    const units = BigInt(whole + fraction.padEnd(6, "0").slice(0, 6));
    return negative ? -units : units;
  };
  const units = scaled(a) - scaled(b);
  const digits = (units < 0n ? -units : units).toString().padStart(7, "0");
  return `${units < 0n ? "-" : ""}${digits.slice(0, -6)}.${digits.slice(-6)}`;
}
