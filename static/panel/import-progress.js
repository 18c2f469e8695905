/* Refreshes an import's progress while it runs (progressive enhancement: the
   page is complete without this script; a reload shows the same figures).
   Reads progress.json once a second; reloads the page when the job's state
   changes, so that the actions and the report match the new state. */
(function () {
  "use strict";
  var section = document.getElementById("import-progress");
  if (!section || !window.fetch || section.getAttribute("data-final") === "true") {
    return;
  }
  var url = section.getAttribute("data-progress-url");
  var shownState = section.getAttribute("data-state");
  var bar = document.getElementById("import-bar");

  function show(data) {
    Object.keys(data.texts).forEach(function (name) {
      var fields = section.querySelectorAll('[data-field="' + name + '"]');
      Array.prototype.forEach.call(fields, function (field) {
        field.textContent = data.texts[name];
      });
    });
    if (bar && data.total !== null) {
      bar.setAttribute("aria-valuemax", data.total);
      bar.setAttribute("aria-valuenow", data.sent);
    }
    if (bar) {
      bar.setAttribute("aria-valuetext", data.texts.value_text);
      data.segments.forEach(function (segment) {
        var rect = bar.querySelector('[data-segment="' + segment.name + '"]');
        if (rect) {
          rect.setAttribute("x", segment.x);
          rect.setAttribute("width", segment.width);
        }
      });
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        if (data.state !== shownState) {
          window.location.reload();
          return;
        }
        show(data);
        window.setTimeout(poll, 1000);
      })
      .catch(function () {
        window.setTimeout(poll, 5000); // signed out or server busy: slow down
      });
  }

  window.setTimeout(poll, 1000);
})();
