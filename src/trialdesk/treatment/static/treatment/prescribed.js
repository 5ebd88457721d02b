// The prescribed fields of an infusion come from the validated prescription: read-only for
// the nurse (the server refuses a change of them anyway). A static file, because the
// Content-Security-Policy refuses inline scripts. Re-applied after htmx swaps.
(function () {
  "use strict";
  function apply() {
    document.querySelectorAll("[data-prescribed-fields]").forEach(function (panel) {
      var title = panel.getAttribute("data-prescribed-title") || "";
      panel.getAttribute("data-prescribed-fields").split(" ").forEach(function (code) {
        if (!code) { return; }
        document.querySelectorAll('form.crf [name="' + code + '"]').forEach(function (el) {
          if (el.tagName === "SELECT") {
            Array.prototype.forEach.call(el.options, function (option) { option.disabled = !option.selected; });
          } else {
            el.readOnly = true;
          }
          el.setAttribute("data-prescribed", "");
          el.setAttribute("aria-readonly", "true");
          el.title = title;
        });
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", apply);
  } else {
    apply();
  }
  document.addEventListener("htmx:afterSettle", apply);
})();
