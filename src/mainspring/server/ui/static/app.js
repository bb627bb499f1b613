// Mainspring UI: small progressive enhancements; every page reads fine without this file.
(function () {
  "use strict";

  // <time datetime="...Z"> elements: show the instant in the browser's time zone (the server
  // renders UTC; the title keeps it on hover).
  // Short where that is clear: the time alone today, no year this year.
  var clock = { hour: "2-digit", minute: "2-digit", second: "2-digit" };
  var formats = {
    today: new Intl.DateTimeFormat(undefined, clock),
    year: new Intl.DateTimeFormat(undefined, Object.assign({ month: "short", day: "numeric" }, clock)),
    other: new Intl.DateTimeFormat(undefined,
      Object.assign({ year: "numeric", month: "short", day: "numeric" }, clock)),
  };
  function formatFor(when, now) {
    if (when.toDateString() === now.toDateString()) return formats.today;
    return when.getFullYear() === now.getFullYear() ? formats.year : formats.other;
  }
  function localTimes(root) {
    var now = new Date();
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      el.textContent = formatFor(when, now).format(when);
      el.setAttribute("data-local", "");
    });
  }

  // Charts: a <div class="chart" data-chart="ID"> with its data in
  // <script type="application/json" id="ID">. Kinds are drawn by window.MainspringCharts.
  function charts(root) {
    root.querySelectorAll("[data-chart]:not([data-drawn])").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      var draw = window.MainspringCharts && window.MainspringCharts[el.getAttribute("data-kind")];
      if (!source || !draw) return;
      el.setAttribute("data-drawn", "");
      draw(el, JSON.parse(source.textContent));
    });
  }

  function enhance(root) { localTimes(root); charts(root); }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (event) { enhance(event.target); });
  window.MainspringEnhance = enhance;
})();
