// claims.js: the permission variables page. It edits the custom-claims
// configuration (rowguard_claims.json beside the metadata directory)
// through /console/api/claims/*: every change is checked against the
// catalog and the metadata (the loader's errors, at the claim they name),
// a user's claims can be previewed before applying, and applying writes
// the file and installs rowguard.rg_claims, all-or-nothing.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const rc = window.rowguardConsole;
  const page = { loaded: false, state: null, rows: [], checkTimer: null, seq: 0, valid: false };

  // body renders the request by hand: a default is sent as the JSON text
  // typed, so an integer beyond 2^53 keeps every digit.
  function body() {
    const claims = {};
    const defaults = [];
    for (const r of page.rows) {
      const key = r.key.value.trim();
      if (!key) continue;
      claims[key] = r.path.value.trim();
      const d = r.def.value.trim();
      if (d) defaults.push(JSON.stringify(key) + ":" + d);
    }
    const cfg = ['"claims":' + JSON.stringify(claims)];
    if (defaults.length) cfg.push('"defaults":{' + defaults.join(",") + "}");
    const ut = $("claims-user-table").value.trim();
    const uk = $("claims-user-key").value.trim();
    if (ut) cfg.push('"user_table":' + JSON.stringify(ut));
    if (uk) cfg.push('"user_key":' + JSON.stringify(uk));
    const uid = $("claims-user-id").value.trim();
    return '{"config":{' + cfg.join(",") + "}" + (uid ? ',"user_id":' + JSON.stringify(uid) : "") + "}";
  }

  // badDefaults lists the defaults that are not JSON: they are reported
  // here, since the request could not carry them.
  function badDefaults() {
    const out = [];
    for (const r of page.rows) {
      const d = r.def.value.trim();
      if (!d) continue;
      try { JSON.parse(d); } catch (e) { out.push({ key: r.key.value.trim(), message: "default of " + JSON.stringify(r.key.value.trim()) + " is not JSON: quote a string (\"fiction\"), or write a number, true/false, an array or an object" }); }
    }
    return out;
  }

  async function post(path, text) {
    const r = await fetch(path, { method: "POST", headers: { "content-type": "application/json", "x-hasura-admin-secret": rc.state.secret }, body: text });
    const data = await r.json().catch(() => ({ error: r.statusText }));
    if (!r.ok) throw new Error(data.error || r.statusText);
    return data;
  }

  function addRow(key, path, def) {
    const tr = document.createElement("tr");
    const cell = (el) => { const td = document.createElement("td"); if (el) td.appendChild(el); tr.appendChild(td); return td; };
    const input = (v, ph, size) => { const i = document.createElement("input"); i.value = v || ""; i.placeholder = ph; i.size = size; i.addEventListener("input", checkSoon); return i; };
    const row = { tr, key: input(key, "key", 18), path: input(path, "path, e.g. memberships[].org_id", 34), def: input(def, "none", 14) };
    cell(row.key); cell(row.path); cell(row.def);
    row.varCell = cell(); row.readsCell = cell();
    const rm = document.createElement("button");
    rm.textContent = "Remove";
    rm.addEventListener("click", () => { page.rows = page.rows.filter((x) => x !== row); tr.remove(); checkSoon(); });
    cell(rm);
    row.key.dataset.claim = "key"; row.path.dataset.claim = "path"; row.def.dataset.claim = "default";
    page.rows.push(row);
    $("claims-table").tBodies[0].appendChild(tr);
    return row;
  }

  async function load() {
    const st = await rc.api("/console/api/claims/config");
    page.state = st;
    page.rows = [];
    $("claims-table").tBodies[0].innerHTML = "";
    const cfg = st.config || { claims: {} };
    for (const k of Object.keys(cfg.claims || {}).sort()) {
      const d = (st.defaults_text || {})[k] || "";
      addRow(k, cfg.claims[k], d);
    }
    $("claims-user-table").value = cfg.user_table || "";
    $("claims-user-key").value = cfg.user_key || "";
    const src = st.source ? "Read from " + st.source + "." : "No custom claims are configured yet.";
    $("claims-source").textContent = src + (st.read_only ? " Read-only: " + st.read_only : " Applying writes " + st.file + " and installs rowguard.rg_claims.") +
      (st.installed_vars && st.installed_vars.length ? " Installed: " + st.installed_vars.join(", ") + "." : "");
    $("claims-file-title").textContent = st.file || "File";
    for (const el of document.querySelectorAll("#tab-claims input:not(#claims-user-id), #claims-add")) el.disabled = !!st.read_only;
    page.loaded = true;
    check();
  }

  function checkSoon() {
    page.valid = false;
    $("claims-apply").disabled = true;
    clearTimeout(page.checkTimer);
    page.checkTimer = setTimeout(check, 250);
  }

  function showErrors(list) {
    for (const r of page.rows) r.tr.classList.remove("bad");
    $("claims-errors").innerHTML = list.map((e) => "<li>" + rc.esc(e.message) + "</li>").join("");
    for (const e of list) {
      const r = page.rows.find((x) => e.key && x.key.value.trim() === e.key);
      if (r) r.tr.classList.add("bad");
    }
  }

  async function check() {
    const seq = ++page.seq;
    const bad = badDefaults();
    if (bad.length) { showErrors(bad); return; }
    let res;
    try {
      res = await post("/console/api/claims/check", body());
    } catch (e) {
      if (seq === page.seq) showErrors([{ message: e.message }]);
      return;
    }
    if (seq !== page.seq) return; // a newer edit is being checked
    showErrors(res.errors);
    $("claims-text").textContent = res.text;
    const byKey = new Map(res.claims.map((c) => [c.key, c]));
    for (const r of page.rows) {
      const c = byKey.get(r.key.value.trim());
      r.varCell.textContent = c ? c.var + (c.array ? " (array)" : "") : "";
      r.readsCell.textContent = c ? c.reads.join(", ") : "";
    }
    const vals = res.values || {};
    const names = Object.keys(vals).sort();
    $("claims-values").innerHTML = res.values ? "<tr><th>session variable</th><th>value</th></tr>" + (names.length ? names.map((k) => "<tr><td>" + rc.esc(k) + "</td><td><code>" + rc.esc(vals[k]) + "</code></td></tr>").join("") : "<tr><td colspan='2' class='muted'>no claim has a value for this user</td></tr>") : "";
    $("claims-values-error").textContent = res.values_error || "";
    page.valid = res.errors.length === 0;
    $("claims-apply").disabled = !page.valid || !!page.state.read_only;
    $("claims-preview").dataset.checked = $("claims-user-id").value.trim();
  }

  $("claims-add").addEventListener("click", () => { addRow("", "", "").key.focus(); checkSoon(); });
  for (const id of ["claims-user-table", "claims-user-key", "claims-user-id"]) $(id).addEventListener("input", checkSoon);
  $("claims-preview").addEventListener("click", check);
  $("claims-user-id").addEventListener("keydown", (ev) => { if (ev.key === "Enter") check(); });
  $("claims-revert").addEventListener("click", () => { load().catch((e) => showErrors([{ message: e.message }])); });
  $("claims-apply").addEventListener("click", async () => {
    $("claims-apply").disabled = true;
    $("claims-status").textContent = "applying…";
    try {
      const res = await post("/console/api/claims/apply", body());
      $("claims-status").textContent = "applied: " + res.file + " written and installed";
      await load();
      await rc.reload();
      rc.status("claims applied");
    } catch (e) {
      $("claims-status").textContent = "";
      showErrors([{ message: "not applied: " + e.message }]);
      $("claims-apply").disabled = false;
    }
  });
  document.addEventListener("rowguard:tab", (ev) => {
    if (ev.detail === "claims" && !page.loaded) load().catch((e) => showErrors([{ message: e.message }]));
  });
})();
