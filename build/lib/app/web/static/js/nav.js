// The location's hash says the page and its parameters: "#/overview?preset=custom&start=…".

/** ["overview", URLSearchParams] from the hash; the page name as written (the caller checks it exists). */
export function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [page, search = ""] = hash.split("?");
  return [page, new URLSearchParams(search)];
}

/** Replace the hash's parameters without adding a history entry for each control change. */
export function setParams(page, params) {
  const search = new URLSearchParams(params).toString();
  history.replaceState(null, "", `#/${page}${search ? `?${search}` : ""}`);
}

/** Go to a page (a history entry): the router redraws on the hashchange. */
export function go(page, params = {}) {
  const search = new URLSearchParams(params).toString();
  location.hash = `#/${page}${search ? `?${search}` : ""}`;
}
