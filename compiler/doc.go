// Package compiler resolves Hasura permission metadata (package policies)
// against a database catalog into a typed intermediate representation, the
// contract between the RLS emitter (package rls) and the GraphQL planner.
//
// The catalog comes from a live database (LoadCatalog, over pgx) or offline
// from DDL files (ParseDDL, over pg_query_go); both yield the same Catalog
// for the same schema, so compiled SQL does not depend on where the schema
// was read from.
//
// Compile is a pure function: Compile(cat, md, opts) → (*Program, errors),
// with every unknown column, relationship, operator or ill-typed value
// reported at its metadata file:line:col.
//
// Each tracked table also gets its GraphQL names (TableInfo.GraphQL): the
// type, root field and column field names Hasura publishes after the
// table's configuration (custom_name, custom_root_fields, column_config),
// checked for collisions. Permissions and SQL keep PostgreSQL's names; only
// the GraphQL layer reads these.
package compiler
