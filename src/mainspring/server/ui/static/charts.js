// Mainspring UI charts, drawn with uPlot (vendor/uplot). Each page renders its numbers as an
// HTML table too, so the chart is a picture of what the page already says.
(function () {
  "use strict";

  function humanSeconds(s) {
    if (s == null) return "";
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 60) return (Math.round(s * 10) / 10) + " s";
    if (s < 3600) return Math.floor(s / 60) + "m " + Math.round(s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.round((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.round((s % 86400) / 3600) + "h";
  }

  function sized(el, opts, data) {
    opts.width = Math.max(280, el.clientWidth);
    opts.height = el.getAttribute("data-height") ? +el.getAttribute("data-height") : 220;
    el.textContent = "";
    var plot = new uPlot(opts, data, el);
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        plot.setSize({ width: Math.max(280, el.clientWidth), height: opts.height });
      }).observe(el);
    }
    el.setAttribute("data-ready", "");
    return plot;
  }

  // Runs by state over time: stacked bars. data = {start, width, series: [{label, colour,
  // counts}]}; series come bottom first.
  function stateBars(el, data) {
    var n = data.series.length ? data.series[0].counts.length : 0;
    var xs = [];
    for (var i = 0; i < n; i++) xs.push(data.start + (i + 0.5) * data.width);
    var stacked = [], running = new Array(n).fill(0);
    data.series.forEach(function (s) {
      running = running.map(function (v, i) { return v + s.counts[i]; });
      stacked.push(running.slice());
    });
    var bars = uPlot.paths.bars({ size: [0.85, 40] });
    var series = [{}], values = [xs];
    // Tallest (the running total) first, so each smaller stack is drawn over it.
    for (var k = data.series.length - 1; k >= 0; k--) {
      series.push({ label: data.series[k].label, fill: data.series[k].colour,
        stroke: data.series[k].colour, width: 0, paths: bars, points: { show: false } });
      values.push(stacked[k]);
    }
    return sized(el, {
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true, range: [data.start, data.start + n * data.width] },
                y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      axes: [{}, { values: function (u, v) { return v.map(function (x) {
        return Number.isInteger(x) ? x : ""; }); } }],
      series: series,
    }, values);
  }

  // Durations over time: one point per run, coloured by state. data = {series: [{label,
  // colour, points: [[start, seconds], ...]}]}.
  function durationScatter(el, data) {
    var xs = [];
    data.series.forEach(function (s) { s.points.forEach(function (p) { xs.push(p[0]); }); });
    xs = Array.from(new Set(xs)).sort(function (a, b) { return a - b; });
    var index = new Map(xs.map(function (x, i) { return [x, i]; }));
    var series = [{}], values = [xs];
    data.series.forEach(function (s) {
      var ys = new Array(xs.length).fill(null);
      s.points.forEach(function (p) { ys[index.get(p[0])] = p[1]; });
      series.push({ label: s.label, stroke: s.colour, fill: s.colour, width: 0,
        paths: function () { return null; },
        points: { show: true, size: 7, stroke: s.colour, fill: s.colour } });
      values.push(ys);
    });
    return sized(el, {
      legend: { show: false },
      scales: { x: { time: true }, y: { range: function (u, min, max) {
        return [0, Math.max(1, max * 1.1)]; } } },
      axes: [{}, { size: 70, values: function (u, v) { return v.map(humanSeconds); } }],
      series: series,
    }, values);
  }

  window.MainspringCharts = { "state-bars": stateBars, "duration-scatter": durationScatter };
})();
