// "Copy" buttons for read-only fields holding a token: a button with
// data-copy-from="ID" copies the field's text and says so in the element with
// data-copy-status="ID". Without JavaScript (or the Clipboard API) the buttons
// stay hidden and the field can be selected and copied by hand.
(function () {
  "use strict";
  if (!navigator.clipboard) {
    return;
  }
  var buttons = document.querySelectorAll("[data-copy-from]");
  Array.prototype.forEach.call(buttons, function (button) {
    var id = button.getAttribute("data-copy-from");
    var field = document.getElementById(id);
    var status = document.querySelector('[data-copy-status="' + id + '"]');
    if (!field) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(
        function () {
          if (status) { status.textContent = "Copied."; }
        },
        function () {
          field.focus();
          field.select();
          if (status) { status.textContent = "Copying was refused: the text is selected, copy it by hand."; }
        }
      );
    });
  });
})();
