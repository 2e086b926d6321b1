/* What Flask-Admin's templates did with inline on…= handlers and javascript: links, which
   the Content-Security-Policy forbids (auth/web_security.py). Our overrides of those
   templates (templates/admin/actions.html, admin/model/row_actions.html,
   admin/model/layout.html) carry data- attributes instead, handled here:
     data-confirm="…"        ask first; cancel the click (a form submit, a link) on "no"
     data-model-action="…"   run a bulk action on the ticked rows (Flask-Admin's modelActions)
     data-no-navigate        a menu item or toggle that only runs its own handler
     data-print              print the page
   A stock link to "javascript:void(0)" (menu toggles) is kept from navigating, too: the
   multi-level dropdown script Flask-Admin ships stops the click before Bootstrap's own
   handler could, and the policy would refuse the javascript: URL.
   The listener runs in the capture phase, before any handler on the element itself. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }
    var asking = target.closest("[data-confirm]");
    if (asking && !window.confirm(asking.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    var bulk = target.closest("[data-model-action]");
    if (bulk) {
      event.preventDefault();
      event.stopPropagation();
      if (window.modelActions) { window.modelActions.execute(bulk.getAttribute("data-model-action")); }
      return;
    }
    if (target.closest("[data-no-navigate], a[href^='javascript:']")) {
      event.preventDefault();
      return;
    }
    if (target.closest("[data-print]")) {
      event.preventDefault();
      window.print();
    }
  }, true);
})();
