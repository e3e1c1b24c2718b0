/* epcore console front end.
 *
 * Plain JS, no framework and no network beyond this console's own /api: the
 * page must work offline and under a strict CSP (script-src 'self', no inline
 * script or style). Rule: NO arithmetic on figures here. Every number shown
 * comes from the server as a display string (or an SVG drawn by the server);
 * JS only parses form inputs into numbers for the request bodies.
 * Data from the server or from user files is put in the page with
 * textContent, never innerHTML; the one exception is the server's own SVG
 * charts, parsed as XML and sanitised before insertion.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 150;
  var POLL_MS = 250;
  var MAX_SCENARIOS = 8;
  var TABS = ["calc", "sens", "fleet", "floor", "xover", "trace", "compare"];
  // The forms whose inputs travel in the URL, with their query-string prefix
  // (the calculator's inputs are unprefixed: they are the common case).
  var URL_FORMS = { calc: "", fleet: "fleet.", floor: "floor.", xover: "xover." };

  var tokenMeta = document.querySelector('meta[name="epcore-token"]');
  var TOKEN = tokenMeta ? tokenMeta.getAttribute("content") || "" : "";

  var state = {
    tab: "calc",
    meta: null,
    scenarios: [], // compare: [{uid, body}]
    nextUid: 1,
    lastCalcBody: null,
    sensBodyShown: null,
    computedOnce: {},
  };

  function $(id) { return document.getElementById(id); }

  /* ---------- DOM helpers ---------- */

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") node.textContent = attrs[k];
        else if (k === "className") node.className = attrs[k];
        else node.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function display(v) {
    // A display value from the server: strings as they are; null is "—".
    if (v === null || v === undefined || v === "") return "\u2014";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  function humanKey(k) {
    var names = { label: "figure", it: "IT", facility: "facility", unit: "unit", value: "value" };
    if (Object.prototype.hasOwnProperty.call(names, k)) return names[k];
    return String(k).replace(/_/g, " ");
  }

  // Server SVG: parsed as XML (not HTML), refused if not an <svg>, and stripped
  // of anything active, as a second line behind the server's own escaping.
  function insertSvg(container, svgText, caption) {
    clear(container);
    if (!svgText) { container.hidden = true; return; }
    var doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
    var root = doc.documentElement;
    if (!root || root.nodeName.toLowerCase() !== "svg" || doc.getElementsByTagName("parsererror").length) {
      container.appendChild(el("p", { className: "empty", text: "Chart unavailable." }));
      container.hidden = false;
      return;
    }
    Array.prototype.slice.call(root.querySelectorAll("script, foreignObject, style")).forEach(function (n) {
      n.parentNode.removeChild(n);
    });
    Array.prototype.slice.call(root.querySelectorAll("*")).concat([root]).forEach(function (n) {
      Array.prototype.slice.call(n.attributes).forEach(function (a) {
        var name = a.name.toLowerCase();
        if (name.indexOf("on") === 0 || name === "style" ||
            ((name === "href" || name === "xlink:href") && !/^#/.test(a.value))) {
          n.removeAttribute(a.name);
        }
      });
    });
    root.removeAttribute("width");
    root.removeAttribute("height");
    container.appendChild(document.importNode(root, true));
    if (caption) container.appendChild(el("figcaption", { text: caption }));
    container.hidden = false;
  }

  /* ---------- API ---------- */

  function ApiError(err, status) {
    this.code = (err && err.code) || "http_" + status;
    this.message = (err && err.message) || "Request failed (HTTP " + status + ").";
    this.hint = (err && err.hint) || null;
    this.field = (err && err.field) || null;
  }

  function api(method, path, body) {
    var opts = {
      method: method,
      headers: { "Accept": "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    };
    if (method !== "GET") {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-Epcore-Token"] = TOKEN;
      opts.body = JSON.stringify(body === undefined ? {} : body);
    }
    return fetch(path, opts).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!res.ok) throw new ApiError(data && data.error, res.status);
        if (data === null) throw new ApiError({ code: "bad_response", message: "The console sent an unreadable reply." }, res.status);
        return data;
      });
    }, function () {
      throw new ApiError({ code: "network", message: "Cannot reach the epcore console.", hint: "Is `epcore console` still running?" }, 0);
    });
  }

  function showError(prefix, err, form) {
    var box = $(prefix + "-error");
    var out = $(prefix + "-out");
    clear(box);
    if (out) out.classList.remove("stale");
    if (form) {
      Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (n) { n.removeAttribute("aria-invalid"); });
    }
    if (!err) { box.hidden = true; return; }
    box.appendChild(el("strong", { text: err.message }));
    if (err.hint) box.appendChild(el("span", { className: "hint", text: err.hint }));
    box.hidden = false;
    if (out) out.classList.add("stale");
    if (form && err.field && form.elements[err.field]) form.elements[err.field].setAttribute("aria-invalid", "true");
  }

  function setBusy(prefix, on) {
    var b = $(prefix + "-busy");
    if (b) b.hidden = !on;
    var out = $(prefix + "-out");
    if (out) out.setAttribute("aria-busy", on ? "true" : "false");
  }

  /* ---------- forms ---------- */

  // Body from a form: numbers parsed (the only arithmetic JS does), empty
  // fields left out so the server's defaults apply.
  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (f) {
      if (!f.name || f.type === "file" || f.type === "submit" || f.disabled) return;
      var v = f.value.trim();
      if (v === "") return;
      if (f.type === "number") {
        var n = Number(v);
        body[f.name] = isFinite(n) ? n : v;
      } else {
        body[f.name] = v;
      }
    });
    return body;
  }

  function calcBody() {
    var body = formBody($("form-calc"));
    if (body.grid === "custom") {
      delete body.grid;
    } else {
      delete body.grid_g_co2_per_kwh;
    }
    return body;
  }

  var GRID_KINDS = {
    world: "World", country: "Countries", us_state: "US states", bidding_zone: "Bidding zones",
    cloud: "Cloud regions",
  };

  function fillSelects(meta) {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-options]"), function (sel) {
      var kind = sel.getAttribute("data-options");
      var keep = sel.value;
      if (kind === "currencies") {
        clear(sel);
        (meta.currencies || []).forEach(function (c) {
          var short = sel.hasAttribute("data-short");
          sel.appendChild(el("option", { value: c.code, text: c.name && !short ? c.code + " \u2014 " + c.name : c.code }));
        });
        if (!sel.querySelector('option[value="' + keep + '"]')) sel.appendChild(el("option", { value: keep, text: keep }));
      } else if (kind === "grid_regions") {
        // One group per kind of region, in this order; unknown kinds go last.
        var custom = sel.querySelector('option[value="custom"]');
        var groups = {};
        var order = ["world", "country", "us_state", "bidding_zone", "cloud"];
        (meta.grid_regions || []).forEach(function (g) {
          var kindName = g.kind || "other";
          if (!groups[kindName]) {
            groups[kindName] = el("optgroup", { label: GRID_KINDS[kindName] || humanKey(kindName) });
            if (order.indexOf(kindName) < 0) order.push(kindName);
          }
          var text = (g.name && g.name !== g.code ? g.name + " (" + g.code + ")" : g.code);
          groups[kindName].appendChild(el("option", { value: g.code, text: text }));
        });
        order.forEach(function (k) { if (groups[k]) sel.insertBefore(groups[k], custom); });
      }
      sel.value = keep;
    });
  }

  /* ---------- tables ---------- */

  function renderTable(table, rows, columns) {
    clear(table);
    if (!rows || !rows.length) return;
    if (!columns) {
      columns = [];
      rows.forEach(function (r) {
        Object.keys(r).forEach(function (k) { if (k !== "name" && columns.indexOf(k) < 0) columns.push(k); });
      });
      columns = columns.map(function (k, i) {
        return { key: k, title: humanKey(k), num: i > 0 && k !== "unit" && k !== "note" };
      });
    }
    var thead = el("thead", null, [el("tr", null, columns.map(function (c) {
      return el("th", { scope: "col", className: c.num ? "num" : "", "data-col": c.key || "", text: c.title });
    }))]);
    var tbody = el("tbody");
    rows.forEach(function (r) {
      var tr = el("tr");
      if (r.name) tr.setAttribute("data-name", r.name);
      columns.forEach(function (c, i) {
        var v = r[c.key];
        var num = c.num !== undefined ? c.num : (i > 0 && c.key !== "unit" && c.key !== "note");
        var text = c.key === "unit" && (v === "" || v === null || v === undefined) ? "" : display(v);
        var cell = el(i === 0 ? "th" : "td", { className: num ? "num" : "", text: text });
        // The unit also rides in the first cell, for narrow screens that hide the unit column.
        if (i === 0 && r.unit) cell.appendChild(el("span", { className: "unit-inline", text: r.unit }));
        if (i === 0) cell.setAttribute("scope", "row");
        if (c.key) cell.setAttribute("data-col", c.key);
        tr.appendChild(cell);
      });
      tbody.appendChild(tr);
    });
    table.appendChild(thead);
    table.appendChild(tbody);
  }

  function renderNotes(list, lines) {
    clear(list);
    lines.forEach(function (l) {
      if (l) list.appendChild(el("li", { text: l }));
    });
  }

  function gridLine(grid) {
    if (!grid) return null;
    if (typeof grid === "string") return grid;
    if (grid.line) return grid.line;
    var parts = ["Grid " + (grid.code || "")];
    if (grid.name) parts[0] += " (" + grid.name + ")";
    if (grid.g_co2_per_kwh !== undefined && grid.g_co2_per_kwh !== null) parts.push(display(grid.g_co2_per_kwh) + " gCO\u2082e/kWh");
    if (grid.year) parts.push(display(grid.year));
    if (grid.source) parts.push(display(grid.source));
    return parts.join(", ");
  }

  /* ---------- calculator ---------- */

  var HEADLINE = [
    ["joules_per_token", "Energy per token"],
    ["cost_per_million_tokens", "Cost per million tokens"],
    ["cost_per_query", "Cost per query"],
    ["g_co2_per_query", "Carbon per query"],
  ];

  function renderHeadline(container, cards) {
    clear(container);
    cards.forEach(function (c) {
      container.appendChild(el("div", { className: "figure" }, [
        el("span", { className: "figure-label", text: c.label }),
        el("span", { className: "figure-value" }, [
          el("span", { className: "value", text: display(c.value) }),
          c.unit ? el("span", { className: "figure-unit", text: " " + c.unit }) : null,
        ]),
        c.note ? el("span", { className: "figure-note", text: c.note }) : null,
      ]));
    });
  }

  function calcRowsTable(table, rows, pueText) {
    var hasFacility = rows.some(function (r) { return r.facility !== null && r.facility !== undefined && r.facility !== ""; });
    var cols = [
      { key: "label", title: "figure", num: false },
      { key: "unit", title: "unit", num: false },
      { key: "it", title: "IT", num: true },
    ];
    if (hasFacility) cols.push({ key: "facility", title: "facility (PUE " + pueText + ")", num: true });
    renderTable(table, rows, cols);
    table.classList.toggle("with-facility", hasFacility);
  }

  function showCalc(data) {
    var rows = data.rows || [];
    var byName = {};
    rows.forEach(function (r) { byName[r.name] = r; });
    var cards = [];
    HEADLINE.forEach(function (h) {
      var r = byName[h[0]];
      if (r && r.it !== null && r.it !== undefined) {
        var hasFacility = r.facility !== null && r.facility !== undefined && r.facility !== "";
        cards.push({ label: h[1], value: r.it, unit: r.unit, note: hasFacility ? "facility " + r.facility : "IT only" });
      }
    });
    renderHeadline($("calc-headline"), cards);
    calcRowsTable($("calc-table"), rows, $("calc-pue").value);
    var notes = [data.pue_note];
    if (data.rate_line) notes.push(data.rate_line);
    if (data.rate_note) notes.push(data.rate_note);
    notes.push(data.grid_line || gridLine(data.grid));
    renderNotes($("calc-notes"), notes);
  }

  /* ---------- debounced endpoint forms ---------- */

  var seq = {};
  var timers = {};

  function debounce(key, fn) {
    clearTimeout(timers[key]);
    timers[key] = setTimeout(fn, DEBOUNCE_MS);
  }

  // Run fn(body) for prefix; only the newest request's answer is shown.
  function runLatest(prefix, promiseFn, onData, form) {
    seq[prefix] = (seq[prefix] || 0) + 1;
    var mine = seq[prefix];
    setBusy(prefix, true);
    return promiseFn().then(function (data) {
      if (mine !== seq[prefix]) return;
      showError(prefix, null, form);
      onData(data);
    }, function (err) {
      if (mine !== seq[prefix]) return;
      showError(prefix, err, form);
    }).then(function () {
      if (mine === seq[prefix]) setBusy(prefix, false);
    });
  }

  function computeCalc() {
    var body = calcBody();
    state.lastCalcBody = body;
    updateSensScenario();
    runLatest("calc", function () { return api("POST", "/api/calc", body); }, showCalc, $("form-calc"));
    if (state.tab === "sens") computeSens();
  }

  function updateSensScenario() {
    var f = $("form-calc");
    var parts = [
      f.elements.power_w.value + " W",
      f.elements.tokens_per_s.value + " tok/s",
      f.elements.price_per_kwh.value + " " + f.elements.price_currency.value + "/kWh",
      f.elements.query_tokens.value + "-token queries",
      "PUE " + f.elements.pue.value,
    ];
    $("sens-scenario").textContent = parts.join(", ");
  }

  function computeSens() {
    var body = state.lastCalcBody || calcBody();
    var key = JSON.stringify(body);
    state.sensBodyShown = key;
    runLatest("sens", function () { return api("POST", "/api/sensitivity", body); }, function (data) {
      insertSvg($("sens-svg"), data.svg, null);
      renderSensRows($("sens-table"), data.rows);
    }, $("form-calc"));
  }

  // Sensitivity rows: {columns: [{name, label}], rows: [{scenario, note, values, changes}]}
  // (display strings); a plain list of rows is shown as it is.
  function renderSensRows(table, data) {
    if (!data || Array.isArray(data)) { renderTable(table, data || []); return; }
    clear(table);
    var columns = data.columns || [];
    var head = el("tr", null, [el("th", { scope: "col", text: "scenario" })].concat(columns.map(function (c) {
      return el("th", { scope: "col", className: "num", text: c.label });
    })));
    var tbody = el("tbody");
    (data.rows || []).forEach(function (r) {
      var first = el("th", { scope: "row" }, [el("span", { text: display(r.scenario) })]);
      if (r.note) first.appendChild(el("span", { className: "sub", text: r.note }));
      var tr = el("tr", { "data-name": display(r.scenario) }, [first]);
      columns.forEach(function (c) {
        var change = (r.changes || {})[c.name];
        var cls = /^-|^\u2212/.test(change || "") ? "change down" : /^\+0\.0%$/.test(change || "") ? "change" : "change up";
        tr.appendChild(el("td", { className: "num", "data-col": c.name }, [
          el("span", { text: display((r.values || {})[c.name]) }),
          change ? el("span", { className: cls, text: change }) : null,
        ]));
      });
      tbody.appendChild(tr);
    });
    table.appendChild(el("thead", null, [head]));
    table.appendChild(tbody);
  }

  var SIMPLE = { fleet: "/api/fleet", floor: "/api/floor", xover: "/api/crossover" };

  function computeSimple(prefix) {
    var form = $("form-" + prefix);
    var body = formBody(form);
    state.computedOnce[prefix] = true;
    runLatest(prefix, function () { return api("POST", SIMPLE[prefix], body); }, function (data) {
      renderTable($(prefix + "-table"), data.rows || []);
      var notes = [];
      ["note", "pue_note", "rate_line", "rate_note"].forEach(function (k) { if (data[k]) notes.push(data[k]); });
      renderNotes($(prefix + "-notes"), notes);
    }, form);
  }

  /* ---------- tabs ---------- */

  function selectTab(name, focus) {
    if (TABS.indexOf(name) < 0) name = "calc";
    state.tab = name;
    TABS.forEach(function (t) {
      var tab = $("tab-" + t);
      var on = t === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      $("panel-" + t).hidden = !on;
    });
    if (focus) $("tab-" + name).focus();
    if (name === "sens" && state.sensBodyShown !== JSON.stringify(state.lastCalcBody || calcBody())) computeSens();
    if (SIMPLE[name] && !state.computedOnce[name]) computeSimple(name);
    if (name === "compare" && state.scenarios.length && !state.computedOnce.compare) computeCompare();
    saveUrl();
  }

  function bindTabs() {
    var list = $("tablist");
    list.addEventListener("click", function (e) {
      var t = e.target.closest('[role="tab"]');
      if (t) selectTab(t.getAttribute("data-tab"), false);
    });
    list.addEventListener("keydown", function (e) {
      var i = TABS.indexOf(state.tab);
      var next = null;
      if (e.key === "ArrowRight" || e.key === "ArrowDown") next = TABS[(i + 1) % TABS.length];
      else if (e.key === "ArrowLeft" || e.key === "ArrowUp") next = TABS[(i + TABS.length - 1) % TABS.length];
      else if (e.key === "Home") next = TABS[0];
      else if (e.key === "End") next = TABS[TABS.length - 1];
      if (next) {
        e.preventDefault();
        selectTab(next, true);
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-goto]"), function (b) {
      b.addEventListener("click", function () { selectTab(b.getAttribute("data-goto"), true); });
    });
  }

  /* ---------- URL state ---------- */

  function saveUrl() {
    var p = new URLSearchParams();
    p.set("tab", state.tab);
    Object.keys(URL_FORMS).forEach(function (name) {
      var form = $("form-" + name);
      Array.prototype.forEach.call(form.elements, function (f) {
        if (!f.name || f.type === "file") return;
        // Other tabs' inputs only when changed from the page's defaults: short URLs.
        if (name !== "calc" && f.value === f.defaultValue && f.tagName !== "SELECT") return;
        if (f.tagName === "SELECT" && name !== "calc" && f.value === "USD") return;
        p.set(URL_FORMS[name] + f.name, f.value);
      });
    });
    if (state.scenarios.length) {
      p.set("compare", JSON.stringify(state.scenarios.map(function (s) { return s.body; })));
    }
    history.replaceState(null, "", "?" + p.toString());
  }

  function loadUrl() {
    var p = new URLSearchParams(location.search);
    Object.keys(URL_FORMS).forEach(function (name) {
      var form = $("form-" + name);
      Array.prototype.forEach.call(form.elements, function (f) {
        if (!f.name || f.type === "file") return;
        var key = URL_FORMS[name] + f.name;
        if (!p.has(key)) return;
        var v = p.get(key);
        if (f.tagName === "SELECT" && !f.querySelector('option[value="' + CSS.escape(v) + '"]')) {
          f.appendChild(el("option", { value: v, text: v }));
        }
        f.value = v;
      });
    });
    var cmp = p.get("compare");
    if (cmp) {
      try {
        var list = JSON.parse(cmp);
        if (Array.isArray(list)) {
          list.slice(0, MAX_SCENARIOS).forEach(function (b) {
            if (b && typeof b === "object" && !Array.isArray(b)) state.scenarios.push({ uid: state.nextUid++, body: b });
          });
        }
      } catch (e) { /* a hand-edited URL: ignore the scenarios, keep the rest */ }
    }
    return p.get("tab") || "calc";
  }

  /* ---------- compare ---------- */

  var CMP_FIELDS = [
    ["power_w", "Power, W"],
    ["tokens_per_s", "Tokens/s"],
    ["price_per_kwh", "Price per kWh"],
    ["query_tokens", "Tokens per query"],
    ["pue", "PUE"],
  ];

  function scenarioTitle(i) {
    var s = state.scenarios[i];
    return s && s.body.label ? s.body.label : "Scenario " + (i + 1);
  }

  function renderScenarios() {
    var list = $("compare-list");
    clear(list);
    state.scenarios.forEach(function (s, i) {
      var nid = "cmp-" + s.uid + "-label";
      var nameInput = el("input", { id: nid, type: "text", spellcheck: "false", maxlength: "40" });
      nameInput.value = s.body.label || "";
      nameInput.addEventListener("input", function () {
        var v = nameInput.value.trim();
        if (v) s.body.label = v; else delete s.body.label;
        legend.textContent = scenarioTitle(i);
        debounce("compare", function () { computeCompare(); saveUrl(); });
      });
      var legend = el("legend", { text: scenarioTitle(i) });
      var fields = [el("div", { className: "field wide" }, [el("label", { for: nid, text: "Name" }), nameInput])];
      fields = fields.concat(CMP_FIELDS.map(function (f) {
        var id = "cmp-" + s.uid + "-" + f[0];
        var input = el("input", { id: id, type: "number", inputmode: "decimal", step: "any" });
        input.value = s.body[f[0]] === undefined ? "" : String(s.body[f[0]]);
        input.addEventListener("input", function () {
          var v = input.value.trim();
          if (v === "") delete s.body[f[0]];
          else s.body[f[0]] = isFinite(Number(v)) ? Number(v) : v;
          debounce("compare", function () { computeCompare(); saveUrl(); });
        });
        return el("div", { className: "field" }, [el("label", { for: id, text: f[1] }), input]);
      }));
      var cid = "cmp-" + s.uid + "-currency";
      var cur = el("select", { id: cid });
      Array.prototype.forEach.call($("calc-currency").options, function (o) {
        cur.appendChild(el("option", { value: o.value, text: o.value }));
      });
      cur.value = s.body.currency || "USD";
      cur.addEventListener("change", function () {
        s.body.currency = cur.value;
        computeCompare();
        saveUrl();
      });
      fields.push(el("div", { className: "field" }, [el("label", { for: cid, text: "Currency" }), cur]));
      var remove = el("button", { type: "button", className: "ghost", text: "Remove" });
      remove.setAttribute("aria-label", "Remove " + scenarioTitle(i));
      remove.addEventListener("click", function () {
        state.scenarios = state.scenarios.filter(function (x) { return x !== s; });
        renderScenarios();
        computeCompare();
        saveUrl();
      });
      var extra = [];
      if (s.body.grid) extra.push("grid " + s.body.grid);
      if (s.body.grid_g_co2_per_kwh !== undefined) extra.push(s.body.grid_g_co2_per_kwh + " gCO\u2082/kWh");
      if (s.body.price_currency) extra.push("price in " + s.body.price_currency);
      list.appendChild(el("fieldset", { className: "scenario" }, [
        legend,
        el("div", { className: "scenario-fields" }, fields),
        el("div", { className: "scenario-foot" }, [
          el("span", { className: "scenario-extra", text: extra.join(" \u00b7 ") }),
          remove,
        ]),
      ]));
    });
    $("compare-add").disabled = state.scenarios.length >= MAX_SCENARIOS;
  }

  function computeCompare() {
    state.computedOnce.compare = true;
    if (!state.scenarios.length) {
      seq.compare = (seq.compare || 0) + 1;
      setBusy("compare", false);
      showError("compare", null, null);
      insertSvg($("compare-svg"), null);
      clear($("compare-table"));
      return;
    }
    var body = { scenarios: state.scenarios.map(function (s) { return s.body; }) };
    runLatest("compare", function () { return api("POST", "/api/compare", body); }, function (data) {
      insertSvg($("compare-svg"), data.svg, null);
      var results = data.results || [];
      var first = (results[0] && results[0].rows) || [];
      var rows = first.map(function (r) { return { name: r.name, label: r.label, unit: r.unit }; });
      var cols = [{ key: "label", title: "figure", num: false }, { key: "unit", title: "unit", num: false }];
      results.forEach(function (res, i) { cols.push({ key: "s" + i, title: scenarioTitle(i), num: true }); });
      var table = $("compare-table");
      renderTable(table, rows, cols);
      // Each cell: the IT figure, and the facility figure under it when PUE > 1.
      var trs = table.querySelectorAll("tbody tr");
      first.forEach(function (r, j) {
        results.forEach(function (res, i) {
          var rr = ((res.rows || [])[j]) || {};
          var td = trs[j].querySelector('[data-col="s' + i + '"]');
          clear(td);
          td.appendChild(el("span", { className: "value", text: display(rr.it) }));
          if (rr.facility !== null && rr.facility !== undefined && rr.facility !== "") {
            td.appendChild(el("span", { className: "sub", text: "facility " + rr.facility }));
          }
        });
      });
    }, null);
  }

  function bindCompare() {
    $("compare-add").addEventListener("click", function () {
      if (state.scenarios.length >= MAX_SCENARIOS) return;
      var body = calcBody();
      body.label = "Scenario " + (state.scenarios.length + 1);
      state.scenarios.push({ uid: state.nextUid++, body: body });
      renderScenarios();
      computeCompare();
      saveUrl();
    });
  }

  /* ---------- trace ---------- */

  function upload(file, what) {
    var limit = state.meta && state.meta.limits ? state.meta.limits.max_upload_bytes : null;
    if (typeof limit === "number" && file.size > limit) {
      // Refused here: the server would refuse it too, after the bytes had crossed.
      return Promise.reject(new ApiError({
        code: "too_large",
        message: "\u201c" + file.name + "\u201d is larger than this console accepts.",
        hint: "restart the console with a larger --max-upload-mb",
      }, 413));
    }
    return new Promise(function (resolve, reject) {
      var bar = $("trace-upload-progress");
      bar.max = file.size > 0 ? file.size : 1;
      bar.value = 0;
      $("trace-stage").textContent = "Uploading " + what + " \u201c" + file.name + "\u201d\u2026";
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/uploads?name=" + encodeURIComponent(file.name));
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.setRequestHeader("X-Epcore-Token", TOKEN);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { bar.max = e.total > 0 ? e.total : 1; bar.value = e.loaded; }
      };
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status >= 200 && xhr.status < 300 && data && data.id) {
          bar.value = bar.max;
          resolve(data);
        } else {
          reject(new ApiError(data && data.error, xhr.status));
        }
      };
      xhr.onerror = function () {
        reject(new ApiError({ code: "network", message: "The upload of " + file.name + " failed.", hint: "Is `epcore console` still running?" }, 0));
      };
      xhr.send(file);
    });
  }

  function poll(id) {
    return new Promise(function (resolve, reject) {
      var bar = $("trace-analysis-progress");
      function tick() {
        api("GET", "/api/analyses/" + encodeURIComponent(id)).then(function (job) {
          if (typeof job.progress === "number") bar.value = job.progress;
          $("trace-stage").textContent = job.stage ? job.stage : job.state;
          if (job.state === "done") { bar.value = 1; resolve(job.result || {}); }
          else if (job.state === "error") reject(new ApiError(job.error, 422));
          else setTimeout(tick, POLL_MS);
        }, reject);
      }
      tick();
    });
  }

  var SVG_CAPTIONS = {
    power: "Power over time, with the requests in flight",
    jpt: "Energy per output token over time",
    histogram: "Energy per request",
    phases: "Where the energy went: prefill, decode, idle",
  };

  // The full quality report as the core wrote it: one heading per file, one
  // line per field; deeper maps (skipped rows by reason...) as "key value" lists.
  function flat(v) {
    if (Array.isArray(v)) return v.length ? v.map(flat).join(", ") : "none";
    if (v && typeof v === "object") {
      var keys = Object.keys(v);
      return keys.length ? keys.map(function (k) { return humanKey(k) + " " + flat(v[k]); }).join(", ") : "none";
    }
    return display(v);
  }

  function renderQuality(dl, groups) {
    Object.keys(groups).forEach(function (g) {
      dl.appendChild(el("dt", { className: "group", text: g }));
      dl.appendChild(el("dd", { className: "group" }));
      var obj = groups[g];
      Object.keys(obj).forEach(function (k) {
        if (k === "warnings") return;
        dl.appendChild(el("dt", { text: humanKey(k) }));
        dl.appendChild(el("dd", { text: flat(obj[k]) }));
      });
    });
  }

  function collectWarnings(result) {
    var out = [];
    function add(w) {
      var s = typeof w === "string" ? w : (w && (w.message || w.reason)) ? (w.message || w.reason) : JSON.stringify(w);
      if (out.indexOf(s) < 0) out.push(s);
    }
    (result.warnings || []).forEach(add);
    return out;
  }

  // Distribution: prefer the server's display rows; else the raw summary, shown
  // with the browser's number formatting (formatting, not arithmetic).
  function renderDistribution(result) {
    var table = $("trace-dist");
    var rows = result.distribution_rows || result.distribution;
    var attribution = result.attribution;
    if (!rows && attribution && attribution.distribution) {
      var fmt = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 4 });
      rows = Object.keys(attribution.distribution).map(function (k) {
        var d = attribution.distribution[k] || {};
        var r = { name: k, column: humanKey(k) };
        ["n", "mean", "min", "p50", "p90", "p99", "max"].forEach(function (s) {
          r[s] = typeof d[s] === "number" ? fmt.format(d[s]) : d[s];
        });
        return r;
      });
    }
    if (rows && !Array.isArray(rows)) rows = null;
    renderTable(table, rows || []);
    $("trace-dist-title").hidden = !(rows && rows.length);
  }

  function showTrace(result) {
    $("trace-empty").hidden = true;
    renderHeadline($("trace-headline"), result.headline || []);
    renderNotes($("trace-warnings"), collectWarnings(result));
    var charts = $("trace-charts");
    clear(charts);
    var svgs = result.svgs || {};
    ["power", "jpt", "histogram", "phases"].forEach(function (k) {
      if (!svgs[k]) return;
      var fig = el("figure", { className: "chart", id: "trace-svg-" + k });
      insertSvg(fig, svgs[k], SVG_CAPTIONS[k]);
      charts.appendChild(fig);
    });
    renderDistribution(result);
    var dl = $("trace-quality");
    clear(dl);
    if (result.quality) {
      var q = result.quality;
      // Display rows first (formatted by the server); then the full report, as it is.
      (Array.isArray(q.rows) ? q.rows : []).forEach(function (r) {
        dl.appendChild(el("dt", { text: display(r.label) }));
        dl.appendChild(el("dd", { text: display(r.value) }));
      });
      var rest = {};
      Object.keys(q).forEach(function (k) {
        if (k !== "rows" && q[k] && typeof q[k] === "object") rest["Full report: " + humanKey(k)] = q[k];
      });
      renderQuality(dl, rest);
      $("trace-quality-box").hidden = false;
    } else {
      $("trace-quality-box").hidden = true;
    }
  }

  function resetTraceOut() {
    $("trace-empty").hidden = false;
    clear($("trace-headline"));
    clear($("trace-warnings"));
    clear($("trace-charts"));
    clear($("trace-dist"));
    $("trace-dist-title").hidden = true;
    $("trace-quality-box").hidden = true;
  }

  // "auto", "off", or watts (sent as a JSON number).
  function idleValue(v) {
    var t = (v || "auto").trim();
    return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : t.toLowerCase();
  }

  function bindTrace() {
    var form = $("form-trace");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var power = $("trace-power").files[0];
      var reqs = $("trace-requests").files[0];
      showError("trace", null, form);
      if (!power) {
        showError("trace", { message: "Choose a power trace file first.", hint: "CSV, nvidia-smi, Zeus, Prometheus, RAPL, CodeCarbon or Parquet.", field: "power" }, form);
        return;
      }
      var run = $("trace-run");
      run.disabled = true;
      resetTraceOut();
      $("trace-analysis-progress").value = 0;
      $("trace-out").setAttribute("aria-busy", "true");
      var opts = formBody(form);
      upload(power, "power trace").then(function (p) {
        return (reqs ? upload(reqs, "request log") : Promise.resolve(null)).then(function (r) {
          $("trace-stage").textContent = "Queued for analysis\u2026";
          return api("POST", "/api/analyses", {
            power: p.id,
            requests: r ? r.id : null,
            format: null,
            requests_format: null,
            tz: opts.tz || null,
            weight: opts.weight || "tokens",
            idle_w: idleValue(opts.idle_w),
            offset_s: typeof opts.offset_s === "number" ? opts.offset_s : 0,
          });
        });
      }).then(function (job) {
        return poll(job.id);
      }).then(function (result) {
        $("trace-stage").textContent = "Done.";
        showTrace(result);
      }, function (err) {
        $("trace-stage").textContent = "Stopped.";
        showError("trace", err, form);
      }).then(function () {
        run.disabled = false;
        $("trace-out").setAttribute("aria-busy", "false");
      });
    });
  }

  /* ---------- start ---------- */

  function bindForms() {
    var calc = $("form-calc");
    function onCalc() {
      $("calc-custom-grid").hidden = calc.elements.grid.value !== "custom";
      debounce("calc", function () { computeCalc(); saveUrl(); });
    }
    calc.addEventListener("input", onCalc);
    calc.addEventListener("change", onCalc);
    calc.addEventListener("submit", function (e) { e.preventDefault(); });
    Object.keys(SIMPLE).forEach(function (prefix) {
      var form = $("form-" + prefix);
      function on() { debounce(prefix, function () { computeSimple(prefix); saveUrl(); }); }
      form.addEventListener("input", on);
      form.addEventListener("change", on);
      form.addEventListener("submit", function (e) { e.preventDefault(); });
    });
  }

  function showMeta(meta) {
    state.meta = meta;
    if (meta.version) $("version").textContent = "v" + meta.version;
    fillSelects(meta);
    var r = meta.rates;
    if (r) {
      var bits = [];
      if (r.date || r.source) bits.push("Exchange rates: " + [r.source, r.date].filter(Boolean).join(", "));
      if (r.note) bits.push(r.note);
      $("rates-caveat").textContent = bits.join(" \u2014 ") + ".";
    }
  }

  function start() {
    bindTabs();
    bindForms();
    bindCompare();
    bindTrace();
    api("GET", "/api/meta").then(showMeta, function (err) {
      showError("calc", err, null);
    }).then(function () {
      var tab = loadUrl();
      $("calc-custom-grid").hidden = $("calc-grid").value !== "custom";
      renderScenarios();
      computeCalc();
      selectTab(tab, false);
      document.documentElement.setAttribute("data-ready", "true");
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
