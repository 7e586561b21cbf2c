package security

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/graphql/observe"
	"github.com/rowguard/rowguard/internal/pgcluster"
	"github.com/rowguard/rowguard/internal/pgtest"
)

// TestSoak runs 16 clients of 50 users against the server (behind an
// observe.Observer writing every log type and the metrics) for
// ROWGUARD_SOAK_DURATION (default 20s; scripts/soak.sh runs 20 minutes),
// restarting PostgreSQL at a third and at two thirds: no foreign row,
// every failure a clean GraphQL error, and the goroutines and the RSS of
// the process flat between the first and the last tenth of the run.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster of its own")
	}
	dur := 20 * time.Second
	if v := os.Getenv("ROWGUARD_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("ROWGUARD_SOAK_DURATION: %v", err)
		}
		dur = d
	}
	ctx, cancel := context.WithTimeout(context.Background(), dur+3*time.Minute)
	defer cancel()
	cluster, err := pgcluster.Start(ctx)
	if err != nil {
		t.Fatalf("start a private cluster: %v", err)
	}
	t.Cleanup(func() { cluster.Stop() })
	admin, err := pgx.Connect(ctx, cluster.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE app"); err != nil {
		t.Fatal(err)
	}
	admin.Close(ctx)
	conn, err := pgx.Connect(ctx, cluster.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	const users = 50
	s := install(t, ctx, cluster.URL("app"), conn, users+2, pgtest.UniqueName("k")+"_")
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	s.serve(t, cluster.URL("app"), nil)
	all := map[string]bool{}
	for _, typ := range []string{observe.TypeStartup, observe.TypeHTTP, observe.TypeQuery, observe.TypeWebSocket, observe.TypeWebhook} {
		all[typ] = true
	}
	obs := observe.New(observe.Config{Log: observe.NewLogger(io.Discard, observe.LogConfig{Types: all}), Metrics: observe.NewMetrics()})
	observed := httptest.NewServer(obs.Handler(s.srv.Config.Handler))
	t.Cleanup(observed.Close)
	s.srv = observed

	load := startRestartLoad(t, ctx, s, users, nil)
	res := &load.res
	sample := func() (goroutines int, rssKB int) {
		runtime.GC()
		return runtime.NumGoroutine(), rss(t)
	}
	start := time.Now()
	time.Sleep(dur / 10)
	g0, r0 := sample()
	for i := 1; i <= 2; i++ {
		time.Sleep(time.Until(start.Add(dur * time.Duration(i) / 3)))
		if err := cluster.Restart(ctx); err != nil {
			load.stop()
			t.Fatalf("restart %d: %v", i, err)
		}
	}
	time.Sleep(time.Until(start.Add(dur - dur/10)))
	afterRestarts := res.requests.Load()
	time.Sleep(time.Until(start.Add(dur)))
	g1, r1 := sample()
	load.stop()

	t.Logf("soak %s, 2 PostgreSQL restarts: %d good answers, %d clean errors, %d broken HTTP exchanges, %d foreign rows; goroutines %d -> %d, RSS %d -> %d MB",
		dur, res.requests.Load(), load.clean.Load(), load.transport.Load(), res.foreign.Load(), g0, g1, r0/1024, r1/1024)
	if p := res.firstProblem.Load(); p != nil {
		t.Errorf("first problem: %s", *p)
	}
	if res.foreign.Load() != 0 || res.wrongCount.Load() != 0 || res.failed.Load() != 0 {
		t.Errorf("%d foreign rows, %d answers with the wrong rows, %d failed checks", res.foreign.Load(), res.wrongCount.Load(), res.failed.Load())
	}
	if load.transport.Load() != 0 {
		t.Errorf("%d broken HTTP exchanges, the first: %s", load.transport.Load(), *load.firstTransport.Load())
	}
	if res.requests.Load() <= afterRestarts {
		t.Error("no good answer in the last tenth: the server did not recover from the restarts")
	}
	if g1 > g0+32 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if r1 > r0+64*1024 {
		t.Errorf("RSS grew from %d to %d MB", r0/1024, r1/1024)
	}
}

// rss is the process's resident set size in KB (VmRSS).
func rss(t *testing.T) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
