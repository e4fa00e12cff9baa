(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("gantt-data").textContent);
  var LABEL = 210, ROW = 24, TOP = 28, PAD = 16;
  var host = document.getElementById("chart");
  var width = Math.max(640, Math.min(2400, (host.clientWidth || 1000) - LABEL - PAD - 2));
  var span = data.span > 0 ? data.span : 1e-6;
  var scale = width / span;

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function x(t) { return LABEL + t * scale; }
  function dur(s) {
    if (s === null || s === undefined) { return "-"; }
    if (s < 0.001) { return Math.round(s * 1e6) + "us"; }
    if (s < 1) { return (s * 1000).toFixed(1) + "ms"; }
    if (s < 60) { return s.toFixed(2) + "s"; }
    return Math.floor(s / 60) + "m" + ("0" + Math.round(s % 60)).slice(-2) + "s";
  }
  function niceStep(total) {
    var raw = total / 8, pow = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (raw <= steps[i] * pow) { return steps[i] * pow; } }
    return 10 * pow;
  }

  var rows = data.atoms.length;
  var height = TOP + rows * ROW + PAD;
  var svg = el("svg", { width: LABEL + width + PAD, height: height, role: "img",
                        "aria-label": "Gantt chart of flow " + data.flow });
  var defs = el("defs", {}, svg);
  var hatch = el("pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse",
                              patternTransform: "rotate(45)" }, defs);
  el("rect", { width: 6, height: 6, fill: "#fff" }, hatch);
  el("rect", { width: 3, height: 6, fill: "#9aa3ad" }, hatch);

  var axis = el("g", { "class": "axis" }, svg);
  var step = niceStep(span);
  for (var t = 0; t <= span + 1e-12; t += step) {
    el("line", { "class": "grid", x1: x(t), x2: x(t), y1: TOP - 6, y2: height - PAD }, axis);
    var label = el("text", { x: x(t) + 2, y: TOP - 10 }, axis);
    label.textContent = "+" + dur(t);
  }
  data.runs.forEach(function (run) {
    if (data.runs.length < 2) { return; }
    el("line", { "class": "runline", x1: x(run.start), x2: x(run.start), y1: TOP - 6,
                 y2: height - PAD }, svg);
    var text = el("text", { x: x(run.start) + 3, y: height - 3 }, svg);
    text.textContent = "run " + run.number + (run.number > 1 ? " (resumed)" : "");
  });

  var tip = document.getElementById("tip");
  var bars = 0;
  data.atoms.forEach(function (atom, i) {
    var y = TOP + i * ROW;
    if (i % 2 === 0) { el("rect", { "class": "stripe", x: 0, y: y, width: LABEL + width + PAD,
                                    height: ROW }, svg); }
    var name = el("text", { x: 6, y: y + ROW / 2 + 4 }, svg);
    var shown = (atom.kind === "retry" ? "\u21bb " : "") + atom.name;
    name.textContent = shown.length > 26 ? shown.slice(0, 25) + "~" : shown;
    el("title", {}, name).textContent = atom.name + " (" + atom.kind + ", " + atom.state + ")";
    atom.attempts.forEach(function (attempt) {
      var g = el("g", { "class": "bar", "data-atom": atom.name, "data-attempt": attempt.n,
                        "data-outcome": attempt.outcome || "open",
                        "data-critical": attempt.critical ? "1" : "0" }, svg);
      el("title", {}, g).textContent = attempt.tip;
      attempt.phases.forEach(function (p) {
        var end = p.e === null ? span : p.e;
        var w = Math.max(2, (end - p.s) * scale);
        var inset = p.phase === "waiting" ? 8 : 4;
        var cls = "phase phase-" + p.phase + " o-" + (attempt.outcome || "open") +
                  " r-" + (attempt.revert_outcome || "none") + (p.critical ? " critical" : "");
        el("rect", { "class": cls, x: x(p.s), y: y + inset, width: w, height: ROW - 2 * inset,
                     rx: 2, "data-phase": p.phase }, g);
      });
      if (attempt.outcome === "FAILURE" || attempt.revert_outcome === "REVERT_FAILURE") {
        var run = attempt.phases.filter(function (p) { return p.phase === "running"; })[0];
        if (run && run.e !== null) {
          var mark = el("text", { "class": "mark", x: x(run.e) - 4, y: y + 6 }, g);
          mark.textContent = "\u00d7";
        }
      }
      g.addEventListener("mousemove", function (ev) {
        tip.textContent = attempt.tip;
        tip.style.display = "block";
        tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
        tip.style.top = (ev.clientY + 14) + "px";
      });
      g.addEventListener("mouseleave", function () { tip.style.display = "none"; });
      bars += 1;
    });
  });
  host.appendChild(svg);
  document.body.setAttribute("data-bars", String(bars));
  document.body.setAttribute("data-rendered", "yes");
})();
