/// The report page's style sheet and script, inlined into every report. The script reads the
/// JSON in `#sf-data` and draws everything; its state (filter, search, sort, open inputs) lives
/// in the URL's fragment, so a view can be linked to and the browser test can drive the page.
/// When it has drawn the page it sets `data-sf-state="ready"` on <body>; any script error is
/// written into `#sf-errors` and sets `data-sf-state="error"`.
enum ReportAssets {
    static let css = #"""
:root{--bg:#f6f7f9;--panel:#fff;--ink:#1d2330;--muted:#667085;--line:#e3e6eb;--accent:#2f6fde;--ok:#16794c;--okbg:#e3f4ea;
--bad:#b42318;--badbg:#fdecea;--warn:#9a6700;--warnbg:#fff4d6;--path:#2f6fde;--pathbg:#eaf1fe;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
header{background:#1d2330;color:#fff;padding:14px 24px;display:flex;align-items:baseline;gap:16px;flex-wrap:wrap}
header h1{font-size:17px;margin:0;font-weight:600;letter-spacing:.2px}
header .sub{color:#b8c0cc;font-size:13px}
main{padding:16px 24px;max-width:1600px;margin:0 auto}
section.panel{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin-bottom:16px}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.6px;color:var(--muted);margin:0 0 10px;font-weight:600}
h2 .path{text-transform:none;letter-spacing:0;font-family:var(--mono);color:var(--ink);font-size:13px;margin-left:6px}
.runtop{display:grid;grid-template-columns:minmax(0,1fr) auto;gap:20px;align-items:start}
@media (max-width:1100px){.runtop{grid-template-columns:1fr}}
.runs.two .runtop{grid-template-columns:1fr}
.chart svg{max-width:100%;height:auto}
h3{font-size:14px;margin:0 0 8px}
.runs{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;margin:10px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 10px;background:#fbfcfd}
.card .k{color:var(--muted);font-size:12px}
.card .v{font-size:19px;font-weight:600;font-variant-numeric:tabular-nums}
.card .s{color:var(--muted);font-size:12px}
dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;font-size:13px}
dl.prov dt{color:var(--muted)}
dl.prov dd{margin:0;font-family:var(--mono);font-size:12px;overflow-wrap:anywhere}
.split{height:10px;border-radius:5px;background:#d9dee6;overflow:hidden;display:flex;margin-top:6px}
.split span{display:block;height:100%}
.chart{margin-top:0}
.chart h3{font-size:12px;color:var(--muted);font-weight:600;margin:0 0 4px}
.chart text{font-size:11px;fill:var(--muted)}
.note{color:var(--muted);font-size:12px}
.warnbox{background:var(--warnbg);color:var(--warn);border-radius:6px;padding:6px 10px;margin:6px 0;font-size:13px}
.layout{display:grid;grid-template-columns:minmax(380px,500px) minmax(0,1fr);gap:16px;align-items:start}
@media (max-width:1000px){.layout{grid-template-columns:1fr}}
.toolbar{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-bottom:8px}
.toolbar button,.toolbar select,.toolbar input{font:inherit;font-size:13px;border:1px solid var(--line);background:#fff;border-radius:6px;padding:4px 9px;color:var(--ink)}
.toolbar button.on{background:var(--accent);border-color:var(--accent);color:#fff}
.toolbar input[type=search]{flex:1;min-width:140px}
.list{max-height:72vh;overflow:auto;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);font-size:13px;vertical-align:top}
th{background:#f1f3f6;color:var(--muted);font-weight:600;position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.ans{max-width:150px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
tr.row{cursor:pointer}
tr.row:hover{background:#f3f6fb}
tr.row.open{background:var(--pathbg)}
.mono{font-family:var(--mono);font-size:12.5px}
.badge{display:inline-block;border-radius:10px;padding:0 7px;font-size:11.5px;font-weight:600;white-space:nowrap}
.b-ok{background:var(--okbg);color:var(--ok)}
.b-bad{background:var(--badbg);color:var(--bad)}
.b-warn{background:var(--warnbg);color:var(--warn)}
.b-path{background:var(--pathbg);color:var(--path)}
.b-muted{background:#eef0f3;color:var(--muted)}
.detail{min-height:200px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.treebox{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:#fff;margin-bottom:12px;overflow:auto}
.treebox .head{display:flex;gap:8px;align-items:baseline;flex-wrap:wrap;margin-bottom:6px}
.treebox .head .in{font-family:var(--mono);font-size:15px;font-weight:600}
ul.tree{list-style:none;margin:0;padding-left:18px;border-left:1px dashed #d5dae1}
ul.tree.root{padding-left:0;border-left:none}
li.node{margin:3px 0}
.nrow{display:flex;gap:6px;align-items:baseline;flex-wrap:wrap;padding:2px 4px;border-radius:5px}
.node.path>.nrow{background:var(--pathbg);box-shadow:inset 3px 0 0 var(--path)}
.node.pruned>.nrow .thought{color:#8a94a6}
.tog{width:16px;display:inline-block;text-align:center;cursor:pointer;color:var(--muted);user-select:none;border:none;background:none;padding:0;font:inherit}
.tog.leaf{cursor:default;visibility:hidden}
.thought{font-family:var(--mono);font-size:12.5px}
.state{font-family:var(--mono);font-size:12px;color:var(--muted)}
.cost{font-size:11.5px;color:var(--muted);font-variant-numeric:tabular-nums}
.node.collapsed>ul{display:none}
details.samples{margin:1px 0 2px 26px;font-size:12px}
details.samples summary{cursor:pointer;color:var(--muted)}
details.samples ol{margin:2px 0;padding-left:20px}
details.samples li{font-family:var(--mono);white-space:pre-wrap}
.finish{border-bottom:1px solid var(--line);margin-bottom:10px;padding-bottom:8px}
.finish pre{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:8px;white-space:pre-wrap;font-family:var(--mono);font-size:12.5px;margin:4px 0}
.empty{color:var(--muted);padding:30px;text-align:center}
#comparison table{width:auto;min-width:60%}
#comparison td.num{padding-left:40px}
.runs.two + #comparison{margin-top:0}
a{color:var(--accent)}
"""#

    static let javascript = #"""
(function () {
"use strict";
var errors = [];
function reportError(text) {
  errors.push(text);
  var box = document.getElementById("sf-errors");
  if (box) { box.hidden = false; box.textContent = errors.join("\n"); }
  document.body.setAttribute("data-sf-state", "error");
}
window.addEventListener("error", function (e) { reportError("error: " + e.message + " at " + (e.lineno || "?") + ":" + (e.colno || "?")); });
window.addEventListener("unhandledrejection", function (e) { reportError("unhandled rejection: " + e.reason); });
var consoleError = console.error;
console.error = function () { reportError("console.error: " + Array.prototype.join.call(arguments, " ")); consoleError.apply(console, arguments); };

var t0 = performance.now();
var DATA = JSON.parse(document.getElementById("sf-data").textContent);
var RUNS = DATA.runs;
var TWO = RUNS.length === 2;

function h(tag, attrs) {
  var el = document.createElement(tag);
  if (attrs) for (var k in attrs) {
    var v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
  return el;
}
function add(el, c) {
  if (c === null || c === undefined || c === false) return;
  if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); return; }
  el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
}
// Numbers as the page shows them: anything that is not a finite number (null for a NaN, a hand
// edit's string) is "—", never an exception.
function finite(x) { if (x === null || x === undefined || x === "") return null; var n = Number(x); return isFinite(n) ? n : null; }
function num(x, digits) { x = finite(x); return x === null ? "—" : x.toFixed(digits === undefined ? 2 : digits); }
function int(x) { x = finite(x); return x === null ? "—" : Math.round(x).toLocaleString("en-US"); }
function pct(x) { x = finite(x); return x === null ? "—" : (x * 100).toFixed(1) + "%"; }
function secs(x) { x = finite(x); return x === null ? "—" : x < 10 ? x.toFixed(2) + " s" : x.toFixed(1) + " s"; }
// A bar's share of the tallest, in [0, 1] (divided first: a huge number must not overflow).
function share(x, max) { x = finite(x); return x === null || !(max > 0) ? 0 : Math.min(1, Math.max(0, x / max)); }
function status(inp) { return inp.error ? "failed" : inp.solved ? "solved" : "unsolved"; }
// Where nothing checks the answers ("checked": false), an answer only means the search finished.
function label(s, checked) { return checked === false ? (s === "solved" ? "finished" : s === "unsolved" ? "unfinished" : s) : s; }
function badge(inp) {
  var s = status(inp);
  return h("span", { class: "badge " + (s === "solved" ? "b-ok" : s === "failed" ? "b-warn" : "b-bad"), text: label(s, inp.checked) });
}

// ---- state in the URL fragment: run, filter, q, sort, open ----
var state = { run: 0, filter: "all", q: "", sort: "index", open: [] };
function readHash() {
  var p = new URLSearchParams(location.hash.replace(/^#/, ""));
  state.run = Math.min(RUNS.length - 1, Math.max(0, parseInt(p.get("run") || "0", 10) || 0));
  var f = p.get("filter") || "all";
  state.filter = ["all", "solved", "unsolved", "failed"].indexOf(f) >= 0 ? f : "all";
  state.q = p.get("q") || "";
  var s = p.get("sort") || "index";
  state.sort = ["index", "tokens", "time"].indexOf(s) >= 0 ? s : "index";
  var o = p.get("open") || "";
  state.open = o === "all" ? RUNS[state.run].inputs.map(function (i) { return i.index; })
    : o.split(",").filter(function (x) { return x !== ""; }).map(Number).filter(function (x) { return !isNaN(x); });
}
function writeHash() {
  var p = new URLSearchParams();
  if (state.run) p.set("run", state.run);
  if (state.filter !== "all") p.set("filter", state.filter);
  if (state.q) p.set("q", state.q);
  if (state.sort !== "index") p.set("sort", state.sort);
  if (state.open.length) p.set("open", state.open.join(","));
  var text = p.toString();
  history.replaceState(null, "", text ? "#" + text : location.pathname + location.search);
}

// ---- the run: provenance, totals, chart ----
function provenance(run) {
  var p = run.provenance, dl = h("dl", { class: "prov" });
  function row(k, v) { if (v !== null && v !== undefined && v !== "") add(dl, [h("dt", { text: k }), h("dd", { text: v })]); }
  if (!p) { row("provenance", "none recorded in this file"); return dl; }
  row("workflow", (p.workflow_name || "") + (p.workflow_file ? "  (" + p.workflow_file + ")" : "") || "—");
  row("workflow sha256", run.workflowHashes > 1 ? "mixed: " + run.workflowHashes + " different workflow files" : p.workflow_sha256);
  (p.models || []).forEach(function (m, i) {
    row(i === 0 ? "target" : "draft", m.path + (m.sha256 ? "  sha256 " + m.sha256.slice(0, 16) + "…" : "  " + int(m.bytes) + " bytes"));
  });
  row("strategy", run.strategies.join(", "));
  row("seed", run.seeds.join(", "));
  if (p.overrides && p.overrides.length) row("overrides", p.overrides.map(function (o) { return "--set " + o; }).join(" "));
  if (p.git) row("git", p.git.commit.slice(0, 12) + (p.git.dirty ? " (uncommitted changes)" : ""));
  return dl;
}
function card(k, v, s) { return h("div", { class: "card" }, h("div", { class: "k", text: k }), h("div", { class: "v", text: v }), s ? h("div", { class: "s", text: s }) : null); }
function totals(run) {
  var s = run.summary, n = s.inputs;
  var fromDrafts = run.acceptedTokens, fromTarget = Math.max(0, s.generated_tokens - fromDrafts);
  var wall = run.wallSeconds;
  var cards = h("div", { class: "cards" },
    card(run.answersChecked ? "solved" : "finished", s.solved + " / " + n, n ? pct(s.solved / n) + (s.failed ? " · " + s.failed + " failed" : "") : ""),
    card("generated tokens", int(s.generated_tokens), int(run.promptTokens) + " prompt tokens"),
    card("wall time", wall === null || wall === undefined ? "—" : secs(wall),
      wall ? int(s.generated_tokens / wall) + " tokens/s" : "sum of input times " + secs(run.inputSeconds)),
    card("time per input", secs(s.mean_input_s), "mean; inputs run side by side"),
    card("acceptance", pct(s.acceptance), int(run.acceptedTokens) + " of " + int(run.draftedTokens) + " drafted"),
    card("tokens per target pass per call", num(s.tokens_per_call_pass), int(run.targetPasses) + " target passes, " + int(run.modelCalls) + " calls"));
  var total = fromDrafts + fromTarget || 1;
  var split = h("div", null, h("div", { class: "note", text: "tokens from the target: " + int(fromTarget) + " · accepted from drafts: " + int(fromDrafts) }),
    h("div", { class: "split", title: "target / drafts" },
      h("span", { style: "width:" + (100 * fromTarget / total) + "%;background:#2f6fde" }),
      h("span", { style: "width:" + (100 * fromDrafts / total) + "%;background:#7fc8a9" })));
  return [cards, split];
}
var SVGNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  var el = document.createElementNS(SVGNS, tag);
  for (var k in attrs) el.setAttribute(k, attrs[k]);
  if (text !== undefined) el.textContent = text;
  return el;
}
function chart(run) {
  if (!run.hasCosts || !run.levels.length) {
    return h("div", { class: "note", text: "No per-level chart: the lines of this file were written before seedflow recorded each node's tokens and time." });
  }
  var L = run.levels, W = 520, H = 150, pad = 34, bw = (W - 2 * pad) / L.length;
  var maxT = Math.max.apply(null, L.map(function (l) { return finite(l.tokens) || 0; })) || 1;
  var maxS = Math.max.apply(null, L.map(function (l) { return finite(l.seconds) || 0; })) || 1;
  var s = svg("svg", { width: W, height: H + 30, viewBox: "0 0 " + W + " " + (H + 30), role: "img", "aria-label": "tokens and time per tree level" });
  s.appendChild(svg("line", { x1: pad, y1: H, x2: W - pad, y2: H, stroke: "#c9ced6" }));
  L.forEach(function (l, i) {
    var x = pad + i * bw, w = bw * 0.34;
    var ht = (H - 20) * share(l.tokens, maxT), hs = (H - 20) * share(l.seconds, maxS);
    var r1 = svg("rect", { x: x + bw * 0.14, y: H - ht, width: w, height: ht, fill: "#2f6fde", rx: 2 });
    r1.appendChild(svg("title", {}, "depth " + l.depth + ": " + int(l.tokens) + " tokens"));
    var r2 = svg("rect", { x: x + bw * 0.52, y: H - hs, width: w, height: hs, fill: "#f4a340", rx: 2 });
    r2.appendChild(svg("title", {}, "depth " + l.depth + ": " + num(l.seconds) + " s (summed over " + l.inputs + " inputs)"));
    s.appendChild(r1); s.appendChild(r2);
    s.appendChild(svg("text", { x: x + bw * 0.14 + w / 2, y: H - ht - 3, "text-anchor": "middle" }, int(l.tokens)));
    s.appendChild(svg("text", { x: x + bw * 0.52 + w / 2, y: H - hs - 3, "text-anchor": "middle" }, num(l.seconds, 1) + "s"));
    s.appendChild(svg("text", { x: x + bw / 2, y: H + 14, "text-anchor": "middle" }, "depth " + l.depth));
  });
  s.appendChild(svg("rect", { x: pad, y: H + 20, width: 9, height: 9, fill: "#2f6fde" }));
  s.appendChild(svg("text", { x: pad + 13, y: H + 28 }, "generated tokens"));
  s.appendChild(svg("rect", { x: pad + 130, y: H + 20, width: 9, height: 9, fill: "#f4a340" }));
  s.appendChild(svg("text", { x: pad + 143, y: H + 28 }, "seconds (longest call per input, summed over inputs)"));
  return h("div", { class: "chart" }, h("h3", { text: "Tokens and time per tree level" }), s);
}
function runPanel(run, label) {
  return h("section", { class: "panel", id: "run-" + label },
    h("h2", null, TWO ? "Run " + label + " " : "Run ", h("span", { class: "path", text: run.path })),
    run.cutLine ? h("div", { class: "warnbox", text: "Line " + run.cutLine + " of this file was cut short (a run stopped mid-write) and is left out; run the workflow again with --resume to complete it." }) : null,
    h("div", { class: "runtop" }, h("div", null, provenance(run)), chart(run)), totals(run));
}

// ---- two runs compared ----
function comparisonPanel() {
  var c = DATA.comparison; if (!c) return null;
  var t = h("table", null, h("tr", null, h("th"), h("th", { text: "A: " + RUNS[0].path }), h("th", { text: "B: " + RUNS[1].path })));
  c.rows.forEach(function (r) { t.appendChild(h("tr", null, h("td", { text: r[0] }), h("td", { class: "num", text: r[1] }), h("td", { class: "num", text: r[2] }))); });
  function only(list, label) {
    return h("div", null, h("h3", { text: "Solved by " + label + " only (" + list.length + ")" }),
      list.length ? h("ul", null, list.map(function (text) {
        return h("li", null, h("a", { href: "#", class: "mono only-" + label, onclick: function (e) {
          e.preventDefault(); var i = RUNS[state.run].inputs.find(function (x) { return x.input === text; });
          if (i) { state.open = [i.index]; writeHash(); drawList(); drawDetail(); }
        } }, text));
      })) : h("div", { class: "note", text: "none" }));
  }
  return h("section", { class: "panel", id: "comparison" }, h("h2", { text: "A and B compared" }), t,
    h("div", { class: "pair", style: "margin-top:10px" }, only(c.onlyA, "A"), only(c.onlyB, "B")),
    c.unmatched ? h("div", { class: "note", text: "inputs in only one of the files: " + c.unmatched }) : null,
    h("div", { class: "note", text: "Open an input to see both runs' trees side by side. Inputs run side by side: time per input is a mean." }));
}

// ---- the input list ----
function matches(inp) {
  if (state.filter !== "all" && status(inp) !== state.filter) return false;
  if (!state.q) return true;
  var q = state.q.toLowerCase();
  return [inp.input, inp.answer || "", inp.note || "", inp.error || "", String(inp.index)].some(function (x) { return x.toLowerCase().indexOf(q) >= 0; });
}
var listBox, detailBox, toolbarBox;
function drawToolbar() {
  var run = RUNS[state.run];
  var counts = { all: run.inputs.length, solved: 0, unsolved: 0, failed: 0 };
  run.inputs.forEach(function (i) { counts[status(i)]++; });
  toolbarBox.textContent = "";
  if (TWO) add(toolbarBox, h("select", { id: "sf-run", onchange: function (e) { state.run = +e.target.value; state.open = []; writeHash(); drawAll(); } },
    RUNS.map(function (r, i) { return h("option", { value: i, selected: i === state.run, text: (i ? "B: " : "A: ") + r.path }); })));
  ["all", "solved", "unsolved", "failed"].forEach(function (f) {
    add(toolbarBox, h("button", { class: state.filter === f ? "on" : "", "data-filter": f, onclick: function () { state.filter = f; writeHash(); drawToolbar(); drawList(); } },
      label(f, run.answersChecked ? undefined : false) + " " + counts[f]));
  });
  add(toolbarBox, h("input", { type: "search", id: "sf-search", placeholder: "search inputs, answers, notes", value: state.q,
    oninput: function (e) { state.q = e.target.value; writeHash(); drawList(); } }));
  add(toolbarBox, h("select", { id: "sf-sort", onchange: function (e) { state.sort = e.target.value; writeHash(); drawList(); } },
    [["index", "by input"], ["tokens", "most tokens"], ["time", "longest time"]].map(function (o) {
      return h("option", { value: o[0], selected: state.sort === o[0], text: o[1] });
    })));
}
function drawList() {
  var run = RUNS[state.run];
  var shown = run.inputs.filter(matches);
  shown.sort(function (a, b) { return a.index - b.index; });
  if (state.sort === "tokens") shown.sort(function (a, b) { return b.tokens - a.tokens || a.index - b.index; });
  if (state.sort === "time") shown.sort(function (a, b) { return b.seconds - a.seconds || a.index - b.index; });
  var t = h("table", { id: "sf-list" }, h("tr", null, h("th", { class: "num", text: "#" }), h("th", { text: "input" }), h("th", { text: "answer" }),
    h("th", { text: "" }), h("th", { class: "num", text: "tokens" }), h("th", { class: "num", text: "time" })));
  shown.forEach(function (inp) {
    t.appendChild(h("tr", { class: "row" + (state.open.indexOf(inp.index) >= 0 ? " open" : ""), "data-index": inp.index, "data-status": status(inp),
      onclick: function () { state.open = [inp.index]; writeHash(); drawList(); drawDetail(); } },
      h("td", { class: "num", text: inp.index }), h("td", { class: "mono", text: inp.input }), h("td", { class: "mono ans", title: inp.answer || "", text: inp.answer || "—" }),
      h("td", null, badge(inp)), h("td", { class: "num", text: int(inp.tokens) }), h("td", { class: "num", text: secs(inp.seconds) })));
  });
  listBox.textContent = "";
  add(listBox, shown.length ? t : h("div", { class: "empty", id: "sf-list", text: "No input matches." }));
  listBox.setAttribute("data-shown", shown.length);
}

// ---- a search tree ----
function cost(n) {
  var parts = [];
  // Only valued states had evaluate calls; a value asked before is reused at no cost.
  if (n.vt !== undefined && n.v !== undefined) parts.push(n.vt > 0 || n.vs > 0 ? "evaluate " + int(n.vt) + " tok · " + num(n.vs) + " s" : "value reused");
  if (n.et !== undefined && (n.et > 0 || n.es > 0)) parts.push("expand " + int(n.et) + " tok · " + num(n.es) + " s");
  return parts.length ? h("span", { class: "cost", text: parts.join("  |  ") }) : null;
}
function drawTree(run, inp, runLabel) {
  var kids = {}, onPath = {};
  inp.tree.forEach(function (n) { if (n.p !== undefined && n.p !== null) (kids[n.p] = kids[n.p] || []).push(n); });
  inp.path.forEach(function (id) { onPath[id] = true; });
  // Siblings in reading order: the path first, then the kept states, then by value (ties in the
  // order the model proposed them).
  function rank(n) { return onPath[n.i] ? 2 : n.k ? 1 : 0; }
  function value(n) { return typeof n.v === "number" ? n.v : -Infinity; }
  Object.keys(kids).forEach(function (p) {
    kids[p] = kids[p].map(function (n, i) { return [n, i]; }).sort(function (a, b) {
      return rank(b[0]) - rank(a[0]) || value(b[0]) - value(a[0]) || a[1] - b[1];
    }).map(function (x) { return x[0]; });
  });
  var chosen = inp.path.length ? inp.path[inp.path.length - 1] : null;
  // Each node drawn once: seedflow refuses a file whose tree has a cycle, but a page is data too.
  var drawn = {};
  function nodeEl(n) {
    drawn[n.i] = true;
    var children = (kids[n.i] || []).filter(function (c) { return !drawn[c.i]; });
    children.forEach(function (c) { drawn[c.i] = true; });
    var root = n.d === 0;
    var cls = "node" + (onPath[n.i] || root ? " path" : "") + (!root && !n.k && !onPath[n.i] ? " pruned" : "");
    var tog = h("button", { class: "tog" + (children.length ? "" : " leaf"), title: "collapse / expand", text: "▾",
      onclick: function (e) { var li = e.target.closest("li"); li.classList.toggle("collapsed"); e.target.textContent = li.classList.contains("collapsed") ? "▸" : "▾"; } });
    var goal = !root && n.v === undefined && n.k;
    var row = h("div", { class: "nrow" }, tog,
      root ? h("span", { class: "thought", text: inp.input }) : h("span", { class: "thought", text: n.t }),
      !root && n.s !== undefined ? h("span", { class: "state", text: "→ " + n.s }) : null,
      root ? h("span", { class: "badge b-muted", text: "input" }) : null,
      !root && n.v !== undefined ? h("span", { class: "badge b-muted", text: "value " + (finite(n.v) === null ? "—" : +finite(n.v).toFixed(3)) }) : null,
      goal ? h("span", { class: "badge b-ok", text: "goal" }) : null,
      // Not kept: pruned by its value, or never valued (a sibling reached the goal first).
      !root ? (n.k ? h("span", { class: "badge b-ok", text: "kept" })
        : n.v !== undefined ? h("span", { class: "badge b-bad", text: "pruned" }) : h("span", { class: "badge b-muted", text: "not valued" })) : null,
      n.i === chosen ? h("span", { class: "badge b-path", text: "answer path" }) : null,
      cost(n));
    var li = h("li", { class: cls, "data-node": n.i, "data-depth": n.d }, row,
      n.x ? h("details", { class: "samples" }, h("summary", { text: n.x.length + " value sample" + (n.x.length === 1 ? "" : "s") }),
        h("ol", null, n.x.map(function (s) { return h("li", { text: s }); }))) : null);
    if (children.length) li.appendChild(h("ul", { class: "tree" }, children.map(nodeEl)));
    return li;
  }
  var rootNode = inp.tree.length && (inp.tree[0].p === undefined || inp.tree[0].p === null) ? inp.tree[0] : null;
  var f = inp.finish;
  var box = h("div", { class: "treebox", "data-input": inp.index, "data-run": runLabel },
    h("div", { class: "head" }, runLabel ? h("span", { class: "badge b-muted", text: "run " + runLabel }) : null,
      h("span", { class: "in", text: inp.input }), badge(inp),
      h("span", { class: "cost", text: "input " + inp.index + " · " + inp.tree.length + " nodes · " + int(inp.tokens) + " tokens · " + secs(inp.seconds) + " · " + inp.calls + " calls" })),
    inp.error ? h("div", { class: "warnbox", text: "could not run: " + inp.error }) : null,
    h("div", { class: "finish" },
      h("div", null, h("b", { text: "answer: " }), h("span", { class: "mono", text: inp.answer || "none" }), " ", badge(inp)),
      f ? [h("div", { class: "note", text: "finish call (" + int(f.tokens) + " tokens · " + num(f.s) + " s):" }), h("pre", { class: "finish-text", text: f.text }),
        // Passed or failed only where there was a check to pass.
        h("div", null, h("b", { text: "check: " }), f.check ? [h("span", { class: "mono", text: f.check }), " ",
          h("span", { class: "badge " + (f.passed ? "b-ok" : "b-bad"), text: f.passed ? "passed" : "failed" })]
          : inp.checked === false ? "none (nothing checks the answers)" : "none (the workflow has no check)")]
        : inp.note ? null : h("div", { class: "note", text: "no finish call recorded" }),
      inp.note ? h("div", { class: "note", text: "note: " + inp.note }) : null),
    rootNode ? h("ul", { class: "tree root" }, nodeEl(rootNode))
      : h("div", { class: "note", text: inp.tree.length ? "no root to draw the tree from: its first node names a parent" : "no tree recorded" }));
  return box;
}
function drawDetail() {
  detailBox.textContent = "";
  var run = RUNS[state.run];
  var open = state.open.map(function (i) { return run.inputs.find(function (x) { return x.index === i; }); }).filter(Boolean);
  if (!open.length) { add(detailBox, h("div", { class: "empty", text: "Open an input from the list to draw its search tree." })); return; }
  open.forEach(function (inp) {
    if (!TWO) { add(detailBox, drawTree(run, inp, "")); return; }
    var other = RUNS[1 - state.run].inputs.find(function (x) { return x.input === inp.input; });
    var a = state.run === 0 ? inp : other, b = state.run === 0 ? other : inp;
    add(detailBox, h("div", { class: "pair" },
      a ? drawTree(RUNS[0], a, "A") : h("div", { class: "treebox empty", text: "not in run A" }),
      b ? drawTree(RUNS[1], b, "B") : h("div", { class: "treebox empty", text: "not in run B" })));
  });
}

function drawAll() {
  var app = document.getElementById("app");
  app.textContent = "";
  var gen = DATA.generated ? "generated " + DATA.generated.replace("T", " ").replace("Z", " UTC") : "";
  add(app, h("header", null, h("h1", { text: "seedflow report" }), h("span", { class: "sub", text: RUNS.map(function (r) { return r.path; }).join("  vs  ") }), h("span", { class: "sub", text: gen })));
  var main = h("main");
  add(main, h("div", { class: TWO ? "runs two" : "runs" }, RUNS.map(function (r, i) { return runPanel(r, TWO ? (i ? "B" : "A") : ""); })));
  add(main, comparisonPanel());
  toolbarBox = h("div", { class: "toolbar", id: "sf-toolbar" });
  listBox = h("div", { class: "list" });
  detailBox = h("div", { class: "detail", id: "sf-detail" });
  add(main, h("section", { class: "panel", id: "inputs" }, h("h2", { text: "Inputs" }),
    h("div", { class: "layout" }, h("div", null, toolbarBox, listBox), detailBox)));
  add(app, main);
  drawToolbar(); drawList(); drawDetail();
}

readHash();
drawAll();
window.addEventListener("hashchange", function () { readHash(); drawAll(); });
document.body.setAttribute("data-sf-ms", Math.round(performance.now() - t0));
if (!errors.length) document.body.setAttribute("data-sf-state", "ready");
})();
"""#
}
