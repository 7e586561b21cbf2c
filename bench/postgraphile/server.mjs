// PostGraphile v5 over the benchmark's database, with the same RLS policies
// rowguard installed and the same JWTs: a request's Hasura claims become
// the PostgreSQL role and the hasura.* settings the policies read, exactly
// what rowguard sets. Started by the bench command (bench/postgraphile.go).
//
//   DATABASE_URL  the login role's connection URL
//   PORT          port to listen on (127.0.0.1)
//   JWT_KEY       the HS256 key (same as rowguard's HASURA_GRAPHQL_JWT_SECRET)
//   PG_ROLES      JSON map of Hasura role → PostgreSQL role
//   POOL_SIZE     connections in the pool (same as rowguard's)
import { createServer } from "node:http";
import jwt from "jsonwebtoken";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { grafserv } from "postgraphile/grafserv/node";

const key = process.env.JWT_KEY;
const pgRoles = JSON.parse(process.env.PG_ROLES);
const port = Number(process.env.PORT);
const claimsNamespace = "https://hasura.io/jwt/claims";

function pgSettingsFor(req) {
  const header = req?.headers?.authorization;
  if (!header) {
    return {};
  }
  const [scheme, token] = header.split(" ");
  if (scheme.toLowerCase() !== "bearer") {
    throw Object.assign(new Error("bad authorization header"), { statusCode: 401 });
  }
  let claims;
  try {
    claims = jwt.verify(token, key, { algorithms: ["HS256"] });
  } catch (e) {
    throw Object.assign(new Error("invalid JWT: " + e.message), { statusCode: 401 });
  }
  const hasura = claims[claimsNamespace] ?? {};
  const role = hasura["x-hasura-default-role"];
  if (!pgRoles[role]) {
    throw Object.assign(new Error(`role ${role} has no PostgreSQL role`), { statusCode: 403 });
  }
  const settings = { role: pgRoles[role] };
  for (const [name, value] of Object.entries(hasura)) {
    if (name.startsWith("x-hasura-") && typeof value === "string") {
      settings["hasura." + name.replaceAll("-", "_")] = value;
    }
  }
  return settings;
}

const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.POOL_SIZE || 10) },
    }),
  ],
  grafast: {
    explain: false,
    context(requestContext) {
      return { pgSettings: pgSettingsFor(requestContext.node?.req) };
    },
  },
  grafserv: { graphqlPath: "/graphql", websockets: false, watch: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on("error", (e) => {
  console.error(e);
  process.exit(1);
});
await serv.addTo(server);
// Build the schema before listening, so "listening" means ready.
await pgl.getSchema();
server.listen(port, "127.0.0.1", () => {
  console.log(`postgraphile listening on http://127.0.0.1:${port}/graphql`);
});
