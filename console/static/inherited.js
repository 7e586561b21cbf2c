// inherited.js: the inherited roles page. It lists the inherited roles of
// the metadata (the pending change when there is one), and creates,
// edits (name and role set) and deletes them; each change becomes the
// pending change and opens the review, which shows the metadata and DDL
// diff and applies all-or-nothing.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const rc = window.rowguardConsole;
  let editing = null; // the name being edited, "" for a new role, null when closed

  const inheritedOf = (d) => d.inherited_roles || [];

  // withInherited returns d with the inherited role `from` (if any)
  // replaced by name = members, or removed when name is empty.
  function withInherited(d, from, name, members) {
    const out = rc.clone(d);
    const list = inheritedOf(out).filter((r) => r.role_name !== from && r.role_name !== name);
    // A renamed or deleted role is renamed or dropped in the other role sets.
    if (from && from !== name) for (const r of list) r.role_set = r.role_set.map((x) => (x === from ? name : x)).filter(Boolean);
    if (name) list.push({ role_name: name, role_set: members });
    list.sort((a, b) => (a.role_name < b.role_name ? -1 : a.role_name > b.role_name ? 1 : 0));
    if (list.length) out.inherited_roles = list; else delete out.inherited_roles;
    return out;
  }

  function render() {
    const d = rc.doc();
    const list = inheritedOf(d);
    const cur = new Map(inheritedOf(rc.state.current).map((r) => [r.role_name, r.role_set.join(",")]));
    const rows = list.map((r) => {
      const changed = rc.state.pending && cur.get(r.role_name) !== r.role_set.join(",");
      return "<tr data-role='" + rc.esc(r.role_name) + "'" + (changed ? " class='pending'" : "") + "><td>" + rc.esc(r.role_name) + "</td><td>" + r.role_set.map(rc.esc).join(", ") +
        "</td><td><button data-act='edit'>Edit</button> <button data-act='delete'>Delete…</button></td></tr>";
    });
    $("inherited").innerHTML = "<tr><th>inherited role</th><th>members</th><th></th></tr>" +
      (rows.length ? rows.join("") : "<tr><td colspan='3' class='muted'>no inherited roles</td></tr>");
    $("inh-new").disabled = !rc.state.info.writable;
  }

  function openForm(name) {
    editing = name;
    const d = rc.doc();
    const r = inheritedOf(d).find((x) => x.role_name === name);
    $("inh-title").textContent = name ? "Edit " + name : "New inherited role";
    $("inh-name").value = name || "";
    $("inh-error").textContent = "";
    const members = new Set(r ? r.role_set : []);
    $("inh-members").innerHTML = rc.roles(d).filter((x) => x !== name).map((x) =>
      "<label><input type='checkbox' value='" + rc.esc(x) + "'" + (members.has(x) ? " checked" : "") + "> " + rc.esc(x) + "</label>").join("");
    $("inh-form").classList.remove("hidden");
    $("inh-name").focus();
  }
  function closeForm() {
    editing = null;
    $("inh-form").classList.add("hidden");
  }

  $("inh-new").addEventListener("click", () => openForm(""));
  $("inh-cancel").addEventListener("click", closeForm);
  $("inherited").addEventListener("click", async (ev) => {
    const act = ev.target.dataset && ev.target.dataset.act;
    const tr = ev.target.closest("tr");
    if (!act || !tr) return;
    const name = tr.dataset.role;
    if (act === "edit") { openForm(name); return; }
    // Delete: the review shows what the role loses before anything is
    // applied.
    closeForm();
    await rc.stage(withInherited(rc.doc(), name, "", []));
    rc.openReview();
  });
  $("inh-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = $("inh-name").value.trim();
    const members = Array.from($("inh-members").querySelectorAll("input:checked")).map((i) => i.value);
    const d = rc.doc();
    const err = !name ? "give the inherited role a name"
      : !/^[A-Za-z0-9_-]+$/.test(name) ? "a role name is letters, digits, - and _"
      : name !== editing && rc.roles(d).includes(name) ? name + " is already a role: pick another name, or edit it in the list"
      : members.length < 1 ? "pick the member roles (delete the inherited role to remove it)"
      : "";
    if (err) { $("inh-error").textContent = err; return; }
    closeForm();
    await rc.stage(withInherited(d, editing, name, members));
    rc.openReview();
  });
  document.addEventListener("rowguard:render", () => { if (rc.state.current) render(); });
  document.addEventListener("rowguard:tab", (ev) => { if (ev.detail === "inherited") render(); });
})();
