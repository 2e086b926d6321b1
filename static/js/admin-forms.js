// Admin forms: date/time boxes typed freely with a picker button, and unit pickers that
// hide 已退出 units until asked. Loaded on every admin page (no inline script: CSP).
(function ($) {
  "use strict";

  // "2026-12-01 09:00" <-> "2026-12-01T09:00" (what <input type=datetime-local> holds)
  function toNative(text, kind) {
    var m = /^\s*(\d{4})[-\/.](\d{1,2})[-\/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2}))?/.exec(text || "");
    if (!m) { return ""; }
    var pad = function (s) { return ("0" + s).slice(-2); };
    var day = m[1] + "-" + pad(m[2]) + "-" + pad(m[3]);
    if (kind === "date") { return day; }
    return day + "T" + pad(m[4] || "0") + ":" + (m[5] || "00");
  }

  function fromNative(value, kind, seconds) {
    if (!value) { return ""; }
    if (kind === "date") { return value; }
    var text = value.replace("T", " ").slice(0, 16);
    return seconds ? text + ":00" : text;
  }

  function enhance(input, kind, seconds) {
    if (!input || input.getAttribute("data-picker-ready")) { return; }
    input.setAttribute("data-picker-ready", "1");
    input.setAttribute("autocomplete", "off");
    if (!input.getAttribute("placeholder")) {
      input.setAttribute("placeholder", kind === "date" ? "2026-12-01" : (seconds ? "2026-12-01 09:00:00" : "2026-12-01 09:00"));
    }
    var wrap = document.createElement("span");
    wrap.className = "picker-wrap";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    var native = document.createElement("input");
    native.type = kind === "date" ? "date" : "datetime-local";
    native.className = "picker-native";
    native.tabIndex = -1;
    native.setAttribute("aria-hidden", "true");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-outline-secondary btn-sm picker-button";
    button.textContent = kind === "date" ? "选择日期" : "选择时间";
    button.setAttribute("aria-label", kind === "date" ? "打开日期选择器" : "打开日期时间选择器");
    wrap.appendChild(button);
    wrap.appendChild(native);
    button.addEventListener("click", function () {
      native.value = toNative(input.value, kind);
      if (typeof native.showPicker === "function") {
        try { native.showPicker(); return; } catch (e) { /* not allowed here: fall back */ }
      }
      native.focus();
      native.click();
    });
    native.addEventListener("change", function () {
      input.value = fromNative(native.value, kind, seconds);
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    if (seconds) {  // list filters expect seconds; accept a typed minute
      input.addEventListener("blur", function () {
        if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/.test(input.value.trim())) { input.value = input.value.trim() + ":00"; }
      });
    }
  }

  // Flask-Admin's list filters create their date boxes with data-role=datepicker/datetimepicker
  // and hand them to bootstrap-daterangepicker, which rewrites half-typed text; use ours.
  $(document).on("adminFormReady", function () {
    var form = window.faForm;
    if (!form || form._alliancePickers) { return; }
    form._alliancePickers = true;
    var original = form.applyStyle;
    form.applyStyle = function ($el, name) {
      if (name === "datepicker" || name === "datetimepicker") {
        enhance($el[0], name === "datepicker" ? "date" : "datetime", /ss/.test($el.attr("data-date-format") || ""));
        return true;
      }
      return original.apply(this, arguments);
    };
  });

  function rankedPickers() {
    document.querySelectorAll("select[data-ranked-picker]").forEach(function (select) {
      var hidden = Array.prototype.filter.call(select.options, function (o) { return o.getAttribute("data-hidden") === "1"; });
      if (!hidden.length) { return; }
      var stash = document.createDocumentFragment();
      hidden.forEach(function (o) { stash.appendChild(o); });
      var label = document.createElement("label");
      label.className = "small ml-2 ranked-reveal";
      var box = document.createElement("input");
      box.type = "checkbox";
      box.className = "mr-1";
      label.appendChild(box);
      label.appendChild(document.createTextNode(select.getAttribute("data-ranked-picker") + "（" + hidden.length + "）"));
      select.parentNode.appendChild(label);
      box.addEventListener("change", function () {
        if (box.checked) {
          hidden.forEach(function (o) { select.appendChild(o); });
        } else {
          hidden.forEach(function (o) { if (!o.selected) { stash.appendChild(o); } });
        }
        $(select).trigger("change.select2");
      });
    });
  }

  $(function () {
    document.querySelectorAll("input[data-picker]").forEach(function (input) {
      enhance(input, input.getAttribute("data-picker"), false);
    });
    rankedPickers();
  });
})(window.jQuery);
