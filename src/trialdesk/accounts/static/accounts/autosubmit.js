// Submits a form when one of its <select data-autosubmit> changes (the language switch).
// A static file, because the Content-Security-Policy refuses inline handlers (onchange=…).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.submit();
  }
});
