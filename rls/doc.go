// Package rls turns a compiled program (package compiler) into the DDL that
// makes PostgreSQL enforce it: roles, column GRANTs, row-level-security
// policies, preset triggers and the SECURITY DEFINER helpers that evaluate
// cross-table rules without the related tables' own policies.
//
// Column GRANTs go beyond what a select permission lists in one respect
// (compiler.Permission.HiddenColumns): a role may read the join columns of
// every relationship it can follow in the API (it has a select permission
// on both tables), because PostgreSQL checks column privileges on the join
// condition where Hasura publishes the relationship whatever columns the
// permissions list; and a role that may count rows (allow_aggregations)
// without reading any column may read ctid (a view, which has no ctid, its
// first key column). The trade-off: from psql, such a role reads those
// columns: the join columns, which the API reveals anyway through the
// relationship, and ctid, which tells where a row is stored, nothing of
// its data (a view's key column tells more). Each such GRANT is commented in the script.
//
// Computed fields and tracked functions a role cannot call with its own
// rights get per-role SECURITY DEFINER helpers (functions.go;
// compiler.ComputedAccess, compiler.FunctionAccess): each re-checks the
// role's select filter, returns only the role's columns, and only that
// role may execute it, so calling one from psql reveals nothing the API
// would not. Such a role is granted SELECT on the key columns the
// computed-field helpers take. A computed field whose SECURITY INVOKER
// function reads data beyond its row goes through its helper for every
// role. The helpers take and return plain types
// (RETURNS TABLE (…)), so none keeps a table from being dropped; their
// owner may read every tracked table and execute the user functions,
// whose bodies may read any of them.
//
// Views and materialized views have no row-level security (views.go):
// each role with a select permission on one reads it through a
// security-barrier view of its own in schema rowguard
// (compiler.RoleViewName), owned by the definer, which applies the role's
// filter; the role is granted its columns there and nothing on the view.
// A view that calls project functions reading data as the caller
// (compiler.Catalog.ReadsAsCaller) is read through a SECURITY DEFINER
// function of the role's (compiler.ViewSourceName), so those functions run
// as the definer, as Hasura runs them as the owner; it returns SETOF the
// view's row type, a dependency the per-role view has anyway. The definer
// may read every table and execute every routine of the project's schemas
// (definerObjectGrants), as what such functions read is known only to
// their bodies.
//
// Every table (not view) also gets a change counter for live queries
// (changes.go): a sequence rowguard.rg_changes_<oid>, kept across
// installs, bumped by a statement-level trigger rg_changes, and read by
// the server through ChangesFunction, so it refetches only the live
// queries whose tables changed.
//
// Emit is pure and deterministic: the same program always yields
// byte-identical SQL, which re-parses with pg_query_go. The script first
// removes whatever an earlier install created (everything rowguard owns is
// named rg_* or lives in the rowguard schema), so applying it is idempotent;
// it does not open a transaction itself, its caller runs it in one.
package rls
