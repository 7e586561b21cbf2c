// app.js: rowguard's console. It talks to the server's own APIs with the
// admin secret (/v1/graphql, /v1/graphql/explain, /v1/metadata) and to
// /console/api/ for what they do not answer (compile, diff, history,
// run as SQL).
"use strict";
(function () {
  const OPS = ["insert", "select", "update", "delete"];
  const OP_LETTER = { insert: "I", select: "S", update: "U", delete: "D" };
  const $ = (id) => document.getElementById(id);

  const state = {
    secret: sessionStorage.getItem("rowguard-admin-secret") || "",
    info: null,
    current: null, // the metadata as installed
    pending: null, // the edited metadata, or null
    desc: null, // /console/api/describe of pending || current
    editing: null, // {table, role, op, perm}
  };

  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function status(msg) { $("status").textContent = msg; }

  async function api(path, body, extraHeaders) {
    const init = { method: body === undefined ? "GET" : "POST", headers: Object.assign({ "x-hasura-admin-secret": state.secret }, extraHeaders || {}) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["content-type"] = "application/json";
    }
    const r = await fetch(path, init);
    const text = await r.text();
    let data;
    try { data = RGJSON.parse(text); } catch (e) { data = { error: text }; }
    if (!r.ok) {
      const err = new Error((data && (data.error || data.message)) || r.statusText);
      err.status = r.status;
      err.data = data;
      throw err;
    }
    return data;
  }

  const clone = (v) => RGJSON.clone(v);
  const doc = () => state.pending || state.current;
  const tablesOf = (d) => ((d.sources && d.sources[0] && d.sources[0].tables) || []);
  const tableName = (t) => (typeof t.table === "string" ? "public." + t.table : (t.table.schema || "public") + "." + t.table.name);
  const permList = (t, op) => t[op + "_permissions"] || [];
  function findPerm(d, table, role, op) {
    const t = tablesOf(d).find((x) => tableName(x) === table);
    if (!t) return null;
    return permList(t, op).find((p) => p.role === role) || null;
  }

  // roles lists every role the metadata names, admin aside.
  function roles(d) {
    const set = new Set();
    for (const t of tablesOf(d)) for (const op of OPS) for (const p of permList(t, op)) set.add(p.role);
    for (const r of d.inherited_roles || []) set.add(r.role_name);
    return Array.from(set).sort();
  }

  // ---- login -------------------------------------------------------------
  async function start() {
    try {
      state.info = await api("/console/api/info");
    } catch (e) {
      $("login").classList.remove("hidden");
      $("app").classList.add("hidden");
      if (state.secret) $("login-error").textContent = e.message;
      return;
    }
    sessionStorage.setItem("rowguard-admin-secret", state.secret);
    $("login").classList.add("hidden");
    $("app").classList.remove("hidden");
    await reload();
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.secret = $("secret").value;
    start();
  });

  async function reload() {
    state.current = await api("/console/api/metadata");
    state.pending = null;
    await describe();
    renderAll();
    status(state.info.metadata_api ? "changes apply through /v1/metadata" : (state.info.writable ? "changes write the metadata directory and install it" : "read-only"));
  }

  async function describe() {
    state.desc = await api("/console/api/describe", { metadata: doc() });
    state.tables = {};
    for (const t of state.desc.tables) state.tables[t.name] = t;
  }

  function renderAll() {
    renderMatrix();
    renderTryRoles();
    $("review").disabled = !state.pending;
    $("review").textContent = state.pending ? "Review & apply (pending)" : "Review & apply";
    document.dispatchEvent(new CustomEvent("rowguard:render"));
  }

  // ---- matrix ------------------------------------------------------------
  // level classifies a permission: full (every row, every column),
  // partial, or none.
  function level(t, p, op) {
    if (!p) return "none";
    const perm = p.permission || {};
    const empty = (e) => e === undefined || e === null || (typeof e === "object" && Object.keys(e).length === 0);
    const tv = state.tables[tableName(t)];
    const allCols = perm.columns === "*" || (tv && Array.isArray(perm.columns) && tv.columns.every((c) => perm.columns.includes(c.name)));
    switch (op) {
      case "select": return empty(perm.filter) && allCols && perm.limit == null ? "full" : "partial";
      case "insert": return empty(perm.check) && allCols ? "full" : "partial";
      case "update": return empty(perm.filter) && empty(perm.check) && allCols ? "full" : "partial";
      case "delete": return empty(perm.filter) ? "full" : "partial";
    }
    return "partial";
  }
  const SYMBOL = { full: "●", partial: "◐", none: "·" };

  function changedCell(table, role, op) {
    if (!state.pending) return false;
    return JSON.stringify(findPerm(state.pending, table, role, op)) !== JSON.stringify(findPerm(state.current, table, role, op));
  }

  function renderMatrix() {
    const t0 = performance.now();
    const d = doc();
    const q = $("search").value.trim().toLowerCase();
    const rq = $("role-filter").value.trim().toLowerCase();
    const view = $("view").value;
    let allRoles = roles(d);
    let tables = tablesOf(d).slice();
    const pick = $("view-pick");
    if (view !== "matrix") {
      const opts = view === "role" ? allRoles : tables.map(tableName).sort();
      const keep = pick.value;
      pick.innerHTML = opts.map((o) => "<option>" + esc(o) + "</option>").join("");
      if (opts.includes(keep)) pick.value = keep;
      pick.classList.remove("hidden");
    } else {
      pick.classList.add("hidden");
    }
    if (view === "role") allRoles = allRoles.filter((r) => r === pick.value);
    if (view === "table") tables = tables.filter((t) => tableName(t) === pick.value);
    if (q) tables = tables.filter((t) => tableName(t).toLowerCase().includes(q));
    const shownRoles = rq ? allRoles.filter((r) => r.toLowerCase().includes(rq)) : allRoles;
    const granted = (t) => {
      let n = 0;
      for (const op of OPS) for (const p of permList(t, op)) if (shownRoles.includes(p.role)) n += level(t, p, op) === "full" ? 2 : 1;
      return n;
    };
    const sort = $("sort").value;
    const byName = (a, b) => (tableName(a) < tableName(b) ? -1 : tableName(a) > tableName(b) ? 1 : 0);
    if (sort === "name") tables.sort(byName);
    if (sort === "name-desc") tables.sort((a, b) => byName(b, a));
    if (sort === "most" || sort === "least") {
      const g = new Map(tables.map((t) => [t, granted(t)]));
      tables.sort((a, b) => (sort === "most" ? g.get(b) - g.get(a) : g.get(a) - g.get(b)) || byName(a, b));
    }
    const h = [];
    // Cells carry no attributes: the row names its table (or role) and
    // the column index its role and operation (cellAt), which keeps the
    // HTML of 200 × 10 × 4 cells small.
    const cols = [];
    if (view === "table") {
      // One table: roles down, operations across.
      const t = tables[0];
      h.push("<thead><tr><th class='tname'>role</th>" + OPS.map((op) => "<th>" + op + "</th>").join("") + "</tr></thead><tbody>");
      if (t) {
        h.push("<tr><td class='tname'>admin</td>" + OPS.map(() => "<td class='admin'>●</td>").join("") + "</tr>");
        for (const r of shownRoles) {
          h.push("<tr data-table='" + esc(tableName(t)) + "' data-role='" + esc(r) + "'><td class='tname'>" + esc(r) + "</td>");
          for (const op of OPS) h.push(cellHTML(t, r, op));
          h.push("</tr>");
        }
      }
      for (const op of OPS) cols.push({ op });
      h.push("</tbody>");
      state.matrixRows = null;
    } else {
      h.push("<thead><tr><th class='tname' rowspan='2'>table</th><th colspan='4'>admin</th>");
      for (const r of shownRoles) h.push("<th colspan='4'>" + esc(r) + "</th>");
      h.push("</tr><tr>");
      for (let i = 0; i <= shownRoles.length; i++) for (const op of OPS) h.push("<th>" + OP_LETTER[op] + "</th>");
      h.push("</tr></thead><tbody>");
      const admin = "<td class='admin'>●</td><td class='admin'>●</td><td class='admin'>●</td><td class='admin'>●</td>";
      for (const op of OPS) cols.push({ admin: true, op });
      for (const r of shownRoles) for (const op of OPS) cols.push({ role: r, op });
      h.push("</tbody>");
      // Rows are rendered by window (renderRows): the ones in view and a
      // margin, so a schema of any size costs what a screenful does.
      state.matrixRows = tables.map((t) => {
        const r = ["<tr data-table='" + esc(tableName(t)) + "'><td class='tname'>" + esc(tableName(t)) + "</td>" + admin];
        for (const role of shownRoles) for (const op of OPS) r.push(cellHTML(t, role, op));
        r.push("</tr>");
        return r.join("");
      });
    }
    state.matrixCols = cols;
    const t1 = performance.now();
    // Fixed column widths: the browser lays the table out from them
    // instead of measuring every cell.
    const colgroup = "<colgroup><col class='c-name'>" + "<col class='c-cell'>".repeat(cols.length) + "</colgroup>";
    $("matrix").innerHTML = colgroup + h.join("");
    $("matrix").style.width = 190 + 24 * cols.length + "px";
    if (state.matrixRows) {
      state.rowWindow = null;
      renderRows();
    }
    // Force the layout, so the time is what the reader waits for.
    void $("matrix").offsetHeight;
    const ms = performance.now() - t0;
    $("matrix-stats").textContent = tables.length + " tables × " + shownRoles.length + " roles in " + ms.toFixed(1) + " ms";
    $("matrix-stats").dataset.ms = ms.toFixed(1);
    $("matrix-stats").dataset.buildMs = (t1 - t0).toFixed(1);
    $("matrix-stats").dataset.tables = tables.length;
    $("matrix-stats").dataset.roles = shownRoles.length;
  }

  const ROW_HEIGHT = 22; // px, as style.css sets it
  // renderRows puts the rows around the scroll position in the matrix's
  // body, between two spacer rows that keep the scroll height.
  function renderRows() {
    const rows = state.matrixRows;
    const wrap = $("matrix-wrap");
    const first = Math.max(0, Math.floor(wrap.scrollTop / ROW_HEIGHT) - 10);
    const last = Math.min(rows.length, first + Math.ceil((wrap.clientHeight || 900) / ROW_HEIGHT) + 20);
    if (state.rowWindow && state.rowWindow[0] === first && state.rowWindow[1] === last) return;
    state.rowWindow = [first, last];
    const span = state.matrixCols.length + 1;
    const tbody = $("matrix").tBodies[0];
    tbody.innerHTML = "<tr class='gap'><td colspan='" + span + "'></td></tr>" + rows.slice(first, last).join("") + "<tr class='gap'><td colspan='" + span + "'></td></tr>";
    tbody.rows[0].cells[0].style.height = first * ROW_HEIGHT + "px";
    tbody.rows[tbody.rows.length - 1].cells[0].style.height = (rows.length - last) * ROW_HEIGHT + "px";
  }

  function cellHTML(t, r, op) {
    const p = permList(t, op).find((x) => x.role === r);
    let lv = level(t, p, op);
    let inherited = false;
    if (!p && inheritedSet(r)) {
      lv = inheritedLevel(t, r, op, new Set([r]));
      inherited = true;
    }
    const cls = "cell " + lv + (inherited ? " inherited" : "") + (state.pending && changedCell(tableName(t), r, op) ? " pending" : "");
    return "<td class='" + cls + "'>" + SYMBOL[lv] + "</td>";
  }

  // inheritedSet is the role set of an inherited role, or null.
  function inheritedSet(r) {
    const ir = (doc().inherited_roles || []).find((x) => x.role_name === r);
    return ir ? ir.role_set : null;
  }
  // inheritedLevel is what an inherited role without a permission of its
  // own gets from its members (the union: full when a member's is full,
  // partial when one's is partial), following nested inherited roles.
  function inheritedLevel(t, r, op, seen) {
    let best = "none";
    for (const m of inheritedSet(r) || []) {
      if (seen.has(m)) continue;
      seen.add(m);
      const p = permList(t, op).find((x) => x.role === m);
      const lv = p ? level(t, p, op) : inheritedLevel(t, m, op, seen);
      if (lv === "full") return "full";
      if (lv === "partial") best = "partial";
    }
    return best;
  }

  // cellAt names the table, role and operation of a matrix cell.
  function cellAt(td) {
    const tr = td.parentElement;
    const col = state.matrixCols[td.cellIndex - 1];
    if (!col || !tr.dataset.table) return null;
    return { table: tr.dataset.table, role: col.role || tr.dataset.role, op: col.op, admin: col.admin };
  }

  let filterTimer = null;
  for (const id of ["search", "role-filter"]) {
    $(id).addEventListener("input", () => {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(renderMatrix, 30);
    });
  }
  for (const id of ["sort", "view", "view-pick"]) $(id).addEventListener("change", renderMatrix);
  $("matrix-wrap").addEventListener("scroll", () => { if (state.matrixRows) renderRows(); });
  $("matrix").addEventListener("click", (ev) => {
    const td = ev.target.closest("td.cell");
    const c = td && cellAt(td);
    if (c && !c.admin) openEditor(c.table, c.role, c.op);
  });
  $("matrix").addEventListener("mouseover", (ev) => {
    const td = ev.target.closest("td.cell, td.admin");
    const c = td && cellAt(td);
    if (!c || td.title) return;
    td.title = c.admin ? "admin bypasses the policies (read-only)" : c.role + " · " + c.op + " on " + c.table + ": " + td.className.replace("cell ", "").replace("inherited", "from its members " + (inheritedSet(c.role) || []).join(", "));
  });

  // ---- rule editor -------------------------------------------------------
  function ruleKeys(op) {
    return { select: ["filter"], insert: ["check"], update: ["filter", "check"], delete: ["filter"] }[op];
  }

  function openEditor(table, role, op) {
    const p = findPerm(doc(), table, role, op);
    const perm = p ? clone(p.permission) : defaultPermission(op);
    state.editing = { table, role, op, perm, existed: !!p };
    $("ed-title").textContent = table + " · " + role + " · " + op + (p ? "" : " (no permission yet)");
    $("editor").classList.remove("hidden");
    $("ed-clone-box").classList.add("hidden");
    drawEditor();
    compileSoon();
  }

  function defaultPermission(op) {
    switch (op) {
      case "select": return { columns: [], filter: {} };
      case "insert": return { check: {}, columns: [] };
      case "update": return { columns: [], filter: {}, check: null };
      case "delete": return { filter: {} };
    }
  }

  function varsInUse() {
    const set = new Set(["X-Hasura-User-Id"]);
    const walk = (v) => {
      if (typeof v === "string" && /^x-hasura-/i.test(v)) set.add(v);
      else if (v && typeof v === "object") for (const k of Object.keys(v)) walk(v[k]);
    };
    walk(tablesOf(doc()));
    for (const v of state.desc.permission_variables || []) set.add(v);
    return Array.from(set).sort();
  }

  function drawEditor() {
    const ed = state.editing;
    const perm = ed.perm;
    const tv = state.tables[ed.table] || { columns: [], relationships: [] };
    const ctx = { table: ed.table, tables: state.tables, vars: varsInUse() };
    // Rules.
    const rules = $("ed-rules");
    rules.textContent = "";
    for (const key of ruleKeys(ed.op)) {
      const box = document.createElement("div");
      box.className = "rule";
      const title = document.createElement("h3");
      title.textContent = key === "filter" ? (ed.op === "update" ? "Pre-update check (filter)" : "Row filter") : (ed.op === "update" ? "Post-update check" : "Row check");
      box.appendChild(title);
      const modes = document.createElement("div");
      modes.className = "modes";
      const others = OPS.filter((o) => o !== ed.op && findPerm(doc(), ed.table, ed.role, o));
      const cur = perm[key];
      const isEmpty = cur === null || cur === undefined || Object.keys(cur).length === 0;
      let mode = isEmpty ? "none" : "custom";
      for (const o of others) {
        const theirs = findPerm(doc(), ed.table, ed.role, o).permission;
        const v = theirs.filter !== undefined && theirs.filter !== null && Object.keys(theirs.filter).length ? theirs.filter : theirs.check;
        if (!isEmpty && JSON.stringify(v) === JSON.stringify(cur)) mode = "same:" + o;
      }
      const radio = (value, label) => {
        const l = document.createElement("label");
        const i = document.createElement("input");
        i.type = "radio";
        i.name = "mode-" + key;
        i.value = value;
        i.checked = mode === value;
        i.addEventListener("change", () => {
          if (value === "none") perm[key] = key === "check" && ed.op === "update" ? null : {};
          else if (value.startsWith("same:")) {
            const theirs = findPerm(doc(), ed.table, ed.role, value.slice(5)).permission;
            perm[key] = clone(theirs.filter && Object.keys(theirs.filter).length ? theirs.filter : theirs.check || {});
          } else if (!perm[key] || !Object.keys(perm[key]).length) perm[key] = { [(tv.columns[0] || { name: "id" }).name]: { _eq: "X-Hasura-User-Id" } };
          changed(true);
        });
        l.appendChild(i);
        l.appendChild(document.createTextNode(" " + label));
        modes.appendChild(l);
      };
      radio("none", "without any checks");
      for (const o of others) radio("same:" + o, "same as " + o);
      radio("custom", "custom check");
      box.appendChild(modes);
      if (mode === "custom") {
        const tree = document.createElement("div");
        box.appendChild(tree);
        RGTree.render(tree, perm[key], ctx, () => changed(false));
      }
      rules.appendChild(box);
    }
    // Columns.
    const cols = $("ed-columns");
    cols.textContent = "";
    const all = perm.columns === "*";
    const hasCols = ed.op !== "delete";
    cols.previousElementSibling.classList.toggle("hidden", !hasCols);
    cols.classList.toggle("hidden", !hasCols);
    if (hasCols) {
      const allBox = checkbox("all columns (\"*\")", all, (on) => { perm.columns = on ? "*" : tv.columns.map((c) => c.name); changed(true); });
      cols.appendChild(allBox);
      for (const c of tv.columns) {
        const on = all || (Array.isArray(perm.columns) && perm.columns.includes(c.name));
        cols.appendChild(checkbox(c.name, on, (v) => {
          let list = perm.columns === "*" ? tv.columns.map((x) => x.name) : (perm.columns || []).slice();
          list = v ? tv.columns.map((x) => x.name).filter((n) => n === c.name || list.includes(n)) : list.filter((n) => n !== c.name);
          perm.columns = list;
          changed(true);
        }, all));
      }
    }
    // Presets.
    const hasSet = ed.op === "insert" || ed.op === "update";
    $("ed-presets-box").classList.toggle("hidden", !hasSet);
    const pt = $("ed-presets");
    pt.textContent = "";
    if (hasSet) {
      for (const col of Object.keys(perm.set || {})) {
        const tr = document.createElement("tr");
        const c1 = document.createElement("td");
        const sel = document.createElement("select");
        for (const c of tv.columns) sel.appendChild(new Option(c.name, c.name));
        sel.value = col;
        sel.addEventListener("change", () => { const v = perm.set[col]; delete perm.set[col]; perm.set[sel.value] = v; changed(true); });
        c1.appendChild(sel);
        const c2 = document.createElement("td");
        const inp = document.createElement("input");
        inp.setAttribute("list", "rg-vars");
        inp.value = typeof perm.set[col] === "string" ? perm.set[col] : JSON.stringify(perm.set[col]);
        inp.placeholder = "static value or X-Hasura-…";
        inp.addEventListener("change", () => { perm.set[col] = RGTree.parseValue(inp.value); changed(false); });
        c2.appendChild(inp);
        const c3 = document.createElement("td");
        const rm = document.createElement("button");
        rm.textContent = "×";
        rm.addEventListener("click", () => { delete perm.set[col]; if (!Object.keys(perm.set).length) delete perm.set; changed(true); });
        c3.appendChild(rm);
        tr.append(c1, c2, c3);
        pt.appendChild(tr);
      }
    }
    // Select options and backend_only.
    $("ed-select-box").classList.toggle("hidden", ed.op !== "select");
    $("ed-limit").value = perm.limit == null ? "" : perm.limit;
    $("ed-agg").checked = !!perm.allow_aggregations;
    $("ed-backend-box").classList.toggle("hidden", ed.op === "select");
    $("ed-backend").checked = !!perm.backend_only;
    // While the JSON is being typed in, it stays as typed.
    if (document.activeElement !== $("ed-json")) $("ed-json").value = JSON.stringify(perm, null, 2);
  }

  function checkbox(label, on, f, disabled) {
    const l = document.createElement("label");
    const i = document.createElement("input");
    i.type = "checkbox";
    i.checked = on;
    i.disabled = !!disabled;
    i.addEventListener("change", () => f(i.checked));
    l.appendChild(i);
    l.appendChild(document.createTextNode(" " + label));
    return l;
  }

  // changed: the form changed the permission; redraw when the structure
  // changed, and compile.
  function changed(structural) {
    if (structural) drawEditor();
    else $("ed-json").value = JSON.stringify(state.editing.perm, null, 2);
    compileSoon();
  }

  $("ed-add-preset").addEventListener("click", () => {
    const perm = state.editing.perm;
    const tv = state.tables[state.editing.table];
    perm.set = perm.set || {};
    const free = tv.columns.find((c) => !(c.name in perm.set));
    if (free) perm.set[free.name] = "X-Hasura-User-Id";
    changed(true);
  });
  $("ed-limit").addEventListener("change", () => {
    const v = $("ed-limit").value;
    if (v === "") delete state.editing.perm.limit; else state.editing.perm.limit = parseInt(v, 10);
    changed(false);
  });
  $("ed-agg").addEventListener("change", () => { state.editing.perm.allow_aggregations = $("ed-agg").checked; changed(false); });
  $("ed-backend").addEventListener("change", () => { state.editing.perm.backend_only = $("ed-backend").checked; changed(false); });
  // The JSON is the source of truth when it is typed in: the tree follows
  // when it parses.
  $("ed-json").addEventListener("input", () => {
    try {
      state.editing.perm = RGJSON.parse($("ed-json").value);
      clearTimeout(jsonTimer);
      jsonTimer = setTimeout(drawEditor, 600);
    } catch (e) { /* compile reports it at its line */ }
    compileSoon();
  });
  let jsonTimer = null;
  let compileTimer = null;
  let compileSeq = 0;
  function compileSoon() {
    clearTimeout(compileTimer);
    compileTimer = setTimeout(compileNow, 200);
  }

  // withCell returns the document with the edited cell replaced by v.
  function withCell(d, ed, v) {
    const out = clone(d);
    let t = tablesOf(out).find((x) => tableName(x) === ed.table);
    const list = (t[ed.op + "_permissions"] = t[ed.op + "_permissions"] || []);
    const i = list.findIndex((p) => p.role === ed.role);
    if (v === undefined) { if (i >= 0) list.splice(i, 1); if (!list.length) delete t[ed.op + "_permissions"]; return out; }
    if (i >= 0) list[i].permission = v; else list.push({ role: ed.role, permission: v });
    return out;
  }

  async function compileNow() {
    const ed = state.editing;
    if (!ed) return;
    const seq = ++compileSeq;
    const body = { metadata: withCell(doc(), ed, "\u0000rowguard-cell\u0000"), permission: $("ed-json").value, table: ed.table, role: ed.role };
    try {
      const res = await api("/console/api/compile", body);
      if (seq !== compileSeq) return;
      $("ed-errors").innerHTML = res.errors.map((e) => "<li>" + esc(e.where) + ": " + esc(e.message) + "</li>").join("");
      $("ed-sql").textContent = res.errors.length ? "" : res.sql;
      $("ed-stage").disabled = res.errors.length > 0;
    } catch (e) {
      $("ed-errors").innerHTML = "<li>" + esc(e.message) + "</li>";
    }
  }

  $("ed-close").addEventListener("click", () => { state.editing = null; $("editor").classList.add("hidden"); });
  $("ed-stage").addEventListener("click", async () => {
    const ed = state.editing;
    let perm;
    try { perm = RGJSON.parse($("ed-json").value); } catch (e) { return; }
    stage(withCell(doc(), ed, perm));
    $("editor").classList.add("hidden");
    state.editing = null;
  });
  $("ed-remove").addEventListener("click", () => {
    stage(withCell(doc(), state.editing, undefined));
    $("editor").classList.add("hidden");
    state.editing = null;
  });
  $("ed-clone").addEventListener("click", () => {
    const box = $("ed-clone-box");
    box.classList.toggle("hidden");
    $("ed-clone-tables").innerHTML = tablesOf(doc()).map((t) => "<option" + (tableName(t) === state.editing.table ? " selected" : "") + ">" + esc(tableName(t)) + "</option>").join("");
    $("ed-clone-roles").innerHTML = roles(doc()).map((r) => "<option" + (r === state.editing.role ? " selected" : "") + ">" + esc(r) + "</option>").join("");
  });
  $("ed-clone-do").addEventListener("click", async () => {
    let perm;
    try { perm = RGJSON.parse($("ed-json").value); } catch (e) { return; }
    const ts = Array.from($("ed-clone-tables").selectedOptions).map((o) => o.value);
    const rs = Array.from($("ed-clone-roles").selectedOptions).map((o) => o.value);
    let d = doc();
    for (const t of ts) for (const r of rs) d = withCell(d, { table: t, role: r, op: state.editing.op }, clone(perm));
    $("editor").classList.add("hidden");
    state.editing = null;
    await stage(d);
    openReview();
  });

  async function stage(d) {
    state.pending = d;
    await describe();
    renderAll();
    status("pending change: review and apply");
  }

  // ---- roles -------------------------------------------------------------
  function renameRole(d, from, to, keepSource) {
    const out = clone(d);
    for (const t of tablesOf(out)) for (const op of OPS) {
      const list = t[op + "_permissions"];
      if (!list) continue;
      const src = list.find((p) => p.role === from);
      if (!src) continue;
      const existing = list.findIndex((p) => p.role === to);
      const copy = { role: to, permission: clone(src.permission) };
      if (keepSource) {
        if (existing >= 0) list[existing] = copy; else list.push(copy);
      } else {
        if (existing >= 0) list.splice(existing, 1);
        src.role = to;
      }
    }
    if (!keepSource) for (const r of out.inherited_roles || []) {
      if (r.role_name === from) r.role_name = to;
      r.role_set = r.role_set.map((x) => (x === from ? to : x));
    }
    return out;
  }
  function deleteRole(d, role) {
    const out = clone(d);
    for (const t of tablesOf(out)) for (const op of OPS) {
      const list = t[op + "_permissions"];
      if (!list) continue;
      t[op + "_permissions"] = list.filter((p) => p.role !== role);
      if (!t[op + "_permissions"].length) delete t[op + "_permissions"];
    }
    if (out.inherited_roles) out.inherited_roles = out.inherited_roles.filter((r) => r.role_name !== role).map((r) => Object.assign(r, { role_set: r.role_set.filter((x) => x !== role) }));
    return out;
  }
  function askRole(msg) {
    const r = prompt(msg + "\nroles: " + roles(doc()).join(", "));
    return r && r.trim();
  }
  $("role-copy").addEventListener("click", async () => {
    const from = askRole("Copy the permissions of which role?");
    if (!from) return;
    const to = prompt("Copy " + from + "'s permissions to (an existing role's are replaced where " + from + " has one, a new name creates the role):");
    if (!to || !to.trim()) return;
    await stage(renameRole(doc(), from, to.trim(), true));
    openReview();
  });
  $("role-rename").addEventListener("click", async () => {
    const from = askRole("Rename which role?");
    if (!from) return;
    const to = prompt("New name for " + from + ":");
    if (!to || !to.trim()) return;
    await stage(renameRole(doc(), from, to.trim(), false));
    openReview();
  });
  $("role-delete").addEventListener("click", async () => {
    const role = askRole("Delete every permission of which role?");
    if (!role) return;
    await stage(deleteRole(doc(), role));
    openReview();
  });

  // ---- review and apply --------------------------------------------------
  function diffHTML(lines) {
    return lines.map((l) => {
      const cls = l.startsWith("@@") ? "hunk" : l.startsWith("+ ") ? "add" : l.startsWith("- ") ? "del" : "";
      return "<span class='" + cls + "'>" + esc(l) + "</span>";
    }).join("\n");
  }
  async function openReview() {
    if (!state.pending) return;
    $("review-panel").classList.remove("hidden");
    $("rv-metadata").textContent = "…";
    $("rv-ddl").textContent = "…";
    $("rv-errors").innerHTML = "";
    const res = await api("/console/api/diff", { old: state.current, new: state.pending });
    $("rv-metadata").innerHTML = diffHTML(res.metadata) || "no change";
    $("rv-ddl").innerHTML = diffHTML(res.ddl) || "no change";
    $("rv-errors").innerHTML = res.errors.map((e) => "<li>" + esc(e.where) + ": " + esc(e.message) + "</li>").join("");
    $("rv-apply").disabled = res.errors.length > 0 || !state.info.writable;
  }
  $("review").addEventListener("click", openReview);
  $("rv-close").addEventListener("click", () => $("review-panel").classList.add("hidden"));
  $("rv-discard").addEventListener("click", async () => {
    state.pending = null;
    $("review-panel").classList.add("hidden");
    await describe();
    renderAll();
    status("changes discarded");
  });
  $("rv-apply").addEventListener("click", async () => {
    $("rv-apply").disabled = true;
    try {
      if (state.info.metadata_api) {
        const r = await fetch("/v1/metadata", { method: "POST", headers: { "content-type": "application/json", "x-hasura-admin-secret": state.secret }, body: JSON.stringify({ type: "replace_metadata", args: state.pending }) });
        const body = await r.json();
        if (!r.ok) throw new Error(body.error || JSON.stringify(body));
      } else {
        await api("/console/api/apply", { metadata: state.pending });
      }
      $("review-panel").classList.add("hidden");
      await reload();
      status("applied");
    } catch (e) {
      $("rv-errors").innerHTML = "<li>not applied: " + esc(e.message) + "</li>";
      $("rv-apply").disabled = false;
    }
  });

  // ---- history -----------------------------------------------------------
  async function renderHistory() {
    let list;
    try { list = await api("/console/api/history"); } catch (e) { $("history").innerHTML = "<tr><td class='error'>" + esc(e.message) + "</td></tr>"; return; }
    $("history").innerHTML = "<tr><th>version</th><th>installed</th><th>hash</th><th></th></tr>" + list.map((h, i) =>
      "<tr><td>" + h.version + "</td><td>" + esc(new Date(h.installed_at).toLocaleString()) + "</td><td><code>" + esc(h.hash.slice(0, 12)) + "</code></td><td>" +
      (i === 0 ? "installed now" : "<button data-version='" + h.version + "'>Load as pending change</button>") + "</td></tr>").join("");
  }
  $("history").addEventListener("click", async (ev) => {
    const v = ev.target.dataset && ev.target.dataset.version;
    if (!v) return;
    await stage(await api("/console/api/history/" + v));
    openReview();
  });

  // ---- try as role -------------------------------------------------------
  function renderTryRoles() {
    const sel = $("try-role");
    const keep = sel.value;
    // The server serves what is installed, not the pending change.
    sel.innerHTML = ["admin"].concat(roles(state.current)).map((r) => "<option>" + esc(r) + "</option>").join("");
    if (keep) sel.value = keep;
    renderVars();
  }
  const varValues = {};
  function roleVars(role) {
    const set = new Set();
    const walk = (v) => {
      if (typeof v === "string" && /^x-hasura-/i.test(v)) set.add(v.toLowerCase());
      else if (v && typeof v === "object") for (const k of Object.keys(v)) walk(v[k]);
    };
    const installed = state.current;
    const members = ((installed.inherited_roles || []).find((r) => r.role_name === role) || { role_set: [] }).role_set;
    for (const t of tablesOf(installed)) for (const op of OPS) for (const p of permList(t, op)) if (p.role === role || members.includes(p.role)) walk(p.permission);
    for (const v of state.desc.permission_variables || []) set.add(v.toLowerCase());
    for (const k of Object.keys(varValues)) set.add(k);
    return Array.from(set).sort();
  }
  function renderVars() {
    const role = $("try-role").value;
    const t = $("try-vars");
    t.innerHTML = "";
    if (role === "admin") { t.innerHTML = "<tr><td class='muted'>admin reads no session variable</td></tr>"; return; }
    for (const v of roleVars(role)) {
      const tr = document.createElement("tr");
      const c1 = document.createElement("td");
      c1.textContent = v;
      const c2 = document.createElement("td");
      const i = document.createElement("input");
      i.dataset.var = v;
      i.value = varValues[v] || "";
      i.addEventListener("input", () => { varValues[v] = i.value; });
      c2.appendChild(i);
      tr.append(c1, c2);
      t.appendChild(tr);
    }
  }
  $("try-role").addEventListener("change", renderVars);
  $("try-add-var").addEventListener("click", () => {
    const n = prompt("Session variable name (x-hasura-…):");
    if (!n) return;
    varValues[n.trim().toLowerCase()] = "";
    renderVars();
  });
  $("try-fill-claims").addEventListener("click", async () => {
    const id = varValues["x-hasura-user-id"];
    if (!id) { status("set x-hasura-user-id first"); return; }
    try {
      const vals = await api("/console/api/claims", { user_id: id });
      Object.assign(varValues, vals);
      renderVars();
      status(Object.keys(vals).length + " permission variables of user " + id);
    } catch (e) { status(e.message); }
  });
  function sessionHeaders() {
    const role = $("try-role").value;
    const h = {};
    if (role !== "admin") {
      h["x-hasura-role"] = role;
      for (const v of roleVars(role)) if (varValues[v]) h[v] = varValues[v];
    }
    return h;
  }
  // The query and variables of the GraphiQL editor, which "Run as SQL"
  // and Explain use too.
  const tryState = { query: "# The picked role's schema: completion (Ctrl-Space) and Docs offer its fields.\nquery {\n  \n}\n", variables: "" };
  function gqlRequest() {
    let variables = {};
    try { variables = RGJSON.parse(tryState.variables.trim() || "{}"); } catch (e) { throw new Error("variables: " + e.message); }
    return { query: tryState.query, variables };
  }
  async function graphql(body, headers) {
    const r = await fetch("/v1/graphql", { method: "POST", headers: Object.assign({ "content-type": "application/json", "x-hasura-admin-secret": state.secret }, headers), body: JSON.stringify(body) });
    return r.json();
  }
  // roleFetcher is GraphiQL's fetcher for the picked role: every request,
  // introspection included, carries the role and its session variables,
  // so GraphiQL's schema is the role's. A new one is made when the role
  // changes, which makes GraphiQL fetch the schema again.
  function roleFetcher() {
    return (params) => graphql({ query: params.query, variables: exactVariables(params.variables || {}), operationName: params.operationName || undefined }, sessionHeaders());
  }
  // exactVariables: GraphiQL parses its variables editor with JSON.parse;
  // when what it parsed is the editor's text, the text is parsed again
  // keeping every number as written (an id beyond 2^53).
  function exactVariables(parsed) {
    const text = tryState.variables.trim();
    if (!text || !RGJSON.exact) return parsed;
    try {
      if (JSON.stringify(JSON.parse(text)) === JSON.stringify(parsed)) return RGJSON.parse(text);
    } catch (e) { /* GraphiQL reports it */ }
    return parsed;
  }
  let graphiql = null;
  function mountGraphiQL() {
    if (graphiql) return;
    if (!window.RowguardGraphiQL) { $("graphiql").textContent = "graphiql.js did not load"; return; }
    graphiql = window.RowguardGraphiQL.mount($("graphiql"), {
      fetcher: roleFetcher(),
      query: tryState.query,
      variables: tryState.variables,
      onEditQuery: (q) => { tryState.query = q; },
      onEditVariables: (v) => { tryState.variables = v; },
    });
  }
  $("try-role").addEventListener("change", () => { if (graphiql) graphiql.setFetcher(roleFetcher()); });
  function explainBody() {
    const role = $("try-role").value;
    const user = { "x-hasura-role": role };
    if (role !== "admin") for (const v of roleVars(role)) if (varValues[v]) user[v] = varValues[v];
    return { query: gqlRequest(), user };
  }
  $("try-sql").addEventListener("click", async () => {
    const role = $("try-role").value;
    $("try-sql-rows").innerHTML = "";
    try {
      const entries = await api("/v1/graphql/explain", explainBody());
      const list = Array.isArray(entries) ? entries : [entries];
      if (role === "admin") {
        $("try-sql-text").textContent = list.map((e) => e.sql).join(";\n\n") + "\n\n-- admin runs as hasura_admin (BYPASSRLS): pick a role to run it under the policies";
        return;
      }
      let transcript = "", html = "";
      for (const e of list) {
        const vars = {};
        for (const [k, v] of Object.entries(explainBody().user)) if (k !== "x-hasura-role") vars[k] = v;
        const res = await api("/console/api/run", { sql: e.sql, params: e.params || [], role, vars });
        transcript += (e.field ? "-- " + e.field + "\n" : "") + res.transcript + "\n";
        html += "<table class='grid'><tr>" + res.columns.map((c) => "<th>" + esc(c) + "</th>").join("") + "</tr>" +
          res.rows.map((r) => "<tr>" + r.map((c) => "<td>" + esc(c) + "</td>").join("") + "</tr>").join("") + "</table>" +
          (res.error ? "<p class='error'>" + esc(res.error) + "</p>" : "") + (res.truncated ? "<p class='muted'>first 200 rows</p>" : "");
      }
      $("try-sql-text").textContent = transcript;
      $("try-sql-rows").innerHTML = "<div class='rowsout'>" + html + "</div>";
    } catch (e) {
      $("try-sql-text").textContent = e.data ? JSON.stringify(e.data) : e.message;
    }
  });

  // ---- explain -----------------------------------------------------------
  $("explain-run").addEventListener("click", async () => {
    const out = $("explain-out");
    out.textContent = "…";
    try {
      const entries = await api("/v1/graphql/explain" + ($("explain-analyze").checked ? "?analyze=true" : ""), explainBody());
      const list = Array.isArray(entries) ? entries : [entries];
      out.innerHTML = list.map((e) =>
        "<h3>" + esc(e.field || "subscription") + "</h3>" +
        "<h3>policies that applied</h3>" + ((e.policies || []).length ? "<table class='grid policies'><tr><th>table</th><th>policy</th><th>command</th><th>using</th></tr>" +
          e.policies.map((p) => "<tr><td>" + esc(p.table) + "</td><td>" + esc(p.name) + "</td><td>" + esc(p.command) + "</td><td>" + esc(p.using || "") + "</td></tr>").join("") + "</table>" : "<p class='muted'>none (admin bypasses the policies)</p>") +
        "<h3>plan</h3><pre class='out plan'>" + esc(Array.isArray(e.plan) ? e.plan.join("\n") : e.plan) + "</pre>" +
        "<h3>sql</h3><pre class='out sql'>" + esc(e.sql) + "</pre>").join("");
    } catch (e) {
      out.innerHTML = "<p class='error'>" + esc(e.data ? JSON.stringify(e.data) : e.message) + "</p>";
    }
  });

  // ---- tabs --------------------------------------------------------------
  $("tabs").addEventListener("click", (ev) => {
    const tab = ev.target.dataset.tab;
    if (!tab) return;
    for (const b of $("tabs").querySelectorAll("button")) b.classList.toggle("active", b.dataset.tab === tab);
    for (const s of document.querySelectorAll(".tab")) s.classList.toggle("hidden", s.id !== "tab-" + tab);
    if (tab === "history") renderHistory();
    if (tab === "try") mountGraphiQL();
    document.dispatchEvent(new CustomEvent("rowguard:tab", { detail: tab }));
  });

  window.rowguardConsole = { state, renderMatrix, tryState, api, esc, status, reload, doc, roles, clone, stage, openReview };
  start();
})();
