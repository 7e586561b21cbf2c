// Package graphql serves a Hasura-compatible GraphQL API over a compiled
// rowguard Program.
//
// The request pipeline reads top to bottom, one file per stage:
//
//	schema.go      one GraphQL schema per role, built from the role's
//	               permissions as Hasura names things (role-based schema
//	               publishing); mutation_schema.go adds mutation_root
//	validate.go    parse + validate against the role's schema, with
//	               Hasura's error messages and paths; limits.go measures
//	               the parsed document against the request limits first
//	plan.go        a validated operation → a plan (pure: no I/O);
//	               mutation_plan.go plans insert, update and delete fields
//	sql.go         a plan → ONE SQL statement that builds the whole JSON
//	               response inside PostgreSQL (branches.go: OR policies
//	               read branch by branch; merge.go, opt-in: per key of a
//	               membership set); mutation_sql.go renders
//	               each mutation as one statement whose data-modifying CTE
//	               returns the rows the answer's JSON is built from
//	execute.go     one transaction in one network round trip: BEGIN, switch
//	               to the role's PostgreSQL role and set every session
//	               variable transaction-locally, the statement(s), COMMIT,
//	               then RESET ALL and RESET ROLE so the pooled connection
//	               keeps nothing a function set at session level.
//	               A mutation's fields run in order in one read-write
//	               transaction: when one fails, none is committed
//	http.go        POST /v1/graphql, GET /v1/version
//	health.go      GET /healthz (?strict=true) as Hasura's, with the served
//	               policy version and the inconsistencies it knows of
//	observe.go     the hooks that tell an observe.Observer (logs, metrics,
//	               traces) what a request did
//	explain.go     POST /v1/graphql/explain (Hasura's explain API, admin
//	               only): EXPLAIN of each root field's statement inside the
//	               transaction execute opens for the session it names,
//	               rolled back, so the plan carries the role's policies;
//	               the pg_policies rows that applied; ?analyze=true in a
//	               READ ONLY transaction
//	server.go      wiring, the per-role schema cache and the plan cache
//
// Every request is bounded before anything is planned or a transaction
// opened: its body (Config.MaxBodyBytes, 413 with a bad-request error, on
// every POST endpoint), a batch's operations (BatchLimit), and the fields
// of its document, fragments expanded where they are spread, and of its
// argument values (FieldLimit: a fragment bomb is measured, not
// expanded), and how deep argument values and variables nest
// (InputDepthLimit: each relationship level of a where is a subquery, and
// PostgreSQL's planning time grows faster than their number; gqlparser
// stops at 1000 levels, far too late). Hasura's API limits bound every
// role but admin: depth_limit (fields nested in fields, introspection not
// counted), node_limit (fields with a selection set) and time_limit (each
// statement's statement_timeout, set with the role in the same round
// trip). As in Hasura the admin role has no depth, node or time limit; it
// keeps the body, batch, field and input depth limits, which bound the
// server's own work. Over a limit is a validation-failed error at "$" saying which
// limit and by how much ("depth limit exceeded: the operation nests
// fields 12 deep, the limit is 10"); over the time limit an unexpected
// error "time limit exceeded: …". Limits are global, not per role.
//
// Permissions are not checked here: the statement runs as the role's
// PostgreSQL role, so row-level security policies and column grants decide
// what it reads. The schema only publishes what those permit, and the planner
// applies what PostgreSQL cannot express (row limits, aggregation and
// root-field visibility). The admin role runs as the NOLOGIN BYPASSRLS role
// the install creates for it (compiler.Program.AdminPGRole), so the server's
// login role itself needs no privilege on the tables.
//
// The planner may repeat part of a policy to help PostgreSQL plan, never to
// decide: when the role's filter is an OR whose branch tests membership in
// a set on a column the statement fixes (an array relationship's join
// column, an equality of the request's where), a list is read as a UNION
// ALL of one subquery per branch (branches.go), the membership test on the
// fixed value so PostgreSQL decides it once. The policy still applies to
// every branch; the branches are the policy's own expressions, rendered by
// rls.Expr with the installed helpers' names. With Config.MergeSets, an
// ordered, limited list whose filter has such a set branch but nothing
// fixed is read per key of the set and per other branch through ordered
// indexes the catalog has, and merged (merge.go).
//
// Mutations follow Hasura's schema: insert_<t> and insert_<t>_one (with
// on_conflict when the role may also update), update_<t>, update_<t>_by_pk
// and update_<t>_many (with _inc and, for jsonb columns, _append,
// _prepend, _delete_key, _delete_elem and _delete_at_path), delete_<t> and
// delete_<t>_by_pk. Input types list only the columns the role may write,
// presets left out; update and delete, and every field returning rows,
// need the role's select permission, as in Hasura. The policies check what
// is written: a failed check is a permission-error, a preset's missing
// session variable a not-found, 23xxx errors a constraint-violation.
// Inserts may insert rows of object and array relationships with their own
// ({author: {data: {…}}}, {tags: {data: […]}}) when the role may insert
// into the related table, write the join columns being filled and read
// the ones filling them; such an insert runs one statement per row
// (mutation_nested.go), so a row's check sees the rows inserted before it.
//
// Relationships are published as Hasura publishes them: whenever the role
// may select the remote table, whatever columns the two permissions list.
// PostgreSQL checks column privileges on a join condition, so the install
// grants the role SELECT on the join columns of every relationship it can
// follow (compiler.Permission.HiddenColumns); they stay out of the schema,
// so a request can neither select them nor filter, sort, aggregate or use
// distinct_on on them unless the permission lists them. A role's row limit
// caps the rows of lists and of an aggregate's nodes, not the rows its
// count, sum … are computed over, as in Hasura. A select permission that
// lists no column but allows aggregations publishes <t>_aggregate with
// aggregate { count } only.
//
// Inherited roles (Hasura's inherited_roles, from the metadata API or a
// metadata directory's inherited_roles.yaml) are PostgreSQL roles of their
// own: their policy admits the rows of any member (OR of the filters) and
// they are granted every column any member may read, so PostgreSQL
// enforces the union. A column only some members may read comes back null
// on the rows only the other members show, in rows, aggregate nodes and
// aggregates (sum over the nulled values), nested inherited roles
// flattened: the planner renders it as `CASE WHEN rowguard.rg_cols_…(t.ctid)
// THEN t.col END`, the helper (compiler.ColumnRowsHelper, installed by the
// rls emitter, which grants the role SELECT on ctid alone) evaluating the
// members' filters as the definer role, because a filter may read columns
// the role may not select. A mutation's returning evaluates that condition
// inline instead (the helper cannot see the rows the statement writes), so
// there the condition must read only columns the role may select, else
// PostgreSQL refuses the statement. A `where`, `order_by` or `distinct_on`
// on such a column reads its value on every row the role may see.
//
// A tracked view or materialized view is read, for a role, through the
// role's per-role view (compiler.ReadAs: in FROM, relationships, where and
// order_by), which applies the role's filter and nulls an inherited role's
// partly readable columns itself; admin reads the view. Views publish no
// mutations.
//
// PostGIS columns (geometry, geography) use Hasura's scalars of the same
// names and read as GeoJSON (ST_AsGeoJSON(col, 15, 4)::json: the CRS
// spelled urn:ogc:def:crs:EPSG::<srid>); their comparison types add the
// _st_ operators (_st_d_within with st_d_within_input, or
// st_d_within_geography_input for geography), compiled like the same
// operators in permissions (postgis.go). Values of such columns (inserted,
// updated, compared with _eq and the like) are GeoJSON objects, read with
// ST_GeomFromGeoJSON; PostGIS's own text forms (WKT, EWKT, hex WKB) are
// taken too.
//
// Computed fields are fields of the row type: scalar ones when the select
// permission lists them, SETOF ones (with where, order_by, limit, offset,
// distinct_on) whenever the role may select the returned table, whose
// permission then applies to the rows. A role that may read every column
// involved calls the function itself; any other calls a per-role SECURITY
// DEFINER helper the install creates (compiler.ComputedAccess), which
// takes the row's primary key and evaluates the field only for a row the
// role's filter shows. Tracked functions returning SETOF a tracked table
// are query root fields <fn> and <fn>_aggregate (when the role may
// aggregate) for the roles with a select permission on that table; such a
// role calls a per-role helper (compiler.FunctionAccess) that runs the
// function with the definer's rights, as Hasura runs it with its own, and
// returns only the role's columns of the rows its filter shows.
//
// Known differences from Hasura: in a mutation's returning, a computed
// field read through a helper sees the row as it was before the statement
// (nothing for an inserted row), and a function argument the request
// leaves out is NULL rather than its default when the role calls a
// helper. Further: from psql or any other SQL client, a role
// can read the join columns of the relationships it may follow (which the
// API reveals anyway through the relationship), and a role that may count
// rows of a table without reading any of its columns can read its rows'
// ctid, a view's first key column (PostgreSQL lets a role count rows only
// when it may read some column); `_eq: null` and other null
// comparison values are ignored, as Hasura v1 did; the order of keys inside
// one order_by object given through a variable follows the schema's field
// order. Mutations: rows a mutation returns must pass the role's select
// policy, else PostgreSQL fails the statement (a permission-error) where
// Hasura leaves them out of returning; an update or delete whose where
// reads a column matches only rows the select policy shows, where Hasura
// applies the update or delete filter alone; an upsert skips a conflicting
// row the update filter refuses only when that filter reads the row
// itself and only columns the role may select (otherwise PostgreSQL's
// update policy fails the statement on such a row). PostgreSQL runs
// INSERT … ON CONFLICT DO UPDATE only for a role that may select the
// conflict key's columns, and applies the role's select policy to the
// inserted row and to a conflicting row: a role without a select
// permission on the table cannot upsert at all, and an upsert that meets
// a row the role may not select fails, where Hasura updates it (Hasura's
// cases leads_upsert_check_with_headers and blog_on_conflict_update_preset;
// passing them would need a select grant and policy the role does not
// have). backend_only insert, update and delete
// permissions publish their fields only to requests that use them (a
// second schema for such roles), as Hasura does.
package graphql
