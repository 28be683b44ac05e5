// The home page's charts, drawn from the national picture the API serves.
(function () {
  "use strict";
  var holder = document.querySelector(".charts");
  if (!holder || typeof Chart === "undefined") { return; }
  var zh = holder.getAttribute("data-lang") === "zh";
  var kinds = { person: zh ? "个人" : "Persons", organisation: zh ? "组织" : "Organisations" };
  var colours = { person: "#0b4f8a", organisation: "#b85c00" };
  window.socialcreditCharts = {};
  function draw(id, config) {
    config.options = Object.assign({ animation: false, responsive: true }, config.options || {});
    window.socialcreditCharts[id] = new Chart(document.getElementById(id), config);
  }
  function byKind(counts) {
    return Object.keys(counts).map(function (kind) {
      return { label: kinds[kind] || kind, data: counts[kind], backgroundColor: colours[kind] };
    });
  }
  fetch(holder.getAttribute("data-stats"), { credentials: "same-origin" })
    .then(function (answer) { return answer.json(); })
    .then(function (picture) {
      var h = picture.histogram;
      draw("chart-histogram", { type: "bar", data: { labels: h.starts, datasets: byKind(h.counts) },
        options: { scales: { x: { stacked: true }, y: { stacked: true } } } });
      var g = picture.grades;
      draw("chart-grades", { type: "bar", data: { labels: g.names, datasets: Object.keys(g.counts).map(function (kind) {
        return { label: kinds[kind] || kind, backgroundColor: colours[kind],
                 data: g.names.map(function (name) { return g.counts[kind][name] || 0; }) };
      }) } });
      var names = Object.keys(picture.lists.person || {});
      draw("chart-lists", { type: "bar", data: { labels: names, datasets: Object.keys(picture.lists).map(function (kind) {
        return { label: kinds[kind] || kind, backgroundColor: colours[kind],
                 data: names.map(function (name) { return picture.lists[kind][name] || 0; }) };
      }) } });
      var p = picture.provinces;
      draw("chart-provinces", { type: "bar", data: { labels: p.map(function (x) { return x.name; }),
        datasets: [{ label: zh ? "平均信用分" : "Mean score", backgroundColor: colours.person,
                     data: p.map(function (x) { return x.mean_score; }) }] },
        options: { indexAxis: "y" } });
      holder.setAttribute("data-drawn", "true");
    });
}());
