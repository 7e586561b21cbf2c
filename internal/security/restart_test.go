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

	var okBefore, okAfter, restarted atomic.Int64
	load := startRestartLoad(t, ctx, s, users, 16, func() {
		if restarted.Load() != 0 {
			okAfter.Add(1)
		} else {
			okBefore.Add(1)
		}
	})
	res := &load.res
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				load.stop()
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
			load.stop()
			t.Fatalf("restart %d: %v", i+1, err)
		}
		restarted.Store(1)
	}
	// The server reconnects by itself: requests succeed again.
	after := okAfter.Load()
	waitFor("requests to succeed after the restarts", func() bool { return okAfter.Load() > after+1000 })
	load.stop()

	t.Logf("%d restarts under load: %d good answers before, %d after, %d clean errors, %d broken HTTP exchanges, %d foreign rows",
		restarts, okBefore.Load(), okAfter.Load(), load.clean.Load(), load.transport.Load(), res.foreign.Load())
	if p := res.firstProblem.Load(); p != nil {
		t.Errorf("first problem: %s", *p)
	}
	if res.foreign.Load() != 0 || res.wrongCount.Load() != 0 {
		t.Errorf("%d foreign rows, %d answers with the wrong rows", res.foreign.Load(), res.wrongCount.Load())
	}
	if n := load.transport.Load(); n != 0 {
		t.Errorf("%d requests got no GraphQL answer, first: %s", n, *load.firstTransport.Load())
	}
	if load.clean.Load() == 0 {
		t.Error("no request failed during the restarts: the fault was not observed")
	}
}

// restartLoad is the load of the restart and soak tests: clients
// posting isolationQuery with the tokens of users 2 … users+1 until
// stopped, counting good answers (in res, each checked for foreign rows),
// clean GraphQL errors and broken HTTP exchanges.
type restartLoad struct {
	res              isolationResult
	clean, transport atomic.Int64
	firstTransport   atomic.Pointer[string]
	cancel           context.CancelFunc
	wg               sync.WaitGroup
}

// startRestartLoad starts clients clients against s; ok, when set, is
// called after each good answer.
func startRestartLoad(t *testing.T, ctx context.Context, s *suite, users, clients int, ok func()) *restartLoad {
	tokens := make([]string, users+2)
	for id := 2; id < len(tokens); id++ {
		tokens[id] = bearer(token(t, id))
	}
	l := &restartLoad{}
	loadCtx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	var n atomic.Int64
	for range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for loadCtx.Err() == nil {
				id := 2 + int(n.Add(1)*7919%int64(users))
				resp, err := s.post(loadCtx, isolationQuery, tokens[id])
				switch {
				case loadCtx.Err() != nil:
					return
				case err != nil:
					l.transport.Add(1)
					msg := err.Error()
					l.firstTransport.CompareAndSwap(nil, &msg)
				case len(resp.Errors) > 0:
					if resp.Data != nil {
						l.res.problem("an error answer carried data: %s", resp.Data)
						l.res.foreign.Add(1)
					}
					l.clean.Add(1)
				default:
					l.res.requests.Add(1)
					l.res.check(id, resp)
					if ok != nil {
						ok()
					}
				}
			}
		}()
	}
	return l
}

// stop stops the clients and waits for them.
func (l *restartLoad) stop() {
	l.cancel()
	l.wg.Wait()
}
