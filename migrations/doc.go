// Package migrations installs a database's schema and its compiled
// permissions with golang-migrate.
//
// Two migration histories live side by side. The user's schema migrations
// (a directory in the Hasura CLI's layout, <version>_<name>/up.sql, or
// golang-migrate's, <version>_<name>.up.sql; read by folder, a
// golang-migrate source) are recorded where the database already records
// them (see ledger): the Hasura CLI's hdb_catalog.schema_migrations or
// catalog state, or golang-migrate's schema_migrations. The generated
// policy migrations are tracked in rowguard.policy_migrations: each
// distinct compiled policy script is one version, stored with its metadata
// in rowguard.policy_history, so `down` can restore the previous policies
// exactly and the server can load exactly the metadata that is installed.
//
// Up runs the pending schema migrations (golang-migrate driving txDriver,
// a database driver inside the caller's transaction) and the policy
// install in one transaction: it applies completely or not at all, and a
// failure leaves nothing dirty to clear by hand.
package migrations
