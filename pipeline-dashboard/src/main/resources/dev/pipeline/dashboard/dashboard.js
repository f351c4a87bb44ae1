// The dashboard's only script: live values by polling, and SVG charts. It writes text with
// textContent and builds SVG with createElementNS, never markup from data.
"use strict";
(function () {
  var SVG = "http://www.w3.org/2000/svg";
  var POLL_MS = 2000;
  var LEGENDS = { latency: ["p50", "p95", "p99"] };

  function poll(url, apply) {
    var delay = POLL_MS;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.json();
        })
        .then(function (data) { apply(data); delay = POLL_MS; markStale(false); })
        .catch(function () { delay = Math.min(delay * 2, 30000); markStale(true); })
        .then(function () { window.setTimeout(tick, delay); });
    }
    window.setTimeout(tick, POLL_MS);
  }

  function markStale(stale) {
    document.body.classList.toggle("stale", stale);
  }

  var updates = 0;

  function applyLive(data) {
    updates += 1;
    document.body.setAttribute("data-updates", String(updates));
    var values = data.values || {};
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var v = values[el.getAttribute("data-live")];
      if (!v) { return; }
      el.textContent = v.t;
      el.className = v.l ? "live lvl-" + v.l : "live";
    });
    var lists = data.lists || {};
    document.querySelectorAll("[data-live-list]").forEach(function (ul) {
      var items = lists[ul.getAttribute("data-live-list")];
      if (!items) { return; }
      var children = [];
      if (items.length === 0) {
        var li = document.createElement("li");
        li.className = "empty";
        li.textContent = ul.getAttribute("data-empty") || "";
        children.push(li);
      }
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "lvl-" + (item.l || "");
        fill(li, item.t, item.h);
        children.push(li);
      });
      ul.replaceChildren.apply(ul, children);
    });
    var tables = data.tables || {};
    document.querySelectorAll("[data-live-rows]").forEach(function (tbody) {
      var rows = tables[tbody.getAttribute("data-live-rows")];
      if (rows) { tbody.replaceChildren.apply(tbody, rows.map(row).concat(emptyRow(tbody, rows))); }
    });
  }

  // text, as a link if the data gives a path of this site
  function fill(node, text, href) {
    if (href && href.charAt(0) === "/") {
      var a = document.createElement("a");
      a.setAttribute("href", href);
      a.textContent = text;
      node.appendChild(a);
    } else {
      node.textContent = text;
    }
  }

  // a row of a live table, built from data with textContent only
  function row(data) {
    var tr = document.createElement("tr");
    if (data.c) { tr.className = data.c; }
    data.cells.forEach(function (cell) {
      var td = document.createElement("td");
      if (cell.c) { td.className = cell.c; }
      fill(td, cell.t, cell.h);
      if (cell.d) {
        var dl = document.createElement("dl");
        dl.className = "meta";
        cell.d.forEach(function (pair) {
          var div = document.createElement("div");
          var dt = document.createElement("dt");
          var dd = document.createElement("dd");
          dt.textContent = pair[0];
          dd.textContent = pair[1];
          div.appendChild(dt);
          div.appendChild(dd);
          dl.appendChild(div);
        });
        td.appendChild(dl);
      }
      tr.appendChild(td);
    });
    return tr;
  }

  function emptyRow(tbody, rows) {
    if (rows.length > 0) { return []; }
    var tr = document.createElement("tr");
    var td = document.createElement("td");
    td.className = "empty";
    td.setAttribute("colspan", tbody.getAttribute("data-columns") || "1");
    td.textContent = tbody.getAttribute("data-empty") || "";
    tr.appendChild(td);
    return [tr];
  }

  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function label(v) {
    if (v >= 10000) { return (v / 1000).toFixed(0) + "k"; }
    if (v >= 100) { return v.toFixed(0); }
    if (v >= 1) { return v.toFixed(1); }
    return v.toPrecision(2);
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function draw(svg, data) {
    var metric = svg.getAttribute("data-metric");
    var series = data[metric] || [];
    var t = data["t." + metric] || data.t || [];
    var W = 480, H = 170, L = 44, R = 8, T = 10, B = 22;
    var nodes = [];
    nodes.push(el("rect", { x: L, y: T, width: W - L - R, height: H - T - B, "class": "plot" }));
    if (t.length === 1) {
      // one window so far (one short run): its values as flat lines across the plot
      t = [t[0] - 1, t[0]];
      series = series.map(function (s) { return [s[0], s[0]]; });
    }
    if (t.length < 2) {
      nodes.push(el("text", { x: W / 2, y: H / 2, "class": "nodata", "text-anchor": "middle" },
        "collecting samples…"));
      svg.replaceChildren.apply(svg, nodes);
      return;
    }
    var max = 0;
    series.forEach(function (s) { s.forEach(function (v) { if (v > max) { max = v; } }); });
    if (max <= 0) { max = 1; }
    var t0 = t[0], t1 = t[t.length - 1], span = Math.max(1, t1 - t0);
    function x(ms) { return L + (W - L - R) * (ms - t0) / span; }
    function y(v) { return T + (H - T - B) * (1 - v / max); }
    [0, 0.5, 1].forEach(function (f) {
      var yy = y(max * f);
      nodes.push(el("line", { x1: L, x2: W - R, y1: yy, y2: yy, "class": "grid" }));
      nodes.push(el("text", { x: L - 4, y: yy + 4, "text-anchor": "end", "class": "axis" }, label(max * f)));
    });
    nodes.push(el("text", { x: L, y: H - 6, "class": "axis" }, clock(t0)));
    nodes.push(el("text", { x: W - R, y: H - 6, "text-anchor": "end", "class": "axis" }, clock(t1)));
    series.forEach(function (s, i) {
      // a null (a window without the figure) breaks the line rather than dropping it to zero
      var runs = [[]];
      s.forEach(function (v, j) {
        if (v === null) {
          if (runs[runs.length - 1].length > 0) { runs.push([]); }
        } else {
          runs[runs.length - 1].push(x(t[j]).toFixed(1) + "," + y(v).toFixed(1));
        }
      });
      runs.forEach(function (points) {
        if (points.length > 0) {
          nodes.push(el("polyline", { points: points.join(" "), "class": "line line-" + i }));
        }
      });
      var legend = LEGENDS[metric];
      if (legend) {
        nodes.push(el("text", { x: L + 8 + 40 * i, y: T + 14, "class": "legend line-" + i }, legend[i]));
      }
      var last = s[s.length - 1];
      if (i === series.length - 1) {
        nodes.push(el("text", { x: W - R - 4, y: T + 14, "text-anchor": "end", "class": "now" },
          last === null ? "not sampled now" : "now " + label(last)));
      }
    });
    svg.replaceChildren.apply(svg, nodes);
  }

  function charts() {
    var byUrl = {};
    document.querySelectorAll("svg[data-series]").forEach(function (svg) {
      var url = svg.getAttribute("data-series");
      (byUrl[url] = byUrl[url] || []).push(svg);
    });
    Object.keys(byUrl).forEach(function (url) {
      function apply(data) { byUrl[url].forEach(function (svg) { draw(svg, data); }); }
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(apply)
        .catch(function () { markStale(true); });
      poll(url, apply);
    });
  }

  function confirmations() {
    document.querySelectorAll("button.danger").forEach(function (b) {
      b.addEventListener("click", function (e) {
        if (!window.confirm("Discard for good? " + b.textContent)) { e.preventDefault(); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-live], [data-live-list], [data-live-rows]")) {
      poll("/api/live" + window.location.pathname + window.location.search, applyLive);
    }
    charts();
    confirmations();
  });
})();
