// Package graphql serves a Hasura-compatible GraphQL API over a compiled
// rowguard Program.
//
// The request pipeline reads top to bottom, one file per stage:
//
//	schema.go      one GraphQL schema per role, built from the role's
//	               permissions as Hasura names things (role-based schema
//	               publishing); mutation_schema.go adds mutation_root
//	validate.go    parse + validate against the role's schema, with
//	               Hasura's error messages and paths
//	plan.go        a validated operation → a plan (pure: no I/O)
//	sql.go         a plan → ONE SQL statement that builds the whole JSON
//	               response inside PostgreSQL
//	execute.go     one transaction in one network round trip: BEGIN, switch
//	               to the role's PostgreSQL role and set every session
//	               variable transaction-locally, the statement, COMMIT
//	http.go        POST /v1/graphql, GET /healthz, GET /v1/version
//	server.go      wiring, the per-role schema cache and the plan cache
//
// Permissions are not checked here: the statement runs as the role's
// PostgreSQL role, so row-level security policies and column grants decide
// what it reads. The schema only publishes what those permit, and the planner
// applies what PostgreSQL cannot express (row limits, aggregation and
// root-field visibility). The admin role runs as the server's own login
// role, which must therefore be able to read every tracked table: a
// superuser or a role with BYPASSRLS (the tables use FORCE ROW LEVEL
// SECURITY, so owning them is not enough).
//
// Known differences from Hasura: a relationship is published to a role
// only when the role may read the columns that join it (PostgreSQL checks
// column privileges on the join condition); `_eq: null` and other null
// comparison values are ignored, as Hasura v1 did; the order of keys inside
// one order_by object given through a variable follows the schema's field
// order.
package graphql
