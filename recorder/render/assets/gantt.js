(function () {
  "use strict";
  // The Gantt chart of one flow, drawn into #chart from the JSON in #gantt-data.
  // Time runs on a "virtual" axis: idle stretches (no phase of any atom open)
  // longer than a threshold are collapsed to a narrow labelled band, so a resumed
  // flow's hours of downtime do not squeeze the work into slivers. Drag across the
  // chart to zoom into a window of it, double-click (or "reset") to see it all,
  // shift+wheel or the arrow buttons to pan. One lane per run segment.
  var NS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("gantt-data").textContent);
  var host = document.getElementById("chart");
  var tip = document.getElementById("tip");
  var ROW = 22, AXIS = 30, PAD = 10, CHAR = 7.2;

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function dur(s) {
    if (s === null || s === undefined) { return "-"; }
    if (s < 0.001) { return Math.round(s * 1e6) + "us"; }
    if (s < 1) { return (s * 1000).toFixed(1) + "ms"; }
    if (s < 60) { return s.toFixed(2) + "s"; }
    if (s < 3600) { return Math.floor(s / 60) + "m" + ("0" + Math.floor(s % 60)).slice(-2) + "s"; }
    return Math.floor(s / 3600) + "h" + ("0" + Math.floor((s % 3600) / 60)).slice(-2) + "m";
  }
  function niceStep(total) {
    var raw = total / 6, pow = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (raw <= steps[i] * pow) { return steps[i] * pow; } }
    return 10 * pow;
  }

  var span = data.span > 0 ? data.span : 1e-6;
  // -- busy intervals, idle gaps and the virtual axis ------------------------------
  var spans = [];
  data.atoms.forEach(function (atom) {
    atom.attempts.forEach(function (attempt) {
      attempt.phases.forEach(function (p) { spans.push([p.s, p.e === null ? span : p.e]); });
    });
  });
  data.runs.forEach(function (run) { spans.push([run.start, run.end === null ? span : run.end]); });
  spans.sort(function (a, b) { return a[0] - b[0]; });
  var busy = [];
  spans.forEach(function (s) {
    var last = busy[busy.length - 1];
    if (last && s[0] <= last[1]) { last[1] = Math.max(last[1], s[1]); } else { busy.push([s[0], s[1]]); }
  });
  if (!busy.length) { busy.push([0, span]); }
  var busyTotal = busy.reduce(function (acc, b) { return acc + (b[1] - b[0]); }, 0) || span;
  var threshold = Math.max(0.5, 0.25 * busyTotal);
  var gapU = 0.12 * busyTotal;
  var segs = [], u = 0, cursor = 0, gaps = 0;
  function addSeg(t0, t1, gap) {
    var len = gap ? gapU : t1 - t0;
    segs.push({ t0: t0, t1: t1, u0: u, u1: u + len, gap: gap });
    u += len;
  }
  busy.forEach(function (b) {
    if (b[0] - cursor > threshold) { addSeg(cursor, b[0], true); gaps += 1; }
    else if (b[0] > cursor) { addSeg(cursor, b[0], false); }
    addSeg(Math.max(cursor, b[0]), b[1], false);
    cursor = Math.max(cursor, b[1]);
  });
  if (span > cursor) { addSeg(cursor, span, span - cursor > threshold); }
  var total = u || 1e-6;
  function toU(t) {
    for (var i = 0; i < segs.length; i++) {
      var s = segs[i];
      if (t <= s.t1 || i === segs.length - 1) {
        if (s.t1 === s.t0) { return s.u0; }
        return s.u0 + (Math.min(Math.max(t, s.t0), s.t1) - s.t0) / (s.t1 - s.t0) * (s.u1 - s.u0);
      }
    }
    return total;
  }

  // -- lanes: one per run segment (a single lane when the flow ran once) --------------
  var runs = data.runs.length ? data.runs : [{ number: 1, start: 0, end: null, end_state: null }];
  function runOf(t) {
    for (var i = runs.length - 1; i >= 0; i--) { if (t >= runs[i].start - 1e-9) { return i; } }
    return 0;
  }
  var lanes = runs.map(function (run) { return { run: run, rows: [] }; });
  data.atoms.forEach(function (atom) {
    var byLane = {};
    atom.attempts.forEach(function (attempt) {
      var start = attempt.phases.length ? attempt.phases[0].s : 0;
      var lane = runs.length > 1 ? runOf(start) : 0;
      (byLane[lane] = byLane[lane] || []).push(attempt);
    });
    Object.keys(byLane).forEach(function (lane) {
      lanes[lane].rows.push({ atom: atom, attempts: byLane[lane] });
    });
  });
  if (runs.length === 1 && !lanes[0].rows.length) { lanes[0].rows = []; }

  var view = [0, total];
  function draw() {
    while (host.firstChild) { host.removeChild(host.firstChild); }
    var full = Math.max(320, host.clientWidth || 1000);
    var LABEL = Math.round(Math.max(110, Math.min(230, full * 0.24)));
    var width = full - LABEL - PAD;
    var vspan = view[1] - view[0];
    function x(t) { return LABEL + (toU(t) - view[0]) / vspan * width; }
    function fromX(px) { return view[0] + (px - LABEL) / width * vspan; }
    currentX = x;

    var bar = document.createElement("div");
    bar.className = "gantt-tools";
    var hint = document.createElement("span");
    hint.className = "note";
    hint.textContent = "drag across the chart to zoom; double-click to reset; shift+wheel pans";
    function button(label, title, onclick) {
      var b = document.createElement("button");
      b.type = "button"; b.textContent = label; b.title = title;
      b.addEventListener("click", onclick);
      bar.appendChild(b);
      return b;
    }
    button("\u25c0", "pan left", function () { pan(-0.25); });
    button("\u25b6", "pan right", function () { pan(0.25); });
    button("reset", "show the whole flow", function () { view = [0, total]; draw(); });
    bar.appendChild(hint);
    host.appendChild(bar);

    // The axis: its own SVG, sticky at the top of the window while the rows scroll.
    var head = el("svg", { "class": "gantt-axis", width: full, height: AXIS });
    var body = el("svg", { "class": "gantt-rows", width: full, role: "img",
                           "aria-label": "Gantt chart of flow " + data.flow });
    host.appendChild(head);
    host.appendChild(body);
    var defs = el("defs", {}, body);
    var hatch = el("pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse",
                                patternTransform: "rotate(45)" }, defs);
    el("rect", { width: 6, height: 6, fill: "#fff" }, hatch);
    el("rect", { width: 3, height: 6, fill: "#9aa3ad" }, hatch);
    var clip = el("clipPath", { id: "plot-clip" }, defs);
    var clipRect = el("rect", { x: LABEL, y: 0, width: width, height: 1 }, clip);
    var hclip = el("clipPath", { id: "head-clip" }, el("defs", {}, head));
    el("rect", { x: LABEL - 1, y: 0, width: width + PAD, height: AXIS }, hclip);

    // Ticks inside the busy segments in view; labels never overlap nor cross the edge.
    var axis = el("g", { "class": "axis", "clip-path": "url(#head-clip)" }, head);
    // After a collapsed gap, ticks count from the segment's start ("@+3h00m", then
    // "+20.0ms", ...): offsets from the flow's start would all read "+3h00m".
    var step = niceStep(vspan), lastEnd = -1, ticks = [], origin = 0, afterGap = false;
    segs.forEach(function (s) {
      if (s.gap) { afterGap = true; return; }
      if (afterGap) { origin = s.t0; afterGap = false; }
      if (s.u1 < view[0] || s.u0 > view[1]) { return; }
      var first = origin + Math.ceil((s.t0 - origin) / step - 1e-9) * step;
      for (var t = first; t <= s.t1 + 1e-12; t += step) {
        ticks.push({ t: t, text: origin > 0 && t - origin < step / 2 ? "@+" + dur(t)
                                 : "+" + dur(t - origin) });
      }
    });
    ticks.forEach(function (tick) {
      var px = x(tick.t);
      if (px < LABEL - 0.5 || px > LABEL + width + 0.5) { return; }
      var text = tick.text, w = text.length * CHAR * 0.92;
      var anchorEnd = px + 2 + w > full - 2;
      var left = anchorEnd ? px - 2 - w : px + 2;
      if (left < lastEnd + 6) { return; }
      lastEnd = left + w;
      el("line", { "class": "tick", x1: px, x2: px, y1: AXIS - 8, y2: AXIS }, axis);
      var label = el("text", { x: anchorEnd ? px - 2 : px + 2, y: AXIS - 12,
                               "text-anchor": anchorEnd ? "end" : "start" }, axis);
      label.textContent = text;
      ticks.drawn = (ticks.drawn || []).concat([px]);
    });
    el("line", { "class": "axisline", x1: LABEL, x2: LABEL + width, y1: AXIS - 0.5,
                 y2: AXIS - 0.5 }, head);

    var rowsG = el("g", {}, body);
    var gridG = el("g", {}, body);
    var plot = el("g", { "clip-path": "url(#plot-clip)" }, body);
    var y = 4, bars = 0, rowIndex = 0;
    lanes.forEach(function (lane) {
      if (runs.length > 1) {
        var r = lane.run;
        var title = el("text", { "class": "lane", x: 6, y: y + ROW / 2 + 5 }, rowsG);
        title.textContent = "run " + r.number + (r.number > 1 ? " (resumed)" : "");
        var r0 = x(r.start), r1 = x(r.end === null ? span : r.end);
        el("rect", { "class": "lanebar", x: r0, y: y + ROW - 4, width: Math.max(2, r1 - r0),
                     height: 2 }, plot);
        var about = el("text", { "class": "lanenote", x: Math.max(r0, LABEL) + 2,
                                 y: y + ROW / 2 + 3 }, plot);
        about.textContent = "+" + dur(r.start) + " \u2192 " + (r.end_state || "running") +
          (r.end !== null ? " (" + dur(r.end - r.start) + ")" : "");
        y += ROW;
      }
      lane.rows.forEach(function (row) {
        if (rowIndex % 2 === 0) {
          el("rect", { "class": "stripe", x: 0, y: y, width: full, height: ROW }, rowsG);
        }
        rowIndex += 1;
        var atom = row.atom;
        var shown = (atom.kind === "retry" ? "\u21bb " : "") + atom.name;
        var fits = Math.floor((LABEL - 12) / CHAR);
        var name = el("text", { "class": "name", x: 6, y: y + ROW / 2 + 4 }, rowsG);
        // Cut in the middle: names of one flow often differ only at their ends.
        var head = Math.ceil((fits - 1) * 0.4), tail = fits - 1 - head;
        name.textContent = shown.length > fits
          ? shown.slice(0, head) + "\u2026" + shown.slice(shown.length - tail) : shown;
        el("title", {}, name).textContent = atom.name + " (" + atom.kind + ", " + atom.state + ")";
        row.attempts.forEach(function (attempt) {
          drawAttempt(plot, atom, attempt, y);
          bars += 1;
        });
        y += ROW;
      });
    });
    var height = y + PAD;
    body.setAttribute("height", height);
    (ticks.drawn || []).forEach(function (px) {
      el("line", { "class": "grid", x1: px, x2: px, y1: 0, y2: height }, gridG);
    });
    clipRect.setAttribute("height", height);
    // Collapsed gaps: a band with its length, across all rows.
    segs.forEach(function (s) {
      if (!s.gap) { return; }
      var x0 = x(s.t0), x1 = x(s.t1);
      if (x1 < LABEL || x0 > LABEL + width) { return; }
      var g = el("g", { "class": "gap", "data-gap": s.t1 - s.t0 }, plot);
      el("rect", { x: x0, y: 0, width: Math.max(1, x1 - x0), height: height }, g);
      el("title", {}, g).textContent = "idle " + dur(s.t1 - s.t0) + " (collapsed)";
      var label = el("text", { x: (x0 + x1) / 2, y: 14, "text-anchor": "middle" }, g);
      var idle = "idle " + dur(s.t1 - s.t0);
      label.textContent = x1 - x0 > idle.length * CHAR * 0.85 + 6 ? idle : "idle";
      var hl = el("text", { "class": "gaplabel", x: (x0 + x1) / 2, y: AXIS - 12,
                            "text-anchor": "middle" }, axis);
      hl.textContent = x1 - x0 > idle.length * CHAR * 0.85 + 6 ? "\u2016" : dur(s.t1 - s.t0);
    });
    runs.forEach(function (run, i) {
      if (i === 0) { return; }
      el("line", { "class": "runline", x1: x(run.start), x2: x(run.start), y1: 0, y2: height }, plot);
    });
    el("line", { "class": "labelline", x1: LABEL - 0.5, x2: LABEL - 0.5, y1: 0, y2: height }, body);

    // Brush to zoom (in the plot area), double-click to reset.
    var brush = el("rect", { "class": "brush", x: 0, y: 0, width: 0, height: height }, body);
    function localX(ev) { return ev.clientX - body.getBoundingClientRect().left; }
    function clampX(ev) { return Math.min(Math.max(localX(ev), LABEL), LABEL + width); }
    brushing = null;
    body.addEventListener("mousedown", function (ev) {
      var px = localX(ev);
      if (px < LABEL || ev.button !== 0) { return; }
      ev.preventDefault();
      brushing = {
        from: px,
        move: function (e) {
          var to = clampX(e);
          brush.setAttribute("x", Math.min(px, to));
          brush.setAttribute("width", Math.abs(to - px));
        },
        end: function (e) {
          var to = clampX(e), a = Math.min(px, to), b = Math.max(px, to);
          if (b - a < 4) { brush.setAttribute("width", 0); return; }
          view = [fromX(a), fromX(b)];
          draw();
        }
      };
    });
    body.addEventListener("dblclick", function () { view = [0, total]; draw(); });
    body.addEventListener("wheel", function (ev) {
      if (!ev.shiftKey && Math.abs(ev.deltaX) <= Math.abs(ev.deltaY)) { return; }
      if (view[1] - view[0] >= total) { return; }
      ev.preventDefault();
      pan(((ev.deltaX || ev.deltaY) > 0 ? 1 : -1) * 0.1);
    }, { passive: false });

    host.setAttribute("data-view-start", String(view[0]));
    host.setAttribute("data-view-end", String(view[1]));
    host.setAttribute("data-total", String(total));
    host.setAttribute("data-gaps", String(gaps));
    host.setAttribute("data-lanes", String(runs.length));
    host.setAttribute("data-ticks", String((ticks.drawn || []).length));
    document.body.setAttribute("data-bars", String(bars));
    return { x: x };
  }

  var brushing = null;
  window.addEventListener("mousemove", function (ev) { if (brushing) { brushing.move(ev); } });
  window.addEventListener("mouseup", function (ev) {
    var b = brushing;
    brushing = null;
    if (b) { b.end(ev); }
  });

  function pan(fraction) {
    var w = view[1] - view[0], shift = w * fraction;
    var a = Math.min(Math.max(0, view[0] + shift), total - w);
    view = [a, a + w];
    draw();
  }

  function drawAttempt(plot, atom, attempt, y) {
    var scaleX = currentX;  // the scale of the draw in progress
    var g = el("g", { "class": "bar", "data-atom": atom.name, "data-attempt": attempt.n,
                      "data-outcome": attempt.outcome || "open",
                      "data-critical": attempt.critical ? "1" : "0" }, plot);
    el("title", {}, g).textContent = attempt.tip;
    var left = null, right = null, runW = 0, runDur = null;
    attempt.phases.forEach(function (p) {
      var end = p.e === null ? span : p.e;
      var x0 = scaleX(p.s), w = Math.max(2, scaleX(end) - x0);
      var inset = p.phase === "waiting" ? 7 : 3;
      var cls = "phase phase-" + p.phase + " o-" + (attempt.outcome || "open") +
                " r-" + (attempt.revert_outcome || "none") + (p.critical ? " critical" : "");
      el("rect", { "class": cls, x: x0, y: y + inset, width: w, height: ROW - 2 * inset,
                   rx: 2, "data-phase": p.phase }, g);
      left = left === null ? x0 : Math.min(left, x0);
      right = right === null ? x0 + w : Math.max(right, x0 + w);
      if (p.phase === "running") { runW = w; runDur = p.e === null ? null : p.e - p.s; }
    });
    var run = attempt.phases.filter(function (p) { return p.phase === "running"; })[0];
    if (attempt.outcome === "FAILURE" || attempt.revert_outcome === "REVERT_FAILURE") {
      if (run && run.e !== null) {
        var mark = el("text", { "class": "mark", x: scaleX(run.e) - 4, y: y + 6 }, g);
        mark.textContent = "\u00d7";
      }
    }
    if (run) {
      var label = "#" + attempt.n + " " + (runDur === null ? "open" : dur(runDur));
      if (runW > label.length * CHAR * 0.85 + 8) {
        var t = el("text", { "class": "barlabel", x: scaleX(run.s) + 4, y: y + ROW / 2 + 4 }, g);
        t.textContent = label;
      }
    }
    g.addEventListener("mousemove", function (ev) { showTip(attempt.tip, ev); });
    g.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  }

  // The tooltip stays inside the window: it flips left of / above the pointer near
  // an edge, and wraps long lines (a failure message) instead of cutting them.
  function showTip(text, ev) {
    tip.textContent = text;
    tip.style.display = "block";
    var w = tip.offsetWidth, h = tip.offsetHeight, vw = window.innerWidth, vh = window.innerHeight;
    var left = ev.clientX + 14, top = ev.clientY + 14;
    if (left + w > vw - 8) { left = ev.clientX - w - 14; }
    if (top + h > vh - 8) { top = ev.clientY - h - 14; }
    tip.style.left = Math.max(8, Math.min(left, vw - w - 8)) + "px";
    tip.style.top = Math.max(8, Math.min(top, vh - h - 8)) + "px";
  }

  var currentX = function (t) { return t; };
  draw();
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(draw, 150);
  });
  document.body.setAttribute("data-rendered", "yes");
})();
