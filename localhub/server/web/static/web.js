// Sync now: while a run is going on, poll /sync/progress and show it; reload for the report.
// Without JavaScript the page refreshes itself (a <noscript> meta refresh) instead.
(function () {
  "use strict";
  var box = document.getElementById("run");
  if (!box || box.getAttribute("data-running") !== "true") { return; }
  var phase = document.getElementById("phase");
  var bar = document.getElementById("progress");
  function poll() {
    fetch("/sync/progress", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (run) {
        if (!run.running) { window.location.reload(); return; }
        if (phase) { phase.textContent = run.phase; }
        // A pull gives no total (0): an indeterminate bar and a running count.
        if (bar && run.total) { bar.max = run.total; bar.value = run.done; bar.textContent = run.done + " of " + run.total; }
        else if (bar) { bar.removeAttribute("value"); bar.textContent = run.done + " entities"; }
        if (phase && !run.total && run.done) { phase.textContent = run.phase + " " + run.done + " entities"; }
        window.setTimeout(poll, 300);
      })
      .catch(function () { window.setTimeout(poll, 1000); });
  }
  window.setTimeout(poll, 300);
}());
