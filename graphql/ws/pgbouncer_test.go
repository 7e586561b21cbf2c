package ws_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rowguard/rowguard/internal/pgcluster"
)

// viaPgBouncer starts PgBouncer in transaction mode (pool of 3) in front
// of url's server (pgcluster.StartPgBouncer) and returns a URL of url's
// database through it, with pgx in exec mode (no statement cache:
// prepared statements do not survive transaction pooling). It skips the
// test when pgbouncer is not installed.
func viaPgBouncer(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pgcluster.StartPgBouncer(context.Background(), url, 3)
	if errors.Is(err, pgcluster.ErrNoPgBouncer) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b.URL(cfg.Database) + "&default_query_exec_mode=exec"
}
