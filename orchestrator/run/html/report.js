// report.html's own script: the charts (Chart.js, inlined before this) from the JSON block, and the checks'
// filter. Inlined by orchestrator/run/htmlreport.py and allowed by the page's CSP by its sha256 only.
"use strict";
(function () {
  var COLOURS = { ok: "#1a7f37", failed: "#cf222e", error: "#8250df", skipped: "#9a6700" };
  function fmt(s) { return s < 1 ? Math.round(s * 1000) + " ms" : s.toFixed(1) + " s"; }

  function timeline(spec) {
    return {
      type: "bar",
      data: {
        labels: spec.phases.map(function (p) { return p.name; }),
        datasets: [{
          label: "phase",
          data: spec.phases.map(function (p) { return [p.start, p.start + Math.max(p.seconds, 0.02)]; }),
          backgroundColor: spec.phases.map(function (p) { return COLOURS[p.status] || "#57606a"; }),
          borderSkipped: false, barPercentage: 0.8
        }]
      },
      options: {
        indexAxis: "y", maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          title: { display: true, text: "e2e phases (seconds from the lease)" },
          tooltip: { callbacks: { label: function (ctx) {
            var p = spec.phases[ctx.dataIndex]; return p.status + ", took " + fmt(p.seconds); } } }
        },
        scales: { x: { title: { display: true, text: "seconds" }, beginAtZero: true } }
      }
    };
  }

  function latency(spec) {
    var styles = { p50: "#1a7f37", p95: "#bf8700", p99: "#cf222e", max: "#57606a" };
    return {
      type: "line",
      data: {
        labels: spec.concurrency.map(String),
        datasets: spec.series.map(function (s) {
          return { label: s.name, data: s.data, borderColor: styles[s.name], backgroundColor: styles[s.name],
                   borderDash: s.name === "max" ? [6, 4] : [], tension: 0, pointRadius: 4 };
        })
      },
      options: {
        maintainAspectRatio: false,
        plugins: { title: { display: true, text: "latency percentiles per concurrency level" } },
        scales: { x: { title: { display: true, text: "concurrency (parallel flows)" } },
                  y: { title: { display: true, text: spec.unit }, beginAtZero: true } }
      }
    };
  }

  function disk(spec) {
    return {
      type: "bar",
      data: {
        labels: ["before", "after"],
        datasets: [{ label: "used GiB", data: spec.used_gib, backgroundColor: "#cf222e" },
                   { label: "free GiB", data: spec.free_gib, backgroundColor: "#1a7f37" }]
      },
      options: { maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true,
                 title: { display: true, text: "GiB on the Docker root" } } } }
    };
  }

  function filters() {
    var box = document.querySelector(".filters");
    if (!box) { return; }
    box.hidden = false;
    var text = document.getElementById("filter-text");
    function apply() {
      var want = {}, needle = text.value.toLowerCase();
      document.querySelectorAll(".filter-status").forEach(function (c) { want[c.value] = c.checked; });
      document.querySelectorAll("tr.check").forEach(function (row) {
        row.hidden = !want[row.dataset.status] || (needle && row.textContent.toLowerCase().indexOf(needle) < 0);
      });
    }
    box.addEventListener("input", apply);
    box.addEventListener("change", apply);
  }

  var specs = JSON.parse(document.getElementById("charts-data").textContent);
  var makers = { timeline: timeline, latency: latency, disk: disk };
  if (specs.length && typeof Chart !== "undefined") {
    Chart.defaults.animation = false;  // drawn at once: screenshots and printouts show the final chart
    specs.forEach(function (spec) {
      var canvas = document.getElementById(spec.id);
      if (canvas && makers[spec.kind]) { new Chart(canvas, makers[spec.kind](spec)); }
    });
  }
  filters();
  document.body.dataset.rendered = String(specs.length);
})();
