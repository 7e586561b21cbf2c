// browser.cjs drives the console in Debian's chromium with playwright-core:
// node browser.cjs NODE_MODULES_DIR BASE_URL ADMIN_SECRET SCREENSHOT_DIR
// It prints one JSON line of measurements and exits non-zero on the first
// step that fails (including chromium failing to start).
"use strict";
const path = require("path");
const [modDir, base, secret, shots] = process.argv.slice(2);
const { chromium } = require(path.join(modDir, "node_modules", "playwright-core"));

function check(cond, msg) {
  if (!cond) throw new Error("check failed: " + msg);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const out = {};
  try {
    const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    // A bundled asset the page's Content-Security-Policy blocks (an inline
    // style sheet, eval, a font) shows only on the console.
    page.on("console", (m) => { if (m.type() === "error" && /Content Security Policy/i.test(m.text())) pageErrors.push(m.text()); });
    page.on("dialog", async (d) => {
      const answers = page.__answers || [];
      await d.accept(answers.shift() || "");
    });
    page.setDefaultTimeout(20000);

    // Without the secret, the page asks for it; a wrong one is refused.
    await page.goto(base + "/console/");
    await page.waitForSelector("#login:not(.hidden)");
    await page.fill("#secret", "wrong");
    await page.click("#login-form button");
    await page.waitForFunction(() => document.getElementById("login-error").textContent.includes("admin secret"));
    await page.fill("#secret", secret);
    await page.click("#login-form button");
    await page.waitForSelector("#app:not(.hidden)");
    await page.waitForFunction(() => document.getElementById("matrix-stats").dataset.ms);

    // The matrix at scale: its first render, then a filter.
    out.tables = Number(await page.getAttribute("#matrix-stats", "data-tables"));
    out.roles = Number(await page.getAttribute("#matrix-stats", "data-roles"));
    // Each time includes the layout (renderMatrix forces it).
    out.first_render_ms = Number(await page.getAttribute("#matrix-stats", "data-ms"));
    out.build_ms = Number(await page.getAttribute("#matrix-stats", "data-build-ms"));
    // The best of five of each: on a shared machine, one run measures the
    // scheduler as much as the page.
    out.render_ms = await page.evaluate(() => {
      let best = Infinity;
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        window.rowguardConsole.renderMatrix();
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    });
    out.filter_ms = await page.evaluate(() => {
      let best = Infinity;
      for (let i = 0; i < 5; i++) {
        document.getElementById("search").value = i % 2 ? "t01" : "t02";
        const t0 = performance.now();
        window.rowguardConsole.renderMatrix();
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    });
    out.load_seconds = await page.evaluate(() => performance.now() / 1000);
    out.filtered_tables = Number(await page.getAttribute("#matrix-stats", "data-tables"));
    check(out.filtered_tables > 0 && out.filtered_tables < out.tables, "the filter keeps some tables: " + out.filtered_tables);
    await page.fill("#search", "");
    await page.fill("#search", "book");
    await page.waitForFunction(() => document.getElementById("matrix-stats").dataset.tables === "1");
    await page.fill("#search", "");
    await page.waitForFunction(() => Number(document.getElementById("matrix-stats").dataset.tables) > 1);
    await page.screenshot({ path: path.join(shots, "matrix.png") });
    // Per-role view.
    await page.selectOption("#view", "role");
    await page.waitForSelector("#view-pick:not(.hidden)");
    await page.selectOption("#view-pick", "reader");
    await page.waitForFunction(() => document.getElementById("matrix-stats").dataset.roles === "1");
    await page.selectOption("#view", "matrix");

    // Edit reader's select on book: a custom rule typed as JSON.
    await page.fill("#search", "book");
    await page.waitForFunction(() => document.getElementById("matrix-stats").dataset.tables === "1");
    await page.evaluate(() => {
      // The cell of reader's select on book: the row names the table, the
      // column index the role and operation.
      const cols = window.rowguardConsole.state.matrixCols;
      const i = cols.findIndex((c) => c.role === "reader" && c.op === "select");
      document.querySelector("#matrix tr[data-table='public.book']").cells[i + 1].click();
    });
    await page.waitForSelector("#editor:not(.hidden)");
    // A typo first: the error is reported at its line in the editor.
    await page.fill("#ed-json", JSON.stringify({ columns: ["id", "title", "genre", "status"], filter: { _and: [{ genre: { _eq: "fiction" } }, { statuss: { _eq: "published" } }] } }, null, 2));
    await page.waitForFunction(() => document.getElementById("ed-errors").textContent.includes("statuss"));
    out.error_shown = await page.textContent("#ed-errors");
    check(/permission \d+:\d+/.test(out.error_shown), "the error names its line in the permission: " + out.error_shown);
    await page.fill("#ed-json", JSON.stringify({ columns: ["id", "title", "genre", "status"], filter: { _and: [{ genre: { _eq: "fiction" } }, { status: { _eq: "published" } }] } }, null, 2));
    await page.waitForFunction(() => document.getElementById("ed-sql").textContent.includes("genre"));
    const sql = await page.textContent("#ed-sql");
    check(sql.includes("CREATE POLICY") && sql.includes("'fiction'") && sql.includes("'published'") && sql.includes("GRANT SELECT"), "policy SQL with both conditions and the GRANT: " + sql);
    // The tree follows the JSON: an _and with two column conditions.
    await page.waitForFunction(() => document.querySelectorAll("#ed-rules .tree select").length >= 3);
    await page.screenshot({ path: path.join(shots, "editor.png") });
    await page.click("#ed-stage");
    await page.waitForSelector("#editor.hidden", { state: "attached" });
    await page.click("#review");
    await page.waitForFunction(() => document.getElementById("rv-ddl").textContent.includes("fiction"));
    const ddl = await page.textContent("#rv-ddl");
    const mdDiff = await page.textContent("#rv-metadata");
    check(mdDiff.includes("@@ public.book") && mdDiff.includes("+ "), "metadata diff of book");
    check(ddl.includes("+ ") && ddl.includes("rg_book_select"), "DDL diff of the policy: " + ddl.slice(0, 400));
    await page.screenshot({ path: path.join(shots, "review.png") });
    await page.click("#rv-apply");
    await page.waitForFunction(() => document.getElementById("status").textContent === "applied", null, { timeout: 60000 });

    // Try as role in GraphiQL: the query is typed into its editor and run
    // with its own button; the role's schema is what it completes and
    // lints against.
    await page.click("nav button[data-tab='try']");
    await page.selectOption("#try-role", "reader");
    await page.waitForSelector("#graphiql .graphiql-query-editor .CodeMirror");
    // The schema GraphiQL fetched is reader's: a table reader has no
    // permission on is an unknown field (a lint mark in the editor).
    const typeQuery = async (q) => {
      await page.click("#graphiql .graphiql-query-editor .CodeMirror");
      await page.keyboard.press("Control+A");
      await page.keyboard.press("Delete");
      await page.keyboard.type(q);
      await page.keyboard.press("Escape");
      await page.waitForFunction((q) => window.rowguardConsole.tryState.query === q, q);
    };
    await typeQuery("query { wide_t002 { id } }");
    await page.waitForSelector("#graphiql .graphiql-query-editor .CodeMirror-lint-mark-error");
    // Another role, another schema: admin reads every table.
    await page.selectOption("#try-role", "admin");
    await page.waitForFunction(() => !document.querySelector("#graphiql .graphiql-query-editor .CodeMirror-lint-mark-error"));
    await page.selectOption("#try-role", "reader");
    await page.waitForSelector("#graphiql .graphiql-query-editor .CodeMirror-lint-mark-error");
    const query = "query { book(order_by: {id: asc}) { title genre status } }";
    await typeQuery(query);
    await page.waitForFunction(() => !document.querySelector("#graphiql .graphiql-query-editor .CodeMirror-lint-mark-error"));
    await page.click("#graphiql .graphiql-execute-button");
    await page.waitForFunction(() => {
      const cm = document.querySelector("#graphiql .graphiql-response .CodeMirror");
      return cm && cm.CodeMirror.getValue().includes("data");
    });
    const result = JSON.parse(await page.evaluate(() => document.querySelector("#graphiql .graphiql-response .CodeMirror").CodeMirror.getValue()));
    out.reader_rows = result.data.book.length;
    check(result.data.book.length > 0 && result.data.book.every((b) => b.genre === "fiction" && b.status === "published"), "reader sees only published fiction: " + JSON.stringify(result));
    await page.click("#try-sql");
    await page.waitForFunction(() => document.getElementById("try-sql-text").textContent.includes("SET LOCAL ROLE"));
    const transcript = await page.textContent("#try-sql-text");
    check(transcript.includes("BEGIN READ ONLY"), "transcript");
    const sqlRows = await page.textContent("#try-sql-rows");
    check(sqlRows.includes("fiction") && !sqlRows.includes("draft"), "SQL as the role sees what the API sees: " + sqlRows.slice(0, 300));
    await page.screenshot({ path: path.join(shots, "try.png") });
    // GraphiQL's variables keep an integer beyond 2^53 exactly as typed.
    await typeQuery("query ($id: Int) { book(where: {id: {_eq: $id}}) { title } }");
    const setVariables = (text) => page.evaluate((text) => document.querySelector("#graphiql .graphiql-editor-tool .CodeMirror").CodeMirror.setValue(text), text);
    await setVariables('{"id": 9007199254740993}');
    await page.waitForFunction(() => window.rowguardConsole.tryState.variables.includes("9007199254740993"));
    const exactSent = page.waitForRequest((r) => r.url().endsWith("/v1/graphql") && (r.postData() || "").includes('"variables":{"id":9007199254740993}'), { timeout: 20000 });
    await page.click("#graphiql .graphiql-execute-button");
    await exactSent;
    await setVariables("");
    await typeQuery(query);

    // Explain as the role: the policy's filter is in the plan.
    await page.click("nav button[data-tab='explain']");
    await page.click("#explain-run");
    await page.waitForSelector("#explain-out pre.plan");
    const plan = await page.textContent("#explain-out");
    check(plan.includes("rg_book_select_reader") && plan.includes("fiction"), "explain shows the policy and its filter: " + plan.slice(0, 500));
    await page.check("#explain-analyze");
    await page.click("#explain-run");
    await page.waitForFunction(() => document.getElementById("explain-out").textContent.includes("actual time"));
    await page.uncheck("#explain-analyze");
    await page.click("#explain-run");
    await page.waitForSelector("#explain-out pre.plan");
    await page.screenshot({ path: path.join(shots, "explain.png") });

    // Role copy shows its diff before anything is applied.
    await page.click("nav button[data-tab='permissions']");
    page.__answers = ["reader", "critic"];
    await page.click("#role-copy");
    await page.waitForFunction(() => document.getElementById("rv-metadata").textContent.includes("critic"));
    const copyDDL = await page.textContent("#rv-ddl");
    check(copyDDL.includes("critic"), "role copy DDL diff names the new role");
    await page.screenshot({ path: path.join(shots, "role-copy.png") });
    await page.click("#rv-discard");
    // Inherited roles: create one (diff, then apply), then an edit and a
    // delete are previewed and discarded.
    await page.click("nav button[data-tab='inherited']");
    await page.click("#inh-new");
    await page.fill("#inh-name", "reader");
    await page.check("#inh-members input[value='r1']");
    await page.click("#inh-save");
    await page.waitForFunction(() => document.getElementById("inh-error").textContent.includes("already a role"));
    await page.fill("#inh-name", "editors");
    await page.check("#inh-members input[value='reader']");
    await page.click("#inh-save");
    await page.waitForFunction(() => document.getElementById("rv-metadata").textContent.includes("@@ inherited_roles"));
    const inhDiff = await page.textContent("#rv-metadata");
    check(inhDiff.includes("editors") && inhDiff.includes("reader") && inhDiff.includes("r1"), "inherited role in the metadata diff: " + inhDiff);
    await page.screenshot({ path: path.join(shots, "inherited.png") });
    await page.click("#rv-apply");
    await page.waitForFunction(() => document.getElementById("status").textContent === "applied", null, { timeout: 60000 });
    await page.click("nav button[data-tab='inherited']");
    await page.waitForSelector("#inherited tr[data-role='editors']");
    check((await page.textContent("#inherited tr[data-role='editors']")).includes("r1, reader"), "the list shows the members");
    // The matrix shows what editors gets from its members.
    await page.click("nav button[data-tab='permissions']");
    await page.fill("#search", "book");
    await page.waitForSelector("#matrix tr[data-table='public.book']");
    const editorsCell = await page.evaluate(() => {
      const cols = window.rowguardConsole.state.matrixCols;
      const i = cols.findIndex((c) => c.role === "editors" && c.op === "select");
      return document.querySelector("#matrix tr[data-table='public.book']").cells[i + 1].className;
    });
    check(editorsCell.includes("partial") && editorsCell.includes("inherited"), "editors' select on book comes from reader: " + editorsCell);
    await page.fill("#search", "");
    await page.click("nav button[data-tab='inherited']");
    await page.click("#inherited tr[data-role='editors'] button[data-act='edit']");
    check(await page.isChecked("#inh-members input[value='reader']"), "the form starts from the role set");
    await page.uncheck("#inh-members input[value='r1']");
    await page.click("#inh-save");
    await page.waitForFunction(() => /- .*r1/.test(document.getElementById("rv-metadata").textContent));
    await page.click("#rv-discard");
    await page.click("nav button[data-tab='inherited']");
    await page.click("#inherited tr[data-role='editors'] button[data-act='delete']");
    await page.waitForFunction(() => /- .*editors/.test(document.getElementById("rv-metadata").textContent));
    await page.click("#rv-discard");

    // History: the install just made is listed.
    await page.click("nav button[data-tab='history']");
    await page.waitForSelector("#history button[data-version]");
    out.history = await page.locator("#history tr").count() - 1;

    // Integers beyond 2^53 keep every digit through the rule editor: the
    // JSON, the tree, the compiled policy, the pending document and the
    // review's diff.
    await page.click("nav button[data-tab='permissions']");
    await page.fill("#search", "wide.t001");
    // (the search was "book" before: wait for the filtered row itself)
    await page.waitForSelector("#matrix tr[data-table='wide.t001']");
    await page.evaluate(() => {
      const cols = window.rowguardConsole.state.matrixCols;
      const i = cols.findIndex((c) => c.role === "r5" && c.op === "select");
      document.querySelector("#matrix tr[data-table='wide.t001']").cells[i + 1].click();
    });
    await page.waitForSelector("#editor:not(.hidden)");
    await page.fill("#ed-json", '{\n  "columns": ["id"],\n  "filter": {"owner_id": {"_in": [9007199254740993, 1]}}\n}');
    await page.waitForFunction(() => document.getElementById("ed-sql").textContent.includes("9007199254740993"));
    await page.click("#ed-title"); // leave the textarea: the form redraws from the parsed JSON
    await page.waitForFunction(() => Array.from(document.querySelectorAll("#ed-rules input")).some((i) => i.value.includes("9007199254740993")));
    await page.evaluate(() => {
      const i = Array.from(document.querySelectorAll("#ed-rules input")).find((x) => x.value.includes("9007199254740993"));
      i.value = "[9007199254740995, 1]";
      i.dispatchEvent(new Event("change"));
    });
    await page.waitForFunction(() => document.getElementById("ed-json").value.includes("9007199254740995"));
    await page.waitForFunction(() => document.getElementById("ed-sql").textContent.includes("9007199254740995"));
    await page.click("#ed-stage");
    await page.waitForSelector("#editor.hidden", { state: "attached" });
    const pendingText = await page.evaluate(() => JSON.stringify(window.rowguardConsole.state.pending));
    check(pendingText.includes("[9007199254740995,1]"), "the pending document keeps the digits");
    await page.click("#review");
    await page.waitForFunction(() => document.getElementById("rv-metadata").textContent.includes("9007199254740995"));
    await page.click("#rv-discard");
    await page.fill("#search", "");

    // Permission variables: a claim with a typo in its path is refused at
    // its key (with the nearest column), fixed, previewed for user 1,
    // then applied (written beside the metadata and installed).
    await page.click("nav button[data-tab='claims']");
    await page.waitForFunction(() => document.getElementById("claims-source").textContent.includes("No custom claims"));
    await page.fill("#claims-user-table", "public.app_user");
    await page.click("#claims-add");
    await page.fill("#claims-table tbody tr:last-child input[data-claim='key']", "favorite-genre");
    await page.fill("#claims-table tbody tr:last-child input[data-claim='path']", "genrex");
    await page.waitForFunction(() => document.getElementById("claims-errors").textContent.includes("genrex"));
    const claimError = await page.textContent("#claims-errors");
    check(/rowguard_claims\.json:\d+: claim "favorite-genre"/.test(claimError) && claimError.includes("genre"), "the claim's error names the file line and the claim: " + claimError);
    check(await page.$("#claims-table tbody tr.bad") !== null, "the row of the broken claim is marked");
    check(await page.isDisabled("#claims-apply"), "a broken configuration cannot be applied");
    await page.fill("#claims-table tbody tr:last-child input[data-claim='path']", "genre");
    await page.fill("#claims-table tbody tr:last-child input[data-claim='default']", '"none"');
    await page.fill("#claims-user-id", "1");
    await page.waitForFunction(() => document.getElementById("claims-values").textContent.includes("fiction"));
    check((await page.textContent("#claims-values")).includes("x-hasura-favorite-genre"), "preview of user 1");
    check((await page.textContent("#claims-table")).includes("x-hasura-favorite-genre"), "the claim's session variable is shown");
    await page.fill("#claims-user-id", "3");
    await page.click("#claims-preview");
    await page.waitForFunction(() => document.getElementById("claims-values").textContent.includes("none"));
    await page.screenshot({ path: path.join(shots, "claims.png") });
    await page.click("#claims-apply");
    await page.waitForFunction(() => document.getElementById("claims-status").textContent.startsWith("applied"), null, { timeout: 60000 });
    await page.waitForFunction(() => document.getElementById("claims-source").textContent.includes("Installed: x-hasura-favorite-genre"));

    check(pageErrors.length === 0, "no JavaScript error: " + pageErrors.join("; "));
    console.log(JSON.stringify(out));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
