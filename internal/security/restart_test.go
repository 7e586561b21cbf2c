package security

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/internal/pgcluster"
	"github.com/rowguard/rowguard/internal/pgtest"
)

// TestPostgresRestartUnderLoad restarts a private PostgreSQL twice while
// clients keep querying: requests during the outage fail with a GraphQL
// error (never a broken HTTP exchange, never another user's rows), and the
// server serves again by itself once PostgreSQL is back.
func TestPostgresRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster of its own")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cluster, err := pgcluster.Start(ctx)
	if err != nil {
		t.Fatalf("start a private cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Logf("stop the private cluster: %v", err)
		}
	})
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
	// The roles live and die with the private cluster.
	s := install(t, ctx, cluster.URL("app"), conn, users+2, pgtest.UniqueName("s")+"_")
	// The cluster runs with synchronous_commit off, and Restart stops it
	// in immediate mode: without a checkpoint the install's last commits
	// can be lost in the restart, and the roles with them.
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	s.serve(t, cluster.URL("app"), nil)

	tokens := make([]string, users+2)
	for id := 2; id < len(tokens); id++ {
		tokens[id] = bearer(token(t, id))
	}
	var (
		res                      isolationResult
		okBefore, okAfter        atomic.Int64
		cleanErrors, transportKO atomic.Int64
		restarted                atomic.Bool
		firstTransport           atomic.Pointer[string]
	)
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var n atomic.Int64
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for loadCtx.Err() == nil {
				id := 2 + int(n.Add(1)*7919%users)
				resp, err := s.post(loadCtx, isolationQuery, tokens[id])
				switch {
				case loadCtx.Err() != nil:
					return
				case err != nil:
					transportKO.Add(1)
					msg := err.Error()
					firstTransport.CompareAndSwap(nil, &msg)
				case len(resp.Errors) > 0:
					if resp.Data != nil {
						res.problem("an error answer carried data: %s", resp.Data)
						res.foreign.Add(1)
					}
					cleanErrors.Add(1)
				default:
					res.requests.Add(1)
					res.check(id, resp)
					if restarted.Load() {
						okAfter.Add(1)
					} else {
						okBefore.Add(1)
					}
				}
			}
		}()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				stopLoad()
				wg.Wait()
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	const restarts = 2
	for i := range restarts {
		base := res.requests.Load()
		waitFor("requests to succeed", func() bool { return res.requests.Load() > base+500 })
		if err := cluster.Restart(ctx); err != nil {
			stopLoad()
			wg.Wait()
			t.Fatalf("restart %d: %v", i+1, err)
		}
		restarted.Store(true)
	}
	// The server reconnects by itself: requests succeed again.
	after := okAfter.Load()
	waitFor("requests to succeed after the restarts", func() bool { return okAfter.Load() > after+1000 })
	stopLoad()
	wg.Wait()

	t.Logf("%d restarts under load: %d good answers before, %d after, %d clean errors, %d broken HTTP exchanges, %d foreign rows",
		restarts, okBefore.Load(), okAfter.Load(), cleanErrors.Load(), transportKO.Load(), res.foreign.Load())
	if p := res.firstProblem.Load(); p != nil {
		t.Errorf("first problem: %s", *p)
	}
	if res.foreign.Load() != 0 || res.wrongCount.Load() != 0 {
		t.Errorf("%d foreign rows, %d answers with the wrong rows", res.foreign.Load(), res.wrongCount.Load())
	}
	if n := transportKO.Load(); n != 0 {
		t.Errorf("%d requests got no GraphQL answer, first: %s", n, *firstTransport.Load())
	}
	if cleanErrors.Load() == 0 {
		t.Error("no request failed during the restarts: the fault was not observed")
	}
}
