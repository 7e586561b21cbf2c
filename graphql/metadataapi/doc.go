// Package metadataapi serves Hasura's metadata API over a rowguard
// GraphQL server: POST /v1/query (track_table, relationships, permissions,
// computed fields, functions, run_sql, the legacy insert, bulk), POST
// /v1/metadata (the pg_-prefixed forms, inherited roles, export, replace,
// clear, reload, get_inconsistent_metadata, pg_add_source), POST /v2/query
// (run_sql) and /v1alpha1/graphql. Everything else goes to the wrapped
// *graphql.Server.
//
// Each request is applied at once and whole: its SQL, the edited metadata,
// the recompiled policies (rls.Emit) and their record in the rowguard
// schema (migrations.Apply) run in one transaction, so an invalid change is
// answered with Hasura's error shape ({"path", "error", "code"}) and leaves
// nothing behind. The metadata is stored with the installed policies, so it
// survives a restart, and `rowguard serve` without a metadata directory
// serves the same program.
//
// Inherited roles are compiled as ordinary roles whose permissions are
// derived from their members' (union of select columns, OR of filters;
// insert, update and delete only when the members agree, otherwise the
// permission is reported by get_inconsistent_metadata), so PostgreSQL
// enforces them like any other role.
package metadataapi
