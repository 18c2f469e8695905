/* Refreshes a run's progress while it runs: an import's, a bulk plan's
   (progressive enhancement: the page is complete without this script; a
   reload shows the same figures). The page's section says what to follow:
     data-progress-url  the progress.json read once a second;
     data-state         the state shown: when progress.json says another, the
                        page reloads, so that its actions and report match;
     data-final         "true" when nothing will change (no polling);
     data-bar           the id of the bar: a <progress> (max, value) or a
                        role="progressbar" (aria-valuemax, aria-valuenow, and
                        the [data-segment] rects inside it);
     data-bar-count     the figure of progress.json that fills the bar.
   Each [data-field] in the section shows texts[its name]. */
(function () {
  "use strict";
  var section = document.querySelector("[data-progress-url]");
  if (!section || !window.fetch || section.getAttribute("data-final") === "true") {
    return;
  }
  var url = section.getAttribute("data-progress-url");
  var shownState = section.getAttribute("data-state");
  var count = section.getAttribute("data-bar-count");
  var bar = document.getElementById(section.getAttribute("data-bar"));
  var isProgress = bar && bar.tagName === "PROGRESS";

  function show(data) {
    Object.keys(data.texts).forEach(function (name) {
      var fields = section.querySelectorAll('[data-field="' + name + '"]');
      Array.prototype.forEach.call(fields, function (field) {
        field.textContent = data.texts[name];
      });
    });
    if (!bar) {
      return;
    }
    if (data.total !== null) {
      bar.setAttribute(isProgress ? "max" : "aria-valuemax", data.total);
      bar.setAttribute(isProgress ? "value" : "aria-valuenow", data[count]);
    }
    bar.setAttribute("aria-valuetext", data.texts.value_text);
    (data.segments || []).forEach(function (segment) {
      var rect = bar.querySelector('[data-segment="' + segment.name + '"]');
      if (rect) {
        rect.setAttribute("x", segment.x);
        rect.setAttribute("width", segment.width);
      }
    });
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
