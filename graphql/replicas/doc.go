// Package replicas routes the server's reads to PostgreSQL read replicas
// (physical streaming standbys of the primary).
//
// A Router keeps one pgxpool per replica and checks each about once a
// second: a ping, pg_is_in_recovery, the replay lag and the policy version
// the replica has replayed (rowguard.policy_migrations). Because policies,
// grants and triggers are catalog rows, a physical replica enforces exactly
// what the primary enforced at the WAL position it has replayed: no copy
// of the rules lives in the server. What the server must make sure of is
// that the position is one where the policy version equals the one its
// schema was built from; ReadPool hands out a replica only then.
//
// The server (graphql.Config.Replicas) asks ReadPool for every read-only
// transaction, round robin over the healthy replicas, and uses the primary
// when it returns nil; mutations never ask. A statement on a replica that
// fails for a reason that is not the request's (the connection broke, the
// replica shut down, a recovery conflict) is reported with Failed, which
// takes the replica out until its next good check, and runs again on the
// primary. A read's batch on a replica ends with VersionSQL, after its
// COMMIT, and Held tells from its result whether the replica was at the
// request's policy version all along: the version rule per request, in
// the read's own round trip.
//
// A replica that was promoted (no longer in recovery) leaves the rotation
// with one error log line. HealthLines gives /healthz a line per replica,
// and a Router is a prometheus.Collector of each replica's health, lag,
// policy version and reads.
package replicas
