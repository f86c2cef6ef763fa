// Windows of UTC days: the presets of the picker, and the previous window of the same length.

const DAY = 86400000;

export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function parse(iso) {
  return new Date(`${iso}T00:00:00Z`);
}

export function addDays(iso, days) {
  return isoDay(new Date(parse(iso).getTime() + days * DAY));
}

export function lengthInDays(start, end) {
  return Math.round((parse(end) - parse(start)) / DAY) + 1;
}

export const PRESETS = [
  { id: "7d", label: "Last 7 days" },
  { id: "30d", label: "Last 30 days" },
  { id: "90d", label: "Last 90 days" },
  { id: "mtd", label: "Month to date" },
  { id: "custom", label: "Custom range" },
];

/** { start, end } (ISO days, both included) of a preset, relative to `today` (UTC); custom keeps its own. */
export function windowOf(preset, { start, end } = {}, today = isoDay(new Date())) {
  switch (preset) {
    case "7d": return { start: addDays(today, -6), end: today };
    case "30d": return { start: addDays(today, -29), end: today };
    case "90d": return { start: addDays(today, -89), end: today };
    case "mtd": return { start: `${today.slice(0, 7)}-01`, end: today };
    default: return { start: start || addDays(today, -29), end: end || today };
  }
}

/** The window of the same length just before `start`..`end`. */
export function previousWindow(start, end) {
  const days = lengthInDays(start, end);
  return { start: addDays(start, -days), end: addDays(start, -1) };
}

/** The step a chart of this window reads best with, when the user has not picked one. */
export function defaultStep(start, end) {
  const days = lengthInDays(start, end);
  return days <= 45 ? "day" : days <= 200 ? "week" : "month";
}
