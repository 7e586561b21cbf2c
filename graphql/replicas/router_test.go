package replicas_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rowguard/rowguard/graphql/replicas"
	"github.com/rowguard/rowguard/internal/pgcluster"
)

func startPair(t *testing.T) (primary, standby *pgcluster.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	primary, err := pgcluster.Start(ctx)
	if err != nil {
		if os.Getenv("DATABASE_URL") != "" {
			t.Skipf("replica tests need a private cluster from the installed binaries and none starts here (DATABASE_URL is set): %v", err)
		}
		t.Fatalf("start a private primary: %v", err)
	}
	t.Cleanup(func() { primary.Stop() })
	exec(t, primary.URL("postgres"), "CREATE TABLE t (id int)")
	if standby, err = primary.StartStandby(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Stop() })
	return primary, standby
}

func exec(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func newRouter(t *testing.T, cfg replicas.Config) *replicas.Router {
	t.Helper()
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := replicas.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// waitStatus polls the router's status until cond holds, or fails with
// the last status.
func waitStatus(t *testing.T, r *replicas.Router, d time.Duration, what string, cond func(replicas.Status) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := r.Status()[0]
		if cond(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s; last status %+v", d, what, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRouterLagVersionAndDeath(t *testing.T) {
	primary, standby := startPair(t)
	r := newRouter(t, replicas.Config{URLs: []string{standby.URL("postgres")}, MaxLag: 300 * time.Millisecond, Interval: 200 * time.Millisecond})
	st := r.Status()[0]
	if !st.Healthy || !st.InRecovery || st.Version != "" {
		t.Fatalf("first status %+v, want healthy, in recovery, no policy version", st)
	}
	if r.ReadPool("") == nil || r.ReadPool("7") != nil {
		t.Fatal("ReadPool: want the replica at version \"\" only")
	}

	// The policy version is what the replica replayed.
	exec(t, primary.URL("postgres"), `CREATE SCHEMA rowguard; CREATE TABLE rowguard.policy_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO rowguard.policy_migrations VALUES (7, false)`)
	waitStatus(t, r, 10*time.Second, "version 7", func(s replicas.Status) bool { return s.Version == "7" })
	if r.ReadPool("7") == nil || r.ReadPool("") != nil {
		t.Fatal("ReadPool: want the replica at version 7 only")
	}
	exec(t, primary.URL("postgres"), `UPDATE rowguard.policy_migrations SET version = 8, dirty = true`)
	waitStatus(t, r, 10*time.Second, "version 8, dirty", func(s replicas.Status) bool { return s.Version == "8" && s.Dirty })
	if r.ReadPool("8") != nil {
		t.Fatal("ReadPool: a dirty version was handed out")
	}
	exec(t, primary.URL("postgres"), `UPDATE rowguard.policy_migrations SET dirty = false`)

	// Paused replay with writes coming: the lag passes the bound.
	if err := standby.PauseReplay(context.Background()); err != nil {
		t.Fatal(err)
	}
	exec(t, primary.URL("postgres"), "INSERT INTO t VALUES (1)")
	waitStatus(t, r, 15*time.Second, "out of rotation for lag", func(s replicas.Status) bool { return !s.Healthy && s.Lag > 300*time.Millisecond })
	if r.ReadPool("8") != nil {
		t.Fatal("ReadPool: a lagging replica was handed out")
	}
	if err := standby.ResumeReplay(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, r, 15*time.Second, "back in rotation", func(s replicas.Status) bool { return s.Healthy && s.Lag == 0 })

	// Failed takes it out at once; the next check brings it back.
	pool := r.ReadPool("8")
	r.Failed(pool, io.ErrUnexpectedEOF)
	if r.ReadPool("8") != nil {
		t.Fatal("ReadPool: a replica reported failed was handed out")
	}
	waitStatus(t, r, 10*time.Second, "back after Failed", func(s replicas.Status) bool { return s.Healthy })

	// Dead: out of rotation with the reason.
	if err := standby.Kill(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, r, 10*time.Second, "out of rotation when killed", func(s replicas.Status) bool { return !s.Healthy && s.Err != "" })
	if r.ReadPool("8") != nil {
		t.Fatal("ReadPool: a dead replica was handed out")
	}
}

func TestRouterBadURL(t *testing.T) {
	_, err := replicas.New(context.Background(), replicas.Config{URLs: []string{"postgres://u:secret@host:notaport/db"}})
	if err == nil {
		t.Fatal("a bad URL was accepted")
	}
	if got := err.Error(); !contains(got, "read replica 1") || contains(got, "secret") {
		t.Fatalf("error %q: want it to name the replica and hide the password", got)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestRouterStillAt: the per-request check sees a version the last health
// check has not seen yet (the checks here run once an hour).
func TestRouterStillAt(t *testing.T) {
	primary, standby := startPair(t)
	r := newRouter(t, replicas.Config{URLs: []string{standby.URL("postgres")}, Interval: time.Hour})
	ctx := context.Background()
	pool := r.ReadPool("")
	if pool == nil {
		t.Fatal("no replica at version \"\"")
	}
	if !r.StillAt(ctx, pool, "") || r.StillAt(ctx, pool, "1") {
		t.Fatal("StillAt without rowguard.policy_migrations: want \"\" only")
	}
	exec(t, primary.URL("postgres"), `CREATE SCHEMA rowguard; CREATE TABLE rowguard.policy_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO rowguard.policy_migrations VALUES (1, false)`)
	if err := standby.WaitReplayed(ctx, primary); err != nil {
		t.Fatal(err)
	}
	// The health check has not run since: ReadPool still hands the
	// replica out at "", and StillAt is what catches the move.
	if r.ReadPool("") != pool {
		t.Fatal("ReadPool changed without a check")
	}
	if r.StillAt(ctx, pool, "") || !r.StillAt(ctx, pool, "1") {
		t.Fatal("StillAt after version 1 replayed: want \"1\" only")
	}
	exec(t, primary.URL("postgres"), `UPDATE rowguard.policy_migrations SET version = 2, dirty = true`)
	if err := standby.WaitReplayed(ctx, primary); err != nil {
		t.Fatal(err)
	}
	if r.StillAt(ctx, pool, "2") || r.StillAt(ctx, pool, "1") {
		t.Fatal("StillAt: a dirty version counts as no version")
	}
	if r.StillAt(ctx, nil, "2") {
		t.Fatal("StillAt: a pool that is not a replica's")
	}
}

// syncBuf is a bytes.Buffer for a logger that checks write from their
// own goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRouterPromoted: a replica promoted to a primary of its own leaves
// the rotation with one log line that says so, /healthz's line says
// "promoted", and the metrics say it is not healthy.
func TestRouterPromoted(t *testing.T) {
	_, standby := startPair(t)
	logs := &syncBuf{}
	r, err := replicas.New(context.Background(), replicas.Config{
		URLs: []string{standby.URL("postgres")}, Interval: 200 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if r.ReadPool("") == nil {
		t.Fatal("ReadPool: the standby is not in rotation")
	}
	if got := r.HealthLines(""); len(got) != 1 || !strings.Contains(got[0], ": healthy, policy version none, lag 0s") {
		t.Fatalf("health lines %q, want the standby healthy", got)
	}
	if got := r.HealthLines("3"); len(got) != 1 || !strings.Contains(got[0], "wrong version: it has replayed policy version none, this server serves 3") {
		t.Fatalf("health lines for version 3 %q, want wrong version", got)
	}
	if err := standby.Promote(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, r, 10*time.Second, "out of rotation once promoted", func(s replicas.Status) bool {
		return !s.Healthy && s.State == replicas.StatePromoted && !s.InRecovery
	})
	if r.ReadPool("") != nil {
		t.Fatal("ReadPool: a promoted replica was handed out")
	}
	if got := r.HealthLines(""); !strings.Contains(got[0], ": promoted: not in recovery (pg_is_in_recovery() is false): it no longer follows the primary") {
		t.Fatalf("health line %q, want promoted", got[0])
	}
	// A few more checks: the log line is said once.
	time.Sleep(3 * 200 * time.Millisecond)
	if n := strings.Count(logs.String(), "read replica promoted"); n != 1 {
		t.Fatalf("%d log lines about the promotion, want 1:\n%s", n, logs.String())
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(r); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"rowguard_read_replica_reads_total":          1, // the first ReadPool
		"rowguard_read_replica_fallback_reads_total": 1, // the one after promotion
		"rowguard_read_replica_healthy":              0,
		"rowguard_read_replica_policy_version":       -1,
	} {
		if got := metric(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// metric returns the value of the one series of the metric name in reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) != 1 {
			continue
		}
		m := mf.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no single series %s", name)
	return 0
}

// TestRouterSameHostTwice: two URLs of one host and port get names of
// their own, so their metrics do not collide (a registry refuses to
// gather two series with the same labels); neither answers, so both are
// down.
func TestRouterSameHostTwice(t *testing.T) {
	r := newRouter(t, replicas.Config{URLs: []string{"postgres://u@127.0.0.1:1/a?connect_timeout=1", "postgres://u@127.0.0.1:1/b?connect_timeout=1"}})
	st := r.Status()
	if st[0].Name != "127.0.0.1:1" || st[1].Name != "127.0.0.1:1#2" {
		t.Fatalf("names %q and %q, want 127.0.0.1:1 and 127.0.0.1:1#2", st[0].Name, st[1].Name)
	}
	for _, s := range st {
		if s.Healthy || s.State != replicas.StateDown {
			t.Fatalf("status %+v, want down", s)
		}
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(r); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
	if got := r.HealthLines("1"); len(got) != 2 || !strings.HasPrefix(got[1], "read replica 127.0.0.1:1#2: down: ") {
		t.Fatalf("health lines %q", got)
	}
}
