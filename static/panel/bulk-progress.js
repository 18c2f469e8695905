/* Refreshes a bulk plan's progress while it is applied (progressive
   enhancement: a reload shows the same figures). Reads progress.json once a
   second and reloads the page when the plan's state changes, so that the
   actions, the rows and the passwords' link match the new state. */
(function () {
  "use strict";
  var section = document.getElementById("bulk-progress");
  if (!section || !window.fetch || section.getAttribute("data-final") === "true") {
    return;
  }
  var url = section.getAttribute("data-progress-url");
  var shownState = section.getAttribute("data-state");
  var bar = document.getElementById("bulk-bar");

  function show(data) {
    Object.keys(data.texts).forEach(function (name) {
      var fields = section.querySelectorAll('[data-field="' + name + '"]');
      Array.prototype.forEach.call(fields, function (field) {
        field.textContent = data.texts[name];
      });
    });
    if (bar) {
      bar.setAttribute("max", data.total);
      bar.setAttribute("value", data.done);
      bar.setAttribute("aria-valuetext", data.texts.value_text);
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
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 1000);
})();
