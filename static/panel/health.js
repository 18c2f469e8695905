// Refreshes the dashboard's health badge every 15 seconds without reloading
// the page. Without JavaScript the badge shows the state at page load.
(function () {
  "use strict";
  var section = document.querySelector("[data-health-url]");
  if (!section) { return; }
  var badge = section.querySelector("[data-health-badge]");
  var error = section.querySelector("[data-health-error]");
  var roundTrip = section.querySelector("[data-round-trip]");
  var raw = section.querySelector("[data-health-raw]");
  var url = section.getAttribute("data-health-url");

  function show(state) {
    var health = state.health || "UNKNOWN";
    var words = state.words || "Unknown";
    if (badge.textContent !== words) {
      badge.textContent = words;
      badge.className = "health health-" + health.toLowerCase();
    }
    raw.textContent = health;
    error.textContent = state.error ? "(" + state.error + ")" : "";
    if (typeof state.round_trip_ms === "number") {
      roundTrip.textContent = state.round_trip_ms.toFixed(1);
    }
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.redirected || !response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(show)
      .catch(function () { show({ health: "UNKNOWN", error: "The panel did not answer." }); });
  }

  window.setInterval(refresh, 15000);
})();
