// Passkeys (WebAuthn): a form marked data-passkey="create" or "get" carries the
// server's options as JSON in data-passkey-options; on submit this asks the
// browser's authenticator, puts its answer (JSON) in the hidden "credential"
// field and sends the form. Without JavaScript, or in a browser without
// WebAuthn's JSON helpers, the status line says so and the form sends no answer.
(function () {
  "use strict";
  var supported =
    window.PublicKeyCredential &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";

  Array.prototype.forEach.call(document.querySelectorAll("form[data-passkey]"), function (form) {
    var status = form.querySelector("[data-passkey-status]");
    var answer = form.elements.namedItem("credential");
    if (!supported) {
      status.textContent = "This browser cannot use passkeys: use another factor.";
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var options = JSON.parse(form.getAttribute("data-passkey-options"));
      var asked =
        form.getAttribute("data-passkey") === "create"
          ? navigator.credentials.create({
              publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
            })
          : navigator.credentials.get({
              publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
            });
      status.textContent = "Waiting for your passkey…";
      asked.then(
        function (credential) {
          answer.value = JSON.stringify(credential.toJSON());
          form.submit();
        },
        function (error) {
          status.textContent = "The passkey gave no answer (" + error.name + "). Try again.";
        }
      );
    });
  });
})();
