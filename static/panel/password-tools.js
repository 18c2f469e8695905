// Password helpers: "Copy the password" on the page that shows a generated
// password once, and "Show the passwords" next to password fields. Both
// controls are hidden in the HTML and shown here, so without JavaScript the
// page simply shows the password as text (select and copy it by hand) and the
// fields stay masked.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (!source || !navigator.clipboard) {
      return; // no clipboard (plain HTTP): copying by hand still works
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent).then(
        function () {
          if (status) { status.textContent = "Copied."; }
        },
        function () {
          if (status) { status.textContent = "The browser did not allow copying: select the password and copy it by hand."; }
        }
      );
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-reveal]"), function (wrapper) {
    var box = wrapper.querySelector('input[type="checkbox"]');
    var ids = wrapper.getAttribute("data-reveal").split(" ");
    wrapper.hidden = false;
    box.addEventListener("change", function () {
      ids.forEach(function (id) {
        var field = document.getElementById(id);
        if (field) { field.type = box.checked ? "text" : "password"; }
      });
    });
  });
})();
