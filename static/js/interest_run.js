// The interest run's progress, refreshed from the API while the run works; once it is done
// the page reloads for its final totals. Without JavaScript the page's "Refresh" link does it.
(function () {
  "use strict";
  var section = document.getElementById("interest-run");
  if (!section || !window.fetch) return;
  var url = section.getAttribute("data-status-url");
  var finished = function (status) { return status === "completed" || status === "failed"; };
  if (finished(section.getAttribute("data-status"))) return;
  var progress = document.getElementById("run-progress");
  var labels = { queued: "Queued", running: "Running", completed: "Completed", failed: "Failed" };

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (run) {
        progress.max = Math.max(run.holdings_total, 1);
        progress.value = run.holdings_done;
        document.getElementById("run-done").textContent = run.holdings_done;
        document.getElementById("run-total").textContent = run.holdings_total;
        document.getElementById("run-status").textContent = labels[run.status] || run.status;
        if (finished(run.status)) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 500);
})();
