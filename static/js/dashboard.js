/* Draws the admin dashboard's charts from the JSON the page carries; the tables
   underneath stay available (folded) for anyone who prefers numbers. */
(function () {
  "use strict";
  var holder = document.getElementById("dashboard-data");
  if (!holder || typeof Chart === "undefined") { return; }
  var d = JSON.parse(holder.textContent);
  var palette = ["#c0392b", "#e67e22", "#27ae60", "#2980b9", "#8e44ad", "#16a085", "#7f8c8d", "#d35400"];
  Chart.defaults.font.family = '"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif';
  Chart.defaults.maintainAspectRatio = false;
  function draw(id, config) {
    var el = document.getElementById(id);
    if (el) { new Chart(el, config); }
  }
  draw("chart-claims", {
    type: "bar",
    data: { labels: d.claims.labels, datasets: d.claims.series.map(function (s, i) {
      return { label: s.label, data: s.data, backgroundColor: palette[i % palette.length] }; }) },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
  });
  draw("chart-events", {
    type: "line",
    data: { labels: d.events.labels, datasets: [{ label: "活动场次", data: d.events.data, borderColor: palette[0],
      backgroundColor: "rgba(192,57,43,.15)", fill: true, tension: 0.3 }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
  draw("chart-hours", {
    type: "bar",
    data: { labels: d.hours.labels, datasets: [{ label: "服务时长（小时）", data: d.hours.data, backgroundColor: palette[3] }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } }
  });
  draw("chart-orders", {
    type: "doughnut",
    data: { labels: d.orders.labels, datasets: [{ data: d.orders.data, backgroundColor: palette }] },
    options: { plugins: { legend: { position: "right" } } }
  });
  document.querySelectorAll("details.data-table").forEach(function (el) { el.open = false; });
  document.documentElement.setAttribute("data-charts", "drawn");
})();
