// Package pgcluster starts a private, throwaway PostgreSQL cluster from the
// installed server binaries: for the demo, and for tests when no
// DATABASE_URL is given.
//
// initdb refuses to run as root, so when the process is root the cluster is
// created and run as the `postgres` OS user (Debian's packages create it).
package pgcluster
