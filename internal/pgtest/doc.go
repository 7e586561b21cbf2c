// Package pgtest gives tests a private, throwaway PostgreSQL database.
//
// It is the one way tests in this project reach PostgreSQL: always a real
// server, never a mock.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		conn := pgtest.Connect(t, pgtest.NewDatabase(t))
//		role := pgtest.UniqueName("hasura_user") // roles are cluster-wide
//		...
//	}
//
// The server is DATABASE_URL when it is set (a superuser URL). Otherwise
// the first call to ServerURL in a test binary starts a private cluster
// from the installed server binaries (pg_config --bindir, else the newest
// /usr/lib/postgresql/*/bin, else PATH) in a new directory under
// os.TempDir(), listening on 127.0.0.1 at a free port, with fsync off. When
// the test process is root, initdb and pg_ctl run as the `postgres` OS user
// (initdb refuses root).
//
// Every test gets its own database from NewDatabase, dropped (WITH (FORCE))
// when the test ends, so tests may run in parallel. Roles and other
// cluster-wide objects are shared by every database: name them with
// UniqueName.
//
// The private cluster is stopped and its directory removed by Main, which a
// package calls from its TestMain. A package that does not call Main leaves
// its cluster running (and its directory in place) until the machine stops.
package pgtest
