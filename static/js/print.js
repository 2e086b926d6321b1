// The 打印 button of the printable list (no inline script: CSP).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-button");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
});
