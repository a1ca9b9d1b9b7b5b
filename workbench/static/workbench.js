// Progressive enhancement only: every page works without this file.
// 1. Times in the reader's local form (the page says UTC until this runs).
// 2. Keyboard shortcuts on the queue and the claim page; "?" lists them. Each one moves the
//    focus to a link, button or field that a mouse or Tab reaches too; Enter then acts.
(function () {
  "use strict";

  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) {
      el.title = el.textContent;
      el.textContent = when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    }
  });

  var help = document.getElementById("shortcuts");
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) {
      return;
    }
    if (event.key === "?" && help) {
      help.hidden = !help.hidden;
      if (!help.hidden) { help.focus(); }
      event.preventDefault();
      return;
    }
    if (event.key === "Escape" && help && !help.hidden) {
      help.hidden = true;
      return;
    }
    if (event.key === "j" || event.key === "k") {
      var rows = Array.prototype.slice.call(document.querySelectorAll("[data-queue-item]"));
      if (rows.length) {
        var at = rows.indexOf(document.activeElement);
        var next = event.key === "j" ? Math.min(at + 1, rows.length - 1) : Math.max(at - 1, 0);
        rows[at === -1 ? 0 : next].focus();
        event.preventDefault();
        return;
      }
    }
    var target = document.querySelector('[data-shortcut="' + event.key + '"]');
    if (target) {
      target.focus();
      if (target.tagName === "A" && target.dataset.follow === "yes") { target.click(); }
      event.preventDefault();
    }
  });
})();
