/* What Flask-Admin's templates did with inline on…= handlers, which the
   Content-Security-Policy forbids (auth/web_security.py). Our overrides of those templates
   (templates/admin/actions.html, admin/model/row_actions.html, admin/model/layout.html)
   carry data- attributes instead, handled here:
     data-confirm="…"        ask first; cancel the click (a form submit, a link) on "no"
     data-model-action="…"   run a bulk action on the ticked rows (Flask-Admin's modelActions)
     data-no-navigate        a menu item that only runs its own handler
     data-print              print the page */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }
    var asking = target.closest("[data-confirm]");
    if (asking && !window.confirm(asking.getAttribute("data-confirm"))) {
      event.preventDefault();
      return;
    }
    var bulk = target.closest("[data-model-action]");
    if (bulk) {
      event.preventDefault();
      if (window.modelActions) { window.modelActions.execute(bulk.getAttribute("data-model-action")); }
      return;
    }
    if (target.closest("[data-no-navigate]")) {
      event.preventDefault();
      return;
    }
    if (target.closest("[data-print]")) {
      event.preventDefault();
      window.print();
    }
  });
})();
