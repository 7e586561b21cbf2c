// Runs graphql-js's own introspection query against a rowguard server and
// builds a client schema from the answer, as GraphQL tools do.
// Usage: node introspect.cjs <graphql-js dir> <url> <headers JSON>
// Prints {"ok":true,"sdl":...} or {"ok":false,"error":...}.
const path = require("path");
const [dir, url, headers] = process.argv.slice(2);
const { getIntrospectionQuery, buildClientSchema, printSchema } = require(path.join(dir, "node_modules", "graphql"));

(async () => {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...JSON.parse(headers) },
      body: JSON.stringify({ query: getIntrospectionQuery() }),
    });
    const body = await res.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    const schema = buildClientSchema(body.data);
    console.log(JSON.stringify({ ok: true, sdl: printSchema(schema) }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: String(e && e.stack || e) }));
  }
})();
