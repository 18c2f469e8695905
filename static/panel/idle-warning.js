// Warns a few minutes before the session's idle limit, so that a form being
// filled in is not lost: "Stay signed in" asks the panel for an empty answer
// (a POST to accounts:keep-alive), which counts as activity. The panel
// enforces the limit itself; without this script nothing changes except
// that no warning appears.
(function () {
  "use strict";
  var box = document.querySelector("[data-idle-warning]");
  if (!box) {
    return;
  }
  var idle = Number(box.getAttribute("data-idle-seconds")) * 1000;
  var ahead = Number(box.getAttribute("data-warn-seconds")) * 1000;
  var url = box.getAttribute("data-keep-alive-url");
  var text = box.querySelector("[data-idle-text]");
  var button = box.querySelector("[data-keep-alive]");
  // The page says how long the session has left (the panel writes activity
  // back only now and then, so this may be less than the whole limit).
  var lastActivity = Date.now() - idle + Number(box.getAttribute("data-idle-left")) * 1000;
  var timer = null;

  function minutesLeft() {
    return Math.max(0, Math.ceil((lastActivity + idle - Date.now()) / 60000));
  }

  function tick() {
    var left = lastActivity + idle - Date.now();
    if (left <= 0) {
      text.textContent = "You were signed out after " + Math.round(idle / 60000) +
        " minutes without activity. Copy anything you typed here before you reload the page or sign in again.";
      button.hidden = true;
      box.hidden = false;
      return;
    }
    if (left <= ahead) {
      var minutes = minutesLeft();
      text.textContent = "Without activity you will be signed out in about " + minutes +
        (minutes === 1 ? " minute" : " minutes") + ", and a form not yet sent would be lost.";
      button.hidden = false;
      box.hidden = false;
      timer = window.setTimeout(tick, Math.min(15000, left));
      return;
    }
    box.hidden = true;
    timer = window.setTimeout(tick, left - ahead);
  }

  button.addEventListener("click", function () {
    var csrf = document.querySelector('input[name="csrfmiddlewaretoken"]');
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      cache: "no-store",
      headers: { "X-CSRFToken": csrf ? csrf.value : "" }
    }).then(
      function (response) {
        if (response.status === 204) {
          lastActivity = Date.now();
          window.clearTimeout(timer);
          tick();
        } else {
          lastActivity = 0; // the session already ended
          window.clearTimeout(timer);
          tick();
        }
      },
      function () {
        text.textContent = "The panel could not be reached. Try again in a moment.";
      }
    );
  });
  tick();
})();
