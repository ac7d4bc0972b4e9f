// The contacts import's progress page: polls the import's status (a small JSON view) once
// a second and fills in the counters, until the import has finished.
(function () {
  const root = document.querySelector("[data-journeys-import-status]");
  if (!root) return;
  const url = root.dataset.journeysImportStatus;
  const bar = root.querySelector("progress");
  function show(state) {
    bar.value = state.percent;
    bar.textContent = state.percent + "%";
    root.querySelectorAll("[data-field]").forEach(function (node) {
      const value = state[node.dataset.field];
      if (value !== undefined) node.textContent = value;
    });
    root.querySelector(".journeys-import__error").hidden = !state.error;
    root.querySelector(".journeys-import__rejects").hidden = !(state.finished && (state.rejected || state.skipped));
    root.dataset.finished = state.finished ? "true" : "false";
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        show(state);
        if (!state.finished) window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
