// Package security holds rowguard's security and fault suite: tests, run
// against a real PostgreSQL, that attack the served GraphQL API end to end
// and check that no request ever sees another user's rows.
//
// The suite covers identity isolation under load (directly and through a
// transaction-mode PgBouncer), the state a pooled connection is left in
// after a request fails mid-transaction or a function leaves session-level
// settings behind, role and session headers, PostgreSQL restarts under
// load, and the row-level-security pitfalls that a policy compiler cannot
// remove (error oracles, row limits, unique-violation existence leaks).
//
// The package has no code of its own: its helpers live in _test.go files.
// JWT attacks on the auth package itself are in auth/attack_test.go, and
// failing migrations in migrations/failure_test.go.
//
// ROWGUARD_ISOLATION_REQUESTS sets the number of requests of each isolation
// load test (default 100000; -short runs 20000).
package security
