// Shows only the fields the chosen option uses: on the user forms the password
// fields (keep: the current password; new/set: the new one twice; remove/none:
// nothing), on the sign-in form the password or the token group. Without
// JavaScript every field stays visible and the server ignores the ones the
// option does not use.
(function () {
  "use strict";
  var groups = document.querySelectorAll("[data-password-choice]");
  Array.prototype.forEach.call(groups, function (group) {
    var radios = group.querySelectorAll('input[type="radio"]');
    var parts = group.querySelectorAll("[data-password-for]");

    function update() {
      var chosen = group.querySelector('input[type="radio"]:checked');
      var value = chosen ? chosen.value : "";
      Array.prototype.forEach.call(parts, function (part) {
        var wanted = part.getAttribute("data-password-for").split(" ");
        part.hidden = wanted.indexOf(value) === -1;
      });
    }

    Array.prototype.forEach.call(radios, function (radio) {
      radio.addEventListener("change", update);
    });
    update();
  });
})();
