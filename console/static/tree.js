// tree.js: a Hasura boolean expression as a tree of editable nodes.
// RGTree.render(container, exp, ctx, onChange) draws exp (a JSON object)
// for table ctx.table; every edit mutates exp in place and calls
// onChange(). ctx.tables maps "schema.name" to {columns, relationships};
// ctx.vars lists the session variables to offer.
"use strict";
(function () {
  const COMMON = ["_eq", "_neq", "_gt", "_lt", "_gte", "_lte", "_in", "_nin", "_is_null"];
  const TEXT = ["_like", "_nlike", "_ilike", "_nilike", "_similar", "_nsimilar", "_regex", "_nregex", "_iregex", "_niregex"];
  const JSONB = ["_contains", "_contained_in", "_has_key", "_has_keys_any", "_has_keys_all"];
  const GIS = ["_st_contains", "_st_crosses", "_st_equals", "_st_intersects", "_st_overlaps", "_st_touches", "_st_within", "_st_d_within", "_st_3d_intersects", "_st_3d_d_within"];
  const COLUMN = ["_ceq", "_cne", "_cgt", "_clt", "_cgte", "_clte"];

  // operatorsFor returns the operators Hasura offers on a column type.
  function operatorsFor(type) {
    const t = (type || "").toLowerCase();
    if (t === "jsonb") return ["_eq", "_neq", "_is_null", "_in", "_nin"].concat(JSONB, COLUMN);
    if (t.endsWith("geometry") || t.endsWith("geography")) return ["_eq", "_is_null"].concat(GIS);
    if (t === "text" || t.startsWith("character") || t === "citext" || t === "name" || t === "public.citext")
      return COMMON.concat(TEXT, COLUMN);
    if (t.endsWith("[]")) return COMMON.concat(["_contains", "_contained_in"], COLUMN);
    return COMMON.concat(COLUMN);
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function button(text, title, f) {
    const b = el("button", "", text);
    b.type = "button";
    if (title) b.title = title;
    b.addEventListener("click", f);
    return b;
  }

  function select(options, value, f) {
    const s = el("select");
    for (const o of options) {
      const opt = el("option", "", o.label || o);
      opt.value = o.value !== undefined ? o.value : o;
      s.appendChild(opt);
    }
    s.value = value;
    s.addEventListener("change", () => f(s.value));
    return s;
  }

  // valueText shows a value as it is typed: strings bare, the rest JSON.
  function valueText(v) {
    return typeof v === "string" ? v : JSON.stringify(v);
  }

  // parseValue reads what was typed: JSON when it parses as JSON
  // (numbers, true, null, lists), a session variable or text otherwise.
  function parseValue(s) {
    const t = s.trim();
    if (t === "") return "";
    if (/^(true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?)$/.test(t) || t[0] === "[" || t[0] === "{" || t[0] === '"') {
      try { return window.RGJSON.parse(t); } catch (e) { return s; }
    }
    return s;
  }

  function valueInput(v, ctx, f) {
    const i = el("input");
    i.value = valueText(v);
    i.setAttribute("list", "rg-vars");
    i.placeholder = "value or X-Hasura-…";
    i.addEventListener("change", () => f(parseValue(i.value)));
    return i;
  }

  function ensureVarList(ctx) {
    let dl = document.getElementById("rg-vars");
    if (!dl) {
      dl = el("datalist");
      dl.id = "rg-vars";
      document.body.appendChild(dl);
    }
    dl.textContent = "";
    for (const v of ctx.vars || []) {
      const o = el("option");
      o.value = v;
      dl.appendChild(o);
    }
  }

  function keyOptions(tableName, ctx) {
    const t = ctx.tables[tableName] || { columns: [], relationships: [] };
    const out = [];
    for (const c of t.columns) out.push({ value: c.name, label: c.name + " (" + c.type + ")" });
    for (const r of t.relationships) out.push({ value: r.name, label: r.name + " → " + r.remote });
    out.push({ value: "_and", label: "_and" }, { value: "_or", label: "_or" }, { value: "_not", label: "_not" }, { value: "_exists", label: "_exists" });
    return out;
  }

  // renderObject draws an object expression: each key is one condition,
  // all of which hold (an implicit _and).
  function renderObject(exp, tableName, ctx, onChange) {
    const box = el("div", "node");
    const keys = Object.keys(exp);
    if (keys.length === 0) box.appendChild(el("div", "muted", "{} every row"));
    for (const k of keys) box.appendChild(renderEntry(exp, k, tableName, ctx, onChange));
    const add = button("+ condition", "add a condition (all of them must hold)", () => {
      const opts = keyOptions(tableName, ctx);
      const first = opts.find((o) => !(o.value in exp));
      if (!first) return;
      exp[first.value] = defaultFor(first.value, tableName, ctx);
      onChange(true);
    });
    box.appendChild(add);
    return box;
  }

  function defaultFor(key, tableName, ctx) {
    if (key === "_and" || key === "_or") return [{}];
    if (key === "_not") return {};
    if (key === "_exists") return { _table: { schema: "public", name: "" }, _where: {} };
    const t = ctx.tables[tableName];
    if (t && t.relationships.some((r) => r.name === key)) return {};
    return { _eq: "" };
  }

  function renameKey(obj, from, to) {
    const out = {};
    for (const k of Object.keys(obj)) out[k === from ? to : k] = obj[k];
    for (const k of Object.keys(obj)) delete obj[k];
    Object.assign(obj, out);
  }

  function renderEntry(exp, key, tableName, ctx, onChange) {
    const t = ctx.tables[tableName] || { columns: [], relationships: [] };
    const wrap = el("div");
    const row = el("div", "row");
    const opts = keyOptions(tableName, ctx);
    if (!opts.some((o) => o.value === key)) opts.unshift({ value: key, label: key + " (unknown)" });
    row.appendChild(select(opts, key, (nk) => {
      if (nk === key || nk in exp) return;
      renameKey(exp, key, nk);
      exp[nk] = defaultFor(nk, tableName, ctx);
      onChange(true);
    }));
    row.appendChild(button("×", "remove this condition", () => { delete exp[key]; onChange(true); }));
    wrap.appendChild(row);
    const v = exp[key];
    if (key === "_and" || key === "_or") {
      const g = el("div", "node group-" + key.slice(1));
      (Array.isArray(v) ? v : []).forEach((item, i) => {
        const r = el("div", "row");
        r.appendChild(el("span", "tag", key === "_and" ? "all of" : "any of"));
        r.appendChild(button("× item", "remove this item", () => { v.splice(i, 1); onChange(true); }));
        g.appendChild(r);
        g.appendChild(renderObject(item, tableName, ctx, onChange));
      });
      g.appendChild(button("+ item", "", () => { v.push({}); onChange(true); }));
      wrap.appendChild(g);
    } else if (key === "_not") {
      const g = el("div", "node group-not");
      g.appendChild(el("span", "tag", "not"));
      g.appendChild(renderObject(v, tableName, ctx, onChange));
      wrap.appendChild(g);
    } else if (key === "_exists") {
      const g = el("div", "node group-exists");
      const r = el("div", "row");
      r.appendChild(el("span", "tag", "some row of"));
      const cur = v._table ? (typeof v._table === "string" ? "public." + v._table : (v._table.schema || "public") + "." + v._table.name) : "";
      const names = Object.keys(ctx.tables).sort();
      if (!names.includes(cur)) names.unshift(cur);
      r.appendChild(select(names, cur, (n) => {
        const i = n.indexOf(".");
        v._table = { schema: n.slice(0, i), name: n.slice(i + 1) };
        onChange(true);
      }));
      r.appendChild(el("span", "tag", "where"));
      g.appendChild(r);
      if (!v._where) v._where = {};
      g.appendChild(renderObject(v._where, cur, ctx, onChange));
      wrap.appendChild(g);
    } else {
      const rel = t.relationships.find((r) => r.name === key);
      if (rel) {
        const g = el("div", "node");
        g.appendChild(el("span", "tag", "a related " + rel.remote + " row where"));
        g.appendChild(renderObject(v, rel.remote, ctx, onChange));
        wrap.appendChild(g);
      } else {
        const col = t.columns.find((c) => c.name === key);
        const ops = operatorsFor(col && col.type);
        const g = el("div", "node");
        for (const op of Object.keys(v || {})) {
          const r = el("div", "row");
          const o = ops.includes(op) ? ops : [op].concat(ops);
          r.appendChild(select(o, op, (no) => {
            if (no in v) return;
            renameKey(v, op, no);
            onChange(true);
          }));
          r.appendChild(valueInput(v[op], ctx, (nv) => { v[op] = nv; onChange(false); }));
          r.appendChild(button("×", "remove this operator", () => { delete v[op]; onChange(true); }));
          g.appendChild(r);
        }
        g.appendChild(button("+ operator", "", () => {
          const free = ops.find((o) => !(o in v));
          if (free) { v[free] = ""; onChange(true); }
        }));
        wrap.appendChild(g);
      }
    }
    return wrap;
  }

  function render(container, exp, ctx, onChange) {
    ensureVarList(ctx);
    container.textContent = "";
    const redraw = (structural) => {
      onChange();
      if (structural) render(container, exp, ctx, onChange);
    };
    const tree = el("div", "tree");
    tree.appendChild(renderObject(exp, ctx.table, ctx, redraw));
    container.appendChild(tree);
  }

  window.RGTree = { render, operatorsFor, parseValue };

  // RGJSON parses JSON keeping every number exactly as written: a number
  // that JavaScript cannot hold as written (an integer beyond 2^53, more
  // digits than a double keeps) stays its source text, as JSON.rawJSON,
  // which JSON.stringify writes back unchanged. The console parses the
  // metadata and the rule editor's JSON with it, so a bigint id in a rule
  // survives editing. Browsers without JSON source text access (before
  // Chromium 114, Firefox 135) parse as JSON.parse does.
  const exact = typeof JSON.rawJSON === "function";
  function keepNumbers(key, value, context) {
    if (typeof value === "number" && context && typeof context.source === "string" && String(value) !== context.source) return JSON.rawJSON(context.source);
    return value;
  }
  window.RGJSON = {
    exact,
    parse: (text) => (exact ? JSON.parse(text, keepNumbers) : JSON.parse(text)),
    clone: (v) => (exact ? JSON.parse(JSON.stringify(v), keepNumbers) : JSON.parse(JSON.stringify(v))),
  };
})();
