// Offers the browser's own time zone: on the time-zone page, a button that
// selects it in the list; on the dashboard (only while the operator has not
// chosen a zone), a one-click form that saves it. Both stay hidden unless the
// browser names its zone and it differs from the zone the page shows. Without
// JavaScript the list on the time-zone page does the same.
(function () {
  "use strict";
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  if (!zone) {
    return;
  }

  var select = document.getElementById("id_time_zone");
  var note = document.querySelector("[data-browser-zone-note]");
  if (select && note) {
    var listed = Array.prototype.some.call(select.options, function (option) {
      return option.value === zone;
    });
    if (listed && select.value !== zone) {
      note.querySelector("[data-browser-zone-name]").textContent = zone;
      note.hidden = false;
      note.querySelector("[data-use-browser-zone]").addEventListener("click", function () {
        select.value = zone;
        select.focus();
      });
    }
  }

  var offer = document.querySelector("[data-browser-zone-offer]");
  if (offer && offer.getAttribute("data-current-zone") !== zone) {
    offer.querySelector('input[name="time_zone"]').value = zone;
    Array.prototype.forEach.call(offer.querySelectorAll("[data-browser-zone-name]"), function (el) {
      el.textContent = zone;
    });
    offer.hidden = false;
  }
})();
