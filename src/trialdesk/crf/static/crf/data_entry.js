// Data entry in the form engine's pages (issue 15), loaded by crf/form.html (no inline script: CSP).
// - "Needed to complete the form" under a required field appears when the field is left empty
//   (and after a save attempt, which the server renders); it goes away once the field is filled.
// - Enter in a one-line field moves to the next field instead of submitting the form: only the
//   save button saves.
(function () {
  "use strict";

  function crfForm(el) {
    return el && el.closest ? el.closest("form.crf") : null;
  }

  function isEntry(el) {
    if (!el || !el.matches || !el.matches("input, select, textarea")) return false;
    return ["hidden", "submit", "button", "reset"].indexOf(el.type) === -1;
  }

  function hintOf(el) {
    var field = el.closest("[data-field]");
    return field ? field.querySelector("[data-needed-hint]") : null;
  }

  function isEmpty(el) {
    return !el.value || !String(el.value).trim();
  }

  document.addEventListener("focusout", function (event) {
    var el = event.target;
    if (!crfForm(el) || !isEntry(el) || el.readOnly || el.disabled) return;
    var hint = hintOf(el);
    if (hint) hint.hidden = !isEmpty(el);
  });

  document.addEventListener("input", function (event) {
    var el = event.target;
    if (!crfForm(el) || !isEntry(el)) return;
    var hint = hintOf(el);
    if (hint && !isEmpty(el)) hint.hidden = true;
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing) return;
    var el = event.target;
    var form = crfForm(el);
    if (!form || el.tagName !== "INPUT" || !isEntry(el) || el.type === "checkbox" || el.type === "radio") return;
    event.preventDefault();
    var entries = Array.prototype.filter.call(form.elements, function (other) {
      return isEntry(other) && !other.disabled && other.offsetParent !== null;
    });
    var next = entries[entries.indexOf(el) + 1];
    if (next) next.focus();
  });
})();
