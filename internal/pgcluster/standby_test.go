package pgcluster_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/internal/pgcluster"
)

// startPrimary starts a private primary for the test; a test of a standby
// needs one of its own (DATABASE_URL's server cannot be copied from here).
func startPrimary(t *testing.T) *pgcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx)
	if err != nil {
		if os.Getenv("DATABASE_URL") != "" {
			t.Skipf("standby tests need a private cluster from the installed binaries, and none starts here (DATABASE_URL is set, so the other tests use it): %v", err)
		}
		t.Fatalf("start a private primary: %v", err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

func exec(t *testing.T, url, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStandby(t *testing.T) {
	primary := startPrimary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	exec(t, primary.URL("postgres"), "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
	standby, err := primary.StartStandby(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Stop() })
	if !standby.IsStandby() || primary.IsStandby() {
		t.Fatalf("IsStandby: standby %v, primary %v", standby.IsStandby(), primary.IsStandby())
	}
	if got := count(t, standby.URL("postgres")); got != 1 {
		t.Fatalf("standby sees %d rows of the base backup, want 1", got)
	}
	// Read-only: a write fails with 25006 (read_only_sql_transaction).
	conn, err := pgx.Connect(ctx, standby.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO t VALUES (2)"); err == nil {
		t.Fatal("a write on the standby succeeded")
	}
	conn.Close(ctx)

	exec(t, primary.URL("postgres"), "INSERT INTO t VALUES (2)")
	if err := standby.WaitReplayed(ctx, primary); err != nil {
		t.Fatal(err)
	}
	if got := count(t, standby.URL("postgres")); got != 2 {
		t.Fatalf("standby sees %d rows after replay, want 2", got)
	}
	if lag, err := standby.ReplayLag(ctx); err != nil || lag != 0 {
		t.Fatalf("ReplayLag after replay = %v, %v; want 0", lag, err)
	}

	if err := standby.PauseReplay(ctx); err != nil {
		t.Fatal(err)
	}
	exec(t, primary.URL("postgres"), "INSERT INTO t VALUES (3)")
	// The lag grows from the last replayed commit: poll until it shows.
	deadline := time.Now().Add(30 * time.Second)
	for {
		lag, err := standby.ReplayLag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if lag >= 200*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("paused standby's lag stayed at %v", lag)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := count(t, standby.URL("postgres")); got != 2 {
		t.Fatalf("paused standby sees %d rows, want 2", got)
	}
	if err := standby.ResumeReplay(ctx); err != nil {
		t.Fatal(err)
	}
	if err := standby.WaitReplayed(ctx, primary); err != nil {
		t.Fatal(err)
	}
	if got := count(t, standby.URL("postgres")); got != 3 {
		t.Fatalf("resumed standby sees %d rows, want 3", got)
	}

	if err := standby.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, standby.URL("postgres")); err == nil {
		t.Fatal("a killed standby accepts connections")
	}
	if err := standby.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := standby.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(t, standby.URL("postgres")); got != 3 {
		t.Fatalf("restarted standby sees %d rows, want 3", got)
	}
	// The primary is unaffected by all of it.
	exec(t, primary.URL("postgres"), "INSERT INTO t VALUES (4)")
}
