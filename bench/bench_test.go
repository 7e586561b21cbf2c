package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgcluster"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestPgbenchSQL(t *testing.T) {
	name := func(k int) (string, error) { return ":p" + string(rune('0'+k)), nil }
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"params", "SELECT $1::int, $2", "SELECT :p1::int, :p2", ""},
		{"quoted dollar", "SELECT '$1', \"$2\", $1", "SELECT '$1', \"$2\", :p1", ""},
		{"escaped quote", "SELECT 'it''s $1', $2", "SELECT 'it''s $1', :p2", ""},
		{"cast", "SELECT x::text FROM t", "SELECT x::text FROM t", ""},
		{"colon variable", "SELECT :foo", "", "as a variable"},
		{"colon in literal", "SELECT 'a:b'", "", "inside the literal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pgbenchSQL(tc.in, name)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("(-want +got)\n-%s\n+%s", tc.want, got)
			}
		})
	}
}

func TestParseWrk(t *testing.T) {
	out := `Running 2s test @ http://127.0.0.1:1/v1/graphql
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.10ms    2.00ms  30.00ms   90.00%
  Latency Distribution
     50%    3.50ms
     75%    4.80ms
     90%    6.00ms
     99%  812.00us
  7000 requests in 2.00s, 3.00MB read
Requests/sec:   3499.50
Transfer/sec:      1.50MB
BAD_RESPONSES 0
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	want := result{RPS: 3499.5, P50: 3500 * time.Microsecond, P99: 812 * time.Microsecond, Requests: 7000}
	if r != want {
		t.Errorf("(-want +got)\n-%+v\n+%+v", want, r)
	}
	bad := strings.Replace(out, "BAD_RESPONSES 0", "BAD_RESPONSES 3\nBAD_SAMPLE {\"errors\":[]}", 1)
	if _, err := parseWrk(bad); err == nil || !strings.Contains(err.Error(), "3 of 7000 responses were errors") {
		t.Errorf("err = %v, want the bad responses counted", err)
	}
}

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	if got := percentile(lat, 50); got != 50*time.Millisecond {
		t.Errorf("p50 = %s, want 50ms", got)
	}
	if got := percentile(lat, 99); got != 99*time.Millisecond {
		t.Errorf("p99 = %s, want 99ms", got)
	}
}

// TestCaptureReplay sends a parameterized transaction through the capture
// proxy as pgx does (one pipelined batch), then replays what was recorded
// with pgbench, including an empty parameter.
func TestCaptureReplay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbURL := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, dbURL)
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY, name text); INSERT INTO t VALUES (1, 'one'), (2, 'two')"); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := startCapture(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	pu := *u
	pu.Host = proxy.Addr()
	q := pu.Query()
	q.Set("sslmode", "disable")
	pu.RawQuery = q.Encode()
	pc, err := pgx.Connect(ctx, pu.String())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(ctx)
	proxy.Reset()
	pg := pc.PgConn()
	b := &pgconn.Batch{}
	b.ExecParams("BEGIN READ ONLY", nil, nil, nil, nil)
	b.ExecParams("SELECT set_config('app.x', $1, true), set_config('app.y', $2, true)", [][]byte{[]byte("2"), []byte("")}, nil, nil, nil)
	b.ExecParams("SELECT name FROM t WHERE id = current_setting('app.x')::int AND current_setting('app.y') = $1", [][]byte{[]byte("")}, nil, nil, nil)
	b.ExecParams("COMMIT", nil, nil, nil, nil)
	results, err := pg.ExecBatch(ctx, b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(results[2].Rows[0][0]); got != "two" {
		t.Fatalf("through the proxy: got %q, want two", got)
	}

	tx, err := lastTransaction(proxy.Statements())
	if err != nil {
		t.Fatal(err)
	}
	if len(tx) != 4 || tx[1].Params[0] != "2" || tx[1].Params[1] != "" || !strings.Contains(tx[2].SQL, "FROM t WHERE") {
		t.Fatalf("recorded %+v", tx)
	}
	script, defs, err := pgbenchScript(tx)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := pgcluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	res, err := runPgbench(ctx, filepath.Join(bin, "pgbench"), t.TempDir(), dbURL, script, defs, 2, 1, time.Second)
	if err != nil {
		t.Fatalf("%v\nscript:\n%s", err, script)
	}
	if res.Requests == 0 || res.RPS <= 0 || res.P50 <= 0 || res.P99 < res.P50 {
		t.Errorf("pgbench result %+v", res)
	}
}

// TestExplain runs a recorded transaction's statement under EXPLAIN
// ANALYZE with its settings, as the benchmark does for missed targets.
func TestExplain(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, dbURL)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	e := &environment{loginURL: dbURL}
	tx := []wireStatement{
		{SQL: "BEGIN READ ONLY"},
		{SQL: "SELECT set_config('app.x', $1, true)", Params: []string{"7"}},
		{SQL: "SELECT count(*) FROM t WHERE id = current_setting('app.x')::int AND id > $1", Params: []string{"1"}},
		{SQL: "COMMIT"},
	}
	out, err := e.explain(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "actual time") || !strings.Contains(out, "Index") && !strings.Contains(out, "Seq Scan") {
		t.Errorf("EXPLAIN output:\n%s", out)
	}
}

func TestPlanSummary(t *testing.T) {
	plan := `Result  (cost=178.63..178.64 rows=1 width=32) (actual time=8.319..8.321 rows=1 loops=1)
  Buffers: shared hit=242 read=8
  ->  Index Scan using articles_pkey on articles _t1  (actual time=0.336..3.907 rows=20 loops=1)
        Filter: ((author_id = ($1)::integer) OR (org_id = ANY ($2)))
        Rows Removed by Filter: 614
        Buffers: shared hit=239
Planning Time: 3.587 ms
Execution Time: 8.700 ms
`
	want := "8.700 ms execution, 250 pages, up to 614 rows removed by one filter (per loop)"
	if got := planSummary(plan); got != want {
		t.Errorf("(-want +got)\n-%s\n+%s", want, got)
	}
	if got := planSummary("EXPLAIN failed: x"); got != "no plan" {
		t.Errorf("got %q, want no plan", got)
	}
}

// BenchmarkCompile times compiler.Compile + rls.Emit of the generated
// schema the bench command uses for its compile target (500 tables × 10
// roles; target under 2 s): go test -run - -bench Compile ./bench/
func BenchmarkCompile(b *testing.B) {
	const tables, roles = 500, 10
	cat, err := compiler.ParseDDL([]compiler.DDLFile{{Name: "schema.sql", SQL: scaleSchema(tables)}})
	if err != nil {
		b.Fatal(err)
	}
	md, err := scaleMetadata(tables, roles)
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "metadata.json")
	if err := os.WriteFile(file, md, 0o644); err != nil {
		b.Fatal(err)
	}
	meta, err := policies.Load(file)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		prog, errs := compiler.Compile(cat, meta, compiler.Options{RolePrefix: "rgscale_"})
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		if ddl := rls.Emit(prog, rls.Options{}); !strings.Contains(ddl, "CREATE POLICY") {
			b.Fatal("no policies emitted")
		}
	}
}

// TestSubscriptionBenchShort runs the live-query benchmark small (200
// subscriptions over 50 identities, a few seconds of writes) in both
// modes: every change must reach every subscriber of its identity, and no
// subscriber may see a row the policy keeps from it.
func TestSubscriptionBenchShort(t *testing.T) {
	t.Chdir("..") // bench/metadata and ./cmd/rowguard from the repository root
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := config{data: dataset{Users: 100, Orgs: 12, Memberships: 3, Articles: 1000}, conns: 4, work: t.TempDir()}
	env := &environment{cfg: c, work: c.work}
	if err := env.setup(ctx, pgtest.ServerURL(t)); err != nil {
		t.Fatal(err)
	}
	defer env.close()
	rep, err := env.measureSubscriptions(ctx, subParams{Subs: 200, Identities: 50, Writes: 6 * time.Second, Idle: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.markdown())
	for _, ph := range rep.phases {
		if ph.changes < 3 || ph.missed != 0 || ph.foreign != 0 || ph.errors != 0 {
			t.Errorf("%s: %d changes, %d missed pushes, %d foreign rows, %d errors; want at least 3 changes and no missed push, foreign row or error",
				ph.mode, ph.changes, ph.missed, ph.foreign, ph.errors)
		}
		if ph.pushes != ph.changes*(200/50) {
			t.Errorf("%s: %d pushes for %d changes, want %d", ph.mode, ph.pushes, ph.changes, ph.changes*(200/50))
		}
	}
}

func TestMedianOf(t *testing.T) {
	ok := func(rps float64, p50 time.Duration, rss int64) measured {
		return measured{res: &result{RPS: rps, P50: p50, P99: 10 * p50, Requests: 100, RSSLoad: rss}}
	}
	failed := measured{err: "failed: connection refused"}

	m := medianOf([]measured{ok(300, 3*time.Millisecond, 10), ok(100, 1*time.Millisecond, 30), ok(200, 5*time.Millisecond, 20)})
	if !m.ok() || m.res.RPS != 200 || m.res.P50 != 3*time.Millisecond || m.res.P99 != 30*time.Millisecond {
		t.Fatalf("odd rounds: got %+v, want the median of each figure (200 req/s, p50 3ms, p99 30ms)", m.res)
	}
	if m.res.Requests != 300 || m.res.RSSLoad != 30 || m.res.Rounds != 3 {
		t.Fatalf("odd rounds: got %d requests, RSS %d, %d rounds; want 300, the highest 30, 3", m.res.Requests, m.res.RSSLoad, m.res.Rounds)
	}

	m = medianOf([]measured{ok(100, time.Millisecond, 1), failed, ok(300, 3*time.Millisecond, 1)})
	if !m.ok() || m.res.RPS != 200 || m.res.P50 != 2*time.Millisecond || m.res.Rounds != 2 {
		t.Fatalf("a failed round among good ones: got %+v, want the mean of the two middle figures of the 2 good rounds", m.res)
	}

	withCPU := ok(100, time.Millisecond, 1)
	withCPU.res.CPUPerReq = 120 * time.Microsecond
	m = medianOf([]measured{withCPU, ok(300, 3*time.Millisecond, 1)})
	if !m.ok() || m.res.CPUPerReq != 120*time.Microsecond {
		t.Fatalf("a round whose CPU was not read: got CPU %v, want the other round's 120µs, not a mean with 0", m.res.CPUPerReq)
	}

	m = medianOf([]measured{failed, failed})
	if m.ok() || m.err != failed.err {
		t.Fatalf("every round failed: got %+v, want the first failure", m)
	}
}
