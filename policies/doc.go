// Package policies is rowguard's model of Hasura v2 permission metadata:
// tables, relationships, per-role select/insert/update/delete permissions and
// their boolean expressions, and each table's GraphQL naming (TableConfig).
//
// Load reads a `hasura metadata export` directory (databases.yaml and
// tables.yaml with !include files) or a single exported JSON/YAML file. Every
// node keeps the file:line:col it came from, and the loader collects every
// problem it finds instead of stopping at the first, so one run reports them
// all.
//
// The package knows nothing about the database: whether a name is a column or
// a relationship, and whether a value fits a column's type, is decided later by
// package compiler against the catalog.
package policies
