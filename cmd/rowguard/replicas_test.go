package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgcluster"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

// replicaSet is a private primary with examples/blog installed by
// `migrate up`, a hot standby of it, and the server login's URLs of both.
type replicaSet struct {
	primary, standby          *pgcluster.Cluster
	superuser                 string // the blog database on the primary
	login, replicaLogin       string
	prefix, definer, loginRol string
}

const replicaDB = "blog"

// newReplicaSet starts its own primary: a standby is copied from a whole
// cluster, which a shared DATABASE_URL server cannot give. It skips only
// when DATABASE_URL is set and no private cluster starts here; otherwise
// a cluster that does not start fails the test.
func newReplicaSet(t *testing.T) *replicaSet {
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
	rs := &replicaSet{primary: primary, prefix: "rg_", definer: "rg_definer", loginRol: "rg_server"}
	if rs.superuser, _, err = freshDatabase(ctx, primary.URL("postgres"), replicaDB); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, rs.superuser)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE ROLE "+compiler.QuoteIdent(rs.loginRol)+" LOGIN NOINHERIT PASSWORD 'pw'"); err != nil {
		t.Fatal(err)
	}
	rs.migrateUp(t, "../../examples/blog/metadata")
	if rs.standby, err = primary.StartStandby(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.standby.Stop() })
	loginURL := func(c *pgcluster.Cluster, app string) string {
		return fmt.Sprintf("postgres://%s:pw@127.0.0.1:%d/%s?sslmode=disable&application_name=%s", rs.loginRol, c.Port, replicaDB, app)
	}
	rs.login, rs.replicaLogin = loginURL(primary, "rg_primary"), loginURL(rs.standby, "rg_replica")
	return rs
}

func (rs *replicaSet) migrateUp(t *testing.T, metadata string) {
	t.Helper()
	if err := migrations.Up(context.Background(), migrations.Config{
		DatabaseURL: rs.superuser,
		Migrations:  "../../examples/blog/migrations",
		Metadata:    metadata,
		Compile:     compiler.Options{RolePrefix: rs.prefix},
		RLS:         rls.Options{DefinerRole: rs.definer, LoginRole: rs.loginRol},
	}); err != nil {
		t.Fatal(err)
	}
}

// serve starts `rowguard serve` over the primary and the standby.
func (rs *replicaSet) serve(t *testing.T, args ...string) string {
	t.Helper()
	return startServe(t, append([]string{"--database-url", rs.login, "--role-prefix", rs.prefix, "--read-replica-url", rs.replicaLogin}, args...)...)
}

func (rs *replicaSet) replicated(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rs.standby.WaitReplayed(ctx, rs.primary); err != nil {
		t.Fatal(err)
	}
}

func (rs *replicaSet) pause(t *testing.T) {
	t.Helper()
	if err := rs.standby.PauseReplay(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (rs *replicaSet) resume(t *testing.T) {
	t.Helper()
	if err := rs.standby.ResumeReplay(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// tagCount asks the server how many tags there are (admin: every row).
func tagCount(t *testing.T, url string) int {
	t.Helper()
	n, err := countTags(url)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// countTags is tagCount for goroutines: it returns what went wrong.
func countTags(url string) (int, error) {
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"query":"{ tag_aggregate { aggregate { count } } }"}`))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			TagAggregate struct {
				Aggregate struct{ Count int }
			} `json:"tag_aggregate"`
		}
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	if len(out.Errors) > 0 {
		return 0, fmt.Errorf("errors: %v", out.Errors)
	}
	return out.Data.TagAggregate.Aggregate.Count, nil
}

// addTag inserts a tag through the server's mutation: it can only succeed
// on the primary (a standby refuses writes).
func addTag(t *testing.T, url, name string) {
	t.Helper()
	out := post(t, url, fmt.Sprintf(`mutation { insert_tag_one(object: {name: %q}) { id } }`, name))
	if _, ok := out["errors"]; ok {
		t.Fatalf("insert tag %s: %v", name, out)
	}
}

// countOn counts the tags on c directly.
func countOn(t *testing.T, c *pgcluster.Cluster) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL(replicaDB))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM tag").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// servesReads reports whether a query sent to url now runs on the
// standby: the server's replica connections carry application_name
// rg_replica, and a read's batch on a replica ends with the read of its
// policy version (the health checks' queries are others), so a standby
// backend of the server whose last statement is that one and began after
// the query was sent ran it.
func (rs *replicaSet) servesReads(t *testing.T, url string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, rs.standby.URL(replicaDB))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var t0 time.Time
	if err := conn.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&t0); err != nil {
		t.Fatal(err)
	}
	tagCount(t, url)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'rg_replica' AND query LIKE '/* rowguard: policy version after a read */%' AND query_start >= $1`, t0).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// eventually polls cond every 50 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReplicaRouting: with replay paused, a mutation succeeds (the primary
// ran it) and queries still see the replica's older rows (the replica ran
// them); after replay resumes, queries see the new row.
func TestReplicaRouting(t *testing.T) {
	rs := newReplicaSet(t)
	url := rs.serve(t)
	if !rs.servesReads(t, url) {
		t.Fatal("a query did not run on the standby")
	}
	before := tagCount(t, url)
	rs.pause(t)
	addTag(t, url, "replica-routing")
	for range 20 {
		if got := tagCount(t, url); got != before {
			t.Fatalf("a query saw %d tags while the replica (paused) has %d: it did not run on the replica", got, before)
		}
	}
	rs.resume(t)
	rs.replicated(t)
	if got := tagCount(t, url); got != before+1 {
		t.Fatalf("after replay, %d tags, want %d", got, before+1)
	}
}

// TestReplicaLagBound: a paused replica whose lag passes --max-replica-lag
// leaves the rotation, and queries see the primary's rows; once replay
// resumes it comes back.
func TestReplicaLagBound(t *testing.T) {
	rs := newReplicaSet(t)
	url := rs.serve(t, "--max-replica-lag", "300ms")
	before := tagCount(t, url)
	rs.pause(t)
	addTag(t, url, "lag-bound")
	// Within the bound the replica still answers (before); past it, the
	// primary (before+1).
	eventually(t, 15*time.Second, "queries move to the primary once the lag passes 300ms", func() bool { return tagCount(t, url) == before+1 })
	// The replica really is behind still: the answers came from the primary.
	if lag, err := rs.standby.ReplayLag(context.Background()); err != nil || lag < 300*time.Millisecond {
		t.Fatalf("standby lag %v (%v), want paused past 300ms", lag, err)
	}
	if n := countOn(t, rs.standby); n != before {
		t.Fatalf("the paused standby has %d tags, want %d", n, before)
	}
	for range 10 {
		if got := tagCount(t, url); got != before+1 {
			t.Fatalf("a query saw %d tags while the replica is out of rotation: want the primary's %d", got, before+1)
		}
	}
	rs.resume(t)
	rs.replicated(t)
	eventually(t, 10*time.Second, "the caught-up replica serves again", func() bool { return rs.servesReads(t, url) })
}

// TestReplicaPolicyVersion: `migrate up` installs policy version 2 while
// the replica's replay is paused at 1; a server built from version 2 reads
// only from the primary until the replica has replayed version 2.
func TestReplicaPolicyVersion(t *testing.T) {
	rs := newReplicaSet(t)
	rs.replicated(t)
	rs.pause(t)
	defer rs.resume(t)
	rs.migrateUp(t, changedBlogMetadata(t))
	var v1, v2 int64
	ctx := context.Background()
	replica, err := pgx.Connect(ctx, rs.standby.URL(replicaDB))
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close(ctx)
	if err := replica.QueryRow(ctx, "SELECT max(version) FROM rowguard.policy_migrations").Scan(&v1); err != nil {
		t.Fatal(err)
	}
	primary, err := pgx.Connect(ctx, rs.superuser)
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(ctx)
	if err := primary.QueryRow(ctx, "SELECT max(version) FROM rowguard.policy_migrations").Scan(&v2); err != nil {
		t.Fatal(err)
	}
	if v1 == v2 {
		t.Fatalf("migrate up did not install a new policy version (%d)", v2)
	}

	url := rs.serve(t) // built from version v2, no lag bound
	before := tagCount(t, url)
	addTag(t, url, "policy-version")
	for range 20 {
		if got := tagCount(t, url); got != before+1 {
			t.Fatalf("a query saw %d tags: it ran on the replica at policy version %d, the server serves %d", got, v1, v2)
		}
	}
	// Caught up: the replica is at v2, and reads go to it again.
	rs.resume(t)
	rs.replicated(t)
	eventually(t, 10*time.Second, "the replica at the served version serves again", func() bool { return rs.servesReads(t, url) })
}

// TestReplicaPolicyVersionPerRequest: the replica replays a new policy
// version between two health checks; a read that runs there is run again
// on the primary (the server still serves the old version), so it never
// answers from a replica at another version. Replay is paused again right
// after, and a row written on the primary tells where the read ran.
func TestReplicaPolicyVersionPerRequest(t *testing.T) {
	rs := newReplicaSet(t)
	url := rs.serve(t) // version 1, as the replica
	eventually(t, 10*time.Second, "the replica serves", func() bool { return rs.servesReads(t, url) })
	before := tagCount(t, url)
	for round := range 5 {
		rs.pause(t)
		rs.migrateUp(t, changedBlogMetadataN(t, round))
		rs.resume(t)
		rs.replicated(t)
		rs.pause(t)
		addTag(t, url, fmt.Sprintf("per-request-%d", round))
		before++
		// Right away, before the next health check (1 s) could see the new
		// version: the replica lacks the row, the primary has it.
		if got := tagCount(t, url); got != before {
			t.Fatalf("round %d: a query saw %d tags, the primary has %d: it ran on a replica at another policy version", round, got, before)
		}
		rs.resume(t)
	}
}

// changedBlogMetadataN is changedBlogMetadata with a permission that
// differs for each n, so each migrate up installs a new version.
func changedBlogMetadataN(t *testing.T, n int) string {
	t.Helper()
	dir := changedBlogMetadata(t)
	p := filepath.Join(dir, "databases/default/tables/public_tag.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if n%2 == 1 {
		b = []byte(strings.Replace(string(b), "columns: [id]", "columns: [name]", 1))
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// changedBlogMetadata copies examples/blog/metadata with one permission
// changed (anonymous reads tag ids only), so migrate up installs a new
// policy version.
func changedBlogMetadata(t *testing.T) string {
	t.Helper()
	src := "../../examples/blog/metadata"
	dst := filepath.Join(t.TempDir(), "metadata")
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if filepath.Base(p) == "public_tag.yaml" {
			s := strings.Replace(string(b), "columns: [id, name]", "columns: [id]", 1)
			if s == string(b) {
				return fmt.Errorf("%s: the permission to change is not there any more", p)
			}
			b = []byte(s)
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestReplicaKilledUnderLoad: the standby is killed while clients read;
// every read gets its answer (retried on the primary, then routed there).
func TestReplicaKilledUnderLoad(t *testing.T) {
	rs := newReplicaSet(t)
	url := rs.serve(t)
	if !rs.servesReads(t, url) {
		t.Fatal("before the kill, a query did not run on the standby")
	}
	want := tagCount(t, url)
	var reads, failures atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := countTags(url)
				reads.Add(1)
				if err != nil || got != want {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("count %d, error %v", got, err))
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // load before the kill
	atKill := reads.Load()
	if err := rs.standby.Kill(); err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // load after it
	close(stop)
	wg.Wait()
	t.Logf("%d reads (%d before the kill), %d failed", reads.Load(), atKill, failures.Load())
	if failures.Load() != 0 {
		t.Fatalf("%d of %d reads failed; first: %v", failures.Load(), reads.Load(), firstFailure.Load())
	}
	if atKill == 0 || reads.Load() == atKill {
		t.Fatalf("no load on one side of the kill: %d reads before, %d in all", atKill, reads.Load())
	}
}
