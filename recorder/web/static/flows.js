(function () {
  "use strict";
  // The flows page, live: while it shows the newest flows, ask /api/flows (same
  // filters) every few seconds and redraw the rows. Text goes in as textContent.
  var table = document.getElementById("flows");
  if (!table || table.getAttribute("data-live") !== "1") { return; }
  var api = table.getAttribute("data-api");
  var every = parseInt(table.getAttribute("data-poll"), 10) || 2000;
  var body = table.tBodies[0];
  function dur(s) {
    if (s === null || s === undefined) { return "-"; }
    if (s < 0.001) { return Math.round(s * 1e6) + "us"; }
    if (s < 1) { return (s * 1000).toFixed(1) + "ms"; }
    if (s < 60) { return s.toFixed(2) + "s"; }
    if (s < 3600) { return Math.floor(s / 60) + "m" + ("0" + Math.round(s % 60)).slice(-2) + "s"; }
    return Math.floor(s / 3600) + "h" + ("0" + Math.floor((s % 3600) / 60)).slice(-2) + "m";
  }
  function cell(row, text, cls, href) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    var inner = td;
    if (href) { inner = document.createElement("a"); inner.href = href; td.appendChild(inner); }
    inner.textContent = text;
    row.appendChild(td);
    return td;
  }
  function draw(doc) {
    var known = {};
    Array.prototype.forEach.call(body.rows, function (r) { known[r.getAttribute("data-uuid")] = 1; });
    var rows = document.createDocumentFragment();
    doc.flows.forEach(function (f) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-uuid", f.uuid);
      if (!known[f.uuid]) { tr.className = "fresh"; }
      var code = document.createElement("code");
      var a = document.createElement("a");
      a.href = "/flows/" + encodeURIComponent(f.uuid);
      a.textContent = f.uuid.slice(0, 8);
      code.appendChild(a);
      var first = document.createElement("td");
      first.appendChild(code);
      tr.appendChild(first);
      cell(tr, f.name, "name", "/flows/" + encodeURIComponent(f.uuid));
      var st = cell(tr, "", null, null);
      var badge = document.createElement("span");
      badge.className = "state state-" + (f.state || "-");
      badge.textContent = f.state || "-";
      st.appendChild(badge);
      cell(tr, (f.created_at || "").replace("T", " ").slice(0, 19), null, null);
      cell(tr, dur(f.duration_s), "num", null);
      rows.appendChild(tr);
    });
    if (!doc.flows.length) { return; }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    body.appendChild(rows);
    table.setAttribute("data-refreshed", String(Date.now()));
  }
  function tick() {
    fetch(api, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (doc) { if (doc) { draw(doc); } })
      .catch(function () { /* the server is gone: keep the last rows */ })
      .then(function () { window.setTimeout(tick, every); });
  }
  window.setTimeout(tick, every);
})();
