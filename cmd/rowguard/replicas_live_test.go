package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/replicas"
	"github.com/rowguard/rowguard/migrations"
)

// adminAuth makes every request admin (the live test calls the server's
// Go API, not HTTP).
type adminAuth struct{}

func (adminAuth) Authenticate(context.Context, *http.Request) (*auth.Session, error) {
	return &auth.Session{Role: auth.AdminRole, IsAdmin: true, Vars: map[string]string{auth.VarRole: auth.AdminRole}}, nil
}

// TestReplicaLiveQuery: live-query rounds run on the replica; when the
// replica has not replayed a change the primary's counters showed (replay
// paused), the round runs on the primary, so the subscriber gets the new
// result instead of keeping a stale one.
func TestReplicaLiveQuery(t *testing.T) {
	rs := newReplicaSet(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, rs.login)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	router, err := replicas.New(ctx, replicas.Config{URLs: []string{rs.replicaLogin}, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer router.Close()
	prog, err := migrations.LoadProgram(ctx, pool, "", compiler.Options{RolePrefix: rs.prefix})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := graphql.NewServer(ctx, graphql.Config{
		Pool: pool, Program: prog, Auth: adminAuth{}, Log: quiet, Replicas: router,
		Live: graphql.LiveConfig{RefetchInterval: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	sess, _ := adminAuth{}.Authenticate(ctx, nil)
	p, body := srv.Prepare(sess, &graphql.Request{Query: `subscription { tag_aggregate { aggregate { count } } }`})
	if p == nil {
		t.Fatalf("prepare: %s", body)
	}
	counts := make(chan int, 100)
	stop, err := srv.Subscribe(p, func(b []byte) {
		var out struct {
			Data struct {
				TagAggregate struct{ Aggregate struct{ Count int } } `json:"tag_aggregate"`
			}
		}
		if json.Unmarshal(b, &out) != nil {
			counts <- -1
			return
		}
		counts <- out.Data.TagAggregate.Aggregate.Count
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	next := func(what string) int {
		t.Helper()
		select {
		case n := <-counts:
			return n
		case <-time.After(10 * time.Second):
			t.Fatalf("no push within 10s: %s", what)
			return 0
		}
	}
	first := next("the first result")

	// A change replayed on the replica: the round runs there.
	standby, err := pgx.Connect(ctx, rs.standby.URL(replicaDB))
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Close(ctx)
	var t0 time.Time
	if err := standby.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&t0); err != nil {
		t.Fatal(err)
	}
	primary, err := pgx.Connect(ctx, rs.superuser)
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(ctx)
	// The test cluster commits asynchronously (its WAL is written up to
	// wal_writer_delay later, and only written WAL is streamed): this
	// writer commits as PostgreSQL does by default, so its change can
	// reach the replica within the round's fence.
	if _, err := primary.Exec(ctx, "SET synchronous_commit = on"); err != nil {
		t.Fatal(err)
	}
	// A loaded machine may replay slower than the fence waits (100 ms):
	// up to 5 writes, one of whose rounds must run on the replica.
	want := first
	for try := 0; ; try++ {
		if _, err := primary.Exec(ctx, "INSERT INTO tag (name) VALUES ($1)", fmt.Sprintf("live-%d", try)); err != nil {
			t.Fatal(err)
		}
		want++
		if got := next("after a write"); got != want {
			t.Fatalf("pushed %d after a write, want %d", got, want)
		}
		var n int
		if err := standby.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'rg_replica' AND query LIKE '/* rowguard: policy version after a read */%' AND query_start >= $1`, t0).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if try == 4 {
			t.Fatal("no live round ran on the replica after 5 writes")
		}
	}

	// Replay paused: the fence sends the round to the primary.
	rs.pause(t)
	defer rs.resume(t)
	if _, err := primary.Exec(ctx, "INSERT INTO tag (name) VALUES ('live-paused')"); err != nil {
		t.Fatal(err)
	}
	if got := next("after a write the paused replica lacks"); got != want+1 {
		t.Fatalf("pushed %d after a write the replica lacks, want the primary's %d", got, want+1)
	}
}
