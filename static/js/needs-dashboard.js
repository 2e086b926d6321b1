/* The dashboard's 群众点单 charts (templates/admin/needs/dashboard.html): needs per month
   by kind (stacked) and by grid (stacked), from the JSON the page carries. */
(function () {
  "use strict";
  var holder = document.getElementById("needs-dashboard-data");
  if (!holder || typeof Chart === "undefined") { return; }
  var d = JSON.parse(holder.textContent);
  var palette = ["#c0392b", "#e67e22", "#27ae60", "#2980b9", "#8e44ad", "#16a085", "#7f8c8d", "#d35400",
                 "#f1c40f", "#2c3e50", "#e84393", "#00b894", "#6c5ce7", "#fdcb6e", "#0984e3", "#b2bec3",
                 "#fab1a0", "#55efc4", "#a29bfe", "#636e72"];
  function stacked(id, series) {
    var el = document.getElementById(id);
    if (!el) { return; }
    new Chart(el, {
      type: "bar",
      data: { labels: d.labels, datasets: series.map(function (s, i) {
        return { label: s.label, data: s.data, backgroundColor: palette[i % palette.length] }; }) },
      options: { maintainAspectRatio: false, plugins: { legend: { position: "bottom", labels: { boxWidth: 10 } } },
                 scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
  stacked("chart-needs-kinds", d.kinds);
  stacked("chart-needs-grids", d.grids);
  document.documentElement.setAttribute("data-needs-charts", "drawn");
})();
