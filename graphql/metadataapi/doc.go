// Package metadataapi serves Hasura's metadata API over a rowguard
// GraphQL server: POST /v1/query (track_table, untrack_table,
// relationships, permissions, computed fields, track_function, run_sql,
// the legacy insert, bulk), POST /v1/metadata (the pg_-prefixed forms,
// add_inherited_role, drop_inherited_role, export_metadata,
// replace_metadata, clear_metadata, reload_metadata,
// get_inconsistent_metadata, pg_add_source), POST /v2/query (run_sql) and
// /v1alpha1/graphql (errors with status 400). Everything else goes to the
// wrapped *graphql.Server. Only admin sessions may use the API.
//
// Each request is applied at once and whole: its SQL, the edited
// metadata, the recompiled policies (rls.Emit) and their record in the
// rowguard schema (migrations.Apply) run in one transaction on Config.Pool,
// which must be a superuser's (installs create BYPASSRLS roles, as
// `rowguard migrate` does). An invalid change is answered with Hasura's
// error shape ({"path", "error", "code"}: already-exists, not-exists,
// already-tracked, dependency-error, invalid-configuration,
// postgres-error, …) and leaves nothing behind. SQL that drops what the
// metadata depends on is refused unless the request cascades, which drops
// the dependent metadata too. The metadata is stored with the installed
// policies, so it survives a restart, and `rowguard serve` without a
// metadata directory serves the same program.
//
// Inherited roles are compiled as ordinary roles whose permissions are
// derived from their members' (the compiler derives select: union of
// columns, OR of filters; insert, update and delete only when the members
// agree, otherwise the permission is listed by
// get_inconsistent_metadata), so PostgreSQL enforces them like any other
// role. The GraphQL planner returns null for a column on the rows only
// members that may not read it show, as Hasura does.
//
// Computed fields compile into policies and GraphQL fields, and tracked
// functions into query root fields (track_function and untrack_function
// recompile like any other change); functions exposed as mutations are
// stored and exported but not served. PostGIS operators compile like any
// other. A permission whose rule uses a computed field that does not
// resolve is left out (its role gets nothing
// from it) and listed by get_inconsistent_metadata, rather than refusing
// metadata that Hasura accepts. rowguard serves one database: a second
// source is refused.
package metadataapi
