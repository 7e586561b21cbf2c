// Package migrations installs a database's schema and its compiled
// permissions with golang-migrate.
//
// Two migration histories live side by side. The user's schema migrations
// (a golang-migrate directory of N_name.up.sql / N_name.down.sql files) are
// tracked in public.schema_migrations as usual. The generated policy
// migrations are tracked in rowguard.policy_migrations: each distinct
// compiled policy script is one version, stored with its metadata in
// rowguard.policy_history, so `down` can restore the previous policies
// exactly and the server can load exactly the metadata that is installed.
//
// Every policy migration is one multi-statement script that PostgreSQL runs
// as one implicit transaction: it installs completely or not at all.
package migrations
