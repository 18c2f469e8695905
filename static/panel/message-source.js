// The deliver form: shows only the fields of the chosen message source
// (written in fields, pasted raw, uploaded, or the file kept from before) and
// disables the others, so that what is hidden is not sent either. Without
// JavaScript every field stays visible, and the server refuses a second
// source filled in besides the chosen one instead of dropping it.
(function () {
  "use strict";
  var form = document.querySelector("[data-message-source]");
  if (!form) {
    return;
  }
  var radios = form.querySelectorAll('input[name="source"]');
  var parts = form.querySelectorAll("[data-source-for]");

  function update() {
    var chosen = form.querySelector('input[name="source"]:checked');
    var value = chosen ? chosen.value : "";
    Array.prototype.forEach.call(parts, function (part) {
      // Nothing chosen (a client that sent no choice): everything stays.
      var off = value !== "" && part.getAttribute("data-source-for") !== value;
      part.hidden = off;
      if (part.tagName === "FIELDSET") {
        part.disabled = off;
      }
    });
  }

  Array.prototype.forEach.call(radios, function (radio) {
    radio.addEventListener("change", update);
  });
  update();
})();
