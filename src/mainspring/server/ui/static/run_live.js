// Mainspring UI: a running flow run's page kept current from its `tasks` events (see
// server/ui/run_live.py): timeline rows, counts, the task-run table and the subflow runs.
// Without this file the page is the server's picture at load time, readable as it is.
(function () {
  "use strict";
  var page = document.getElementById("run-page");
  var feed = document.getElementById("task-feed");
  if (!page || !feed) return;

  var skew = 0; // the server's clock minus ours, in seconds
  var running = true;
  var going = false; // some bar grows with the clock
  var index = null; // task run id -> the elements showing it one by one
  var ORDER = ["failed", "crashed", "running", "pending", "scheduled", "cancelling",
    "cancelled", "paused", "completed"];

  function num(value) { return value === "" || value == null ? null : parseFloat(value); }
  function text(value) { return value == null ? "" : String(value); }
  function now() { return Date.now() / 1000 + skew; }
  function thousands(n) { return Number(n).toLocaleString("en-US"); }
  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content != null) node.textContent = content;
    return node;
  }

  // The same rounding as formatting.human_duration.
  function duration(seconds) {
    if (seconds == null) return "\u2014";
    seconds = Math.max(0, seconds);
    if (seconds < 1) return Math.round(seconds * 1000) + " ms";
    if (seconds < 60) return seconds.toFixed(1) + " s";
    var whole = Math.round(seconds), minutes = Math.floor(whole / 60), secs = whole % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    if (minutes < 60) return minutes + "m " + two(secs) + "s";
    var hours = Math.floor(minutes / 60);
    if (hours < 24) return hours + "h " + two(minutes % 60) + "m";
    return Math.floor(hours / 24) + "d " + (hours % 24) + "h";
  }

  function timeTag(ts) {
    if (ts == null) return el("span", "none", "\u2014");
    var iso = new Date(ts * 1000).toISOString();
    var tag = el("time", null, iso.slice(0, 19).replace("T", " ") + " UTC");
    tag.setAttribute("datetime", iso);
    tag.title = tag.textContent;
    return tag;
  }

  // --- the timeline ---------------------------------------------------------------------
  function gantt() { return page.querySelector("ol.gantt"); }

  function place(bar, start, end, t0, span) {
    if (start == null || end == null) { bar.hidden = true; return; }
    bar.hidden = false;
    var left = Math.max(0, Math.min(100, (start - t0) / span * 100));
    var width = Math.max(0.4, Math.min(100 - left, (end - start) / span * 100));
    bar.style.left = left.toFixed(3) + "%";
    bar.style.width = width.toFixed(3) + "%";
  }

  function rowEnd(row, current) {
    var start = num(row.dataset.start), end = num(row.dataset.end);
    if (start == null) return null;
    return +row.dataset.unfinished > 0 || end == null ? current : end;
  }

  // Positions are percentages of the run's span, which grows while the run goes on.
  function layout() {
    var list = gantt();
    if (!list || !list.children.length) return false;
    var current = now(), t0 = num(list.dataset.t0), t1 = num(list.dataset.t1);
    var rows = Array.prototype.slice.call(list.children), ends = [], going = false;
    var first = null;
    rows.forEach(function (row) {
      var start = num(row.dataset.start), end = rowEnd(row, current);
      if (start == null) return;
      if (first == null || start < first) first = start;
      if (end === current) going = true;
      ends.push(end);
    });
    if (t0 == null) t0 = first;
    if (t0 == null) return false;
    if (t1 == null) t1 = ends.length ? Math.max.apply(null, ends) : current;
    var span = Math.max(t1 - t0, 1e-3);
    rows.forEach(function (row) {
      var bar = row.querySelector(".gantt-bar.gantt-group");
      if (bar) place(bar, num(row.dataset.start), rowEnd(row, current), t0, span);
      row.querySelectorAll(".gantt-members .gantt-bar").forEach(function (member) {
        var start = num(member.dataset.start), end = num(member.dataset.end);
        place(member, start, start != null && end == null ? current : end, t0, span);
      });
    });
    page.querySelectorAll(".gantt-axis .tick").forEach(function (tick, i) {
      var at = span * i / 4; // as run_timeline.tick_label
      tick.textContent = span < 0.02 ? "+" + parseFloat((at * 1000).toFixed(2)) + " ms"
        : "+" + duration(at);
    });
    var total = document.getElementById("timeline-span");
    if (total) total.textContent = duration(span);
    return going;
  }

  function newRow(kind, name, link) {
    var row = el("li", "gantt-row gantt-" + kind), line = el("div", "gantt-line");
    var label = el("span", "gantt-label"), track = el("span", "gantt-track");
    var bar = el("span", "gantt-bar gantt-group");
    if (link) { var a = el("a", null, name); a.href = link; label.appendChild(a); }
    else label.textContent = name;
    if (kind === "subflow") label.append(" ", el("span", "muted", "(subflow)"));
    row.dataset.name = name;
    track.appendChild(bar);
    line.append(label, track);
    row.appendChild(line);
    gantt().appendChild(row);
    var axis = page.querySelector(".gantt-axis"), none = document.getElementById("no-timeline");
    if (axis) axis.hidden = false;
    if (none) none.hidden = true;
    return row;
  }

  function setSegments(row, segments) {
    var bar = row.querySelector(".gantt-bar.gantt-group"), total = 0;
    segments.forEach(function (s) { total += s[1]; });
    bar.replaceChildren.apply(bar, segments.map(function (s) {
      var seg = el("span", "seg state-" + s[0]);
      seg.style.width = (s[1] / (total || 1) * 100).toFixed(3) + "%";
      seg.title = s[1] + " " + s[0];
      return seg;
    }));
  }

  function updateGroup(group, runs) {
    var list = gantt();
    if (!list) return false;
    var row = list.querySelector('li.gantt-task[data-name="' + CSS.escape(group.name) + '"]');
    var added = !row;
    if (added) {
      var only = group.count === 1 && runs.filter(function (r) { return r.task === group.name; })[0];
      row = newRow("task", group.name, only ? "/runs/task-run/" + only.id : null);
    }
    row.dataset.count = group.count;
    row.dataset.start = text(group.start);
    row.dataset.end = text(group.end);
    row.dataset.unfinished = group.unfinished;
    var label = row.querySelector(".gantt-label"), count = label.querySelector(".gantt-count");
    if (group.count > 1) {
      if (!count) { label.append(" "); count = label.appendChild(el("span", "gantt-count")); }
      count.textContent = "\u00d7" + thousands(group.count);
    }
    setSegments(row, group.segments);
    return added;
  }

  function updateSubflowRow(run) {
    var list = gantt();
    if (!list) return false;
    var row = list.querySelector('li.gantt-subflow[data-subflow-id="' + CSS.escape(run.id) + '"]');
    var added = !row;
    if (added) {
      row = newRow("subflow", run.name, "/runs/flow-run/" + run.id);
      row.dataset.subflowId = run.id;
    }
    row.dataset.start = text(run.start);
    row.dataset.end = text(run.end);
    row.dataset.unfinished = run.start != null && run.end == null ? 1 : 0;
    setSegments(row, [[run.state, 1]]);
    return added;
  }

  function sortRows() {
    var list = gantt(), rows = Array.prototype.slice.call(list.children);
    var key = function (row) { var s = num(row.dataset.start); return s == null ? Infinity : s; };
    rows.sort(function (a, b) { return key(a) - key(b); });
    list.append.apply(list, rows);
  }

  // --- the task runs, one by one --------------------------------------------------------
  function elementsOf(id) {
    if (!index) {
      index = new Map();
      page.querySelectorAll("[data-run-id]").forEach(function (node) {
        var id = node.dataset.runId;
        if (!index.has(id)) index.set(id, []);
        index.get(id).push(node);
      });
    }
    return index.get(id) || [];
  }

  function fillRow(tr, run) {
    tr.querySelector("td.state").innerHTML = run.badge; // server-rendered, escaped
    tr.querySelector("td.duration").textContent = run.duration;
    tr.querySelector("td.attempts").textContent = run.attempts;
    var start = tr.querySelector("td.start");
    if (run.start != null && !start.querySelector("time")) start.replaceChildren(timeTag(run.start));
    var first = tr.querySelector("td"), error = first.querySelector(".error-line");
    if (run.error && !error) first.appendChild(el("span", "error-line", run.error));
    else if (!run.error && error) error.remove();
  }

  function newTableRow(run) {
    var tr = el("tr"), a = el("a", null, run.name);
    a.href = "/runs/task-run/" + run.id;
    var name = el("td");
    name.appendChild(a);
    tr.dataset.runId = run.id;
    tr.append(name, el("td", "state"), el("td", "nowrap start hide-narrow"),
      el("td", "num duration"), el("td", "num attempts hide-narrow"));
    return tr;
  }

  function updateRuns(runs, total) {
    var range = document.getElementById("task-range"), table = document.getElementById("task-table");
    var room = table && range && range.dataset.lastPage === "true";
    var body = table && table.tBodies[0], size = range ? +range.dataset.pageSize : 0;
    runs.forEach(function (run) {
      var shown = elementsOf(run.id);
      if (!shown.length && room && body.rows.length < size) {
        var tr = newTableRow(run);
        body.appendChild(tr);
        shown = [tr];
        index.set(run.id, shown);
        table.parentNode.hidden = false;
        var none = document.getElementById("no-task-runs");
        if (none) none.hidden = true;
      }
      shown.forEach(function (node) {
        if (node.tagName === "TR") { fillRow(node, run); return; }
        node.className = "gantt-bar state-" + run.state;
        node.dataset.start = text(run.start);
        node.dataset.end = text(run.end);
      });
    });
    if (range && body && body.rows.length && range.dataset.filtered !== "true") {
      var first = +(range.dataset.first || 1);
      if (range.firstChild && range.firstChild.nodeType === 3) range.firstChild.remove();
      range.prepend(thousands(first) + "\u2013" + thousands(first + body.rows.length - 1) +
        " of " + thousands(total));
    }
    if (body) window.MainspringEnhance && window.MainspringEnhance(body);
  }

  function updateSubflowLinks(runs) {
    var section = document.getElementById("subflows");
    if (!section || !runs.length) return;
    var list = section.querySelector("ul");
    runs.forEach(function (run) {
      var item = list.querySelector('li[data-subflow-id="' + CSS.escape(run.id) + '"]');
      if (!item) {
        item = el("li");
        item.dataset.subflowId = run.id;
        var a = el("a", null, run.name);
        a.href = "/runs/flow-run/" + run.id;
        item.append(a, " ", el("span", "muted", run.flow), " ", el("span", "badge"));
        list.appendChild(item);
      }
      item.querySelector(".badge").outerHTML = run.badge; // server-rendered, escaped
    });
    section.hidden = false;
  }

  // --- events ---------------------------------------------------------------------------
  function apply(change) {
    skew = change.now - Date.now() / 1000;
    var added = false;
    change.groups.forEach(function (g) { added = updateGroup(g, change.runs) || added; });
    change.subflows.forEach(function (r) { added = updateSubflowRow(r) || added; });
    if (added) sortRows();
    updateRuns(change.runs, change.total);
    updateSubflowLinks(change.subflows);
    var counts = document.getElementById("task-counts");
    if (counts) counts.innerHTML = change.counts; // numbers and badges, rendered by the server
    going = layout();
  }

  // Not swaps: `tasks` is JSON for apply(); `end` says the run has finished.
  feed.addEventListener("htmx:sseBeforeMessage", function (event) {
    event.preventDefault();
    if (event.detail.type === "end") finish();
    else apply(JSON.parse(event.detail.data));
  });

  // The run has finished: read its page once more (its final timeline, pager, actions),
  // keeping the groups that were open.
  function finish() {
    running = false;
    var open = Array.prototype.map.call(page.querySelectorAll(".gantt-row > details[open]"),
      function (d) { return d.parentNode.dataset.name; });
    fetch(location.href, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : Promise.reject(response.status);
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("run-page");
      if (!fresh) return;
      fresh = document.importNode(fresh, true);
      open.forEach(function (name) {
        var row = fresh.querySelector('li.gantt-task[data-name="' + CSS.escape(name) + '"] > details');
        if (row) row.open = true;
      });
      page.replaceWith(fresh);
      if (window.htmx) window.htmx.process(fresh);
      if (window.MainspringEnhance) window.MainspringEnhance(fresh);
      document.documentElement.setAttribute("data-run-final", "");
    }).catch(function () { /* the live picture stays; a reload shows the final one */ });
  }

  // While task runs go on their bars grow with the clock: redraw once a second, only then,
  // and not while the page is hidden.
  going = layout();
  var tick = setInterval(function () {
    if (!running) { clearInterval(tick); return; }
    if (going && !document.hidden) going = layout();
  }, 1000);
})();
