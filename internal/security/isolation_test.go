package security

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	isolationUsers   = 200
	isolationClients = 32
)

// isolationRequests is the number of requests of each load test.
func isolationRequests(t *testing.T) int {
	if v := os.Getenv("ROWGUARD_ISOLATION_REQUESTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("ROWGUARD_ISOLATION_REQUESTS=%q: want a positive number", v)
		}
		return n
	}
	if testing.Short() {
		return 20_000
	}
	return 100_000
}

// isolationQuery reads the caller's notes, its account, and the same
// through the relationship from account.
const isolationQuery = `{ note { owner_id } account { id notes { owner_id } } }`

type isolationAnswer struct {
	Note []struct {
		OwnerID int `json:"owner_id"`
	} `json:"note"`
	Account []struct {
		ID    int `json:"id"`
		Notes []struct {
			OwnerID int `json:"owner_id"`
		} `json:"notes"`
	} `json:"account"`
}

// isolationResult counts what a load run saw.
type isolationResult struct {
	requests, foreign, wrongCount, failed atomic.Int64
	firstProblem                          atomic.Pointer[string]
}

func (r *isolationResult) problem(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.firstProblem.CompareAndSwap(nil, &s)
}

// foreignRows checks one answer for user id: every row must be the user's,
// and all of the user's notesEach notes must be there (an empty answer
// would hide a missing setting).
func (r *isolationResult) check(id int, resp *gqlResponse) {
	if len(resp.Errors) > 0 {
		r.failed.Add(1)
		r.problem("user %d: error %s: %s", id, resp.Errors[0].Extensions.Code, resp.Errors[0].Message)
		return
	}
	var a isolationAnswer
	if err := json.Unmarshal(resp.Data, &a); err != nil {
		r.failed.Add(1)
		r.problem("user %d: %v", id, err)
		return
	}
	foreign := 0
	for _, n := range a.Note {
		if n.OwnerID != id {
			foreign++
		}
	}
	nested := 0
	for _, acc := range a.Account {
		if acc.ID != id {
			foreign++
		}
		for _, n := range acc.Notes {
			nested++
			if n.OwnerID != id {
				foreign++
			}
		}
	}
	if foreign > 0 {
		r.foreign.Add(int64(foreign))
		r.problem("user %d saw %d foreign rows: %s", id, foreign, resp.Data)
	}
	if len(a.Note) != notesEach || len(a.Account) != 1 || nested != notesEach {
		r.wrongCount.Add(1)
		r.problem("user %d: %d notes, %d accounts, %d nested notes, want %d, 1, %d", id, len(a.Note), len(a.Account), nested, notesEach, notesEach)
	}
}

// runIsolation sends total requests from isolationClients concurrent
// clients, each request as one of users 2..isolationUsers+1 (user 1 owns
// more notes than the row limit), until total or the deadline.
func runIsolation(t *testing.T, s *suite, total int, deadline time.Duration) *isolationResult {
	t.Helper()
	tokens := make([]string, isolationUsers+2)
	for id := 2; id < len(tokens); id++ {
		tokens[id] = bearer(token(t, id))
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	res := &isolationResult{}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range isolationClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n := next.Add(1)
				if n > int64(total) {
					return
				}
				// Consecutive requests go to different users, so the
				// pool's 4 connections serve every user in turn.
				id := 2 + int(n*7919%isolationUsers)
				resp, err := s.post(ctx, isolationQuery, tokens[id])
				if err != nil {
					if ctx.Err() == nil {
						res.failed.Add(1)
						res.problem("user %d: %v", id, err)
					}
					continue
				}
				res.requests.Add(1)
				res.check(id, resp)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	t.Logf("%d requests (%d users, %d clients, pool of %d) in %v (%.0f/s): %d foreign rows, %d wrong counts, %d failed",
		res.requests.Load(), isolationUsers, isolationClients, s.pool.Config().MaxConns, el.Round(time.Millisecond),
		float64(res.requests.Load())/el.Seconds(), res.foreign.Load(), res.wrongCount.Load(), res.failed.Load())
	return res
}

func (r *isolationResult) verify(t *testing.T, total int) {
	t.Helper()
	if p := r.firstProblem.Load(); p != nil {
		t.Errorf("first problem: %s", *p)
	}
	if n := r.foreign.Load(); n != 0 {
		t.Errorf("%d foreign rows returned", n)
	}
	if n := r.wrongCount.Load() + r.failed.Load(); n != 0 {
		t.Errorf("%d requests failed or returned the wrong rows", n)
	}
	if n := r.requests.Load(); n < int64(total) {
		t.Errorf("only %d of %d requests completed before the deadline", n, total)
	}
}

// TestIdentityIsolationUnderLoad: many users over few connections, and no
// response ever holds another user's row.
func TestIdentityIsolationUnderLoad(t *testing.T) {
	s := newSuite(t, isolationUsers+2, nil)
	total := isolationRequests(t)
	res := runIsolation(t, s, total, 5*time.Minute)
	res.verify(t, total)
	checkClean(t, s.pool, "postgres")
}

// TestIdentityIsolationThroughPgBouncer: the same through a private
// PgBouncer in transaction mode, where consecutive transactions of one
// client connection run on different server connections.
func TestIdentityIsolationThroughPgBouncer(t *testing.T) {
	bouncer := startPgBouncer(t)
	s := newSuite(t, isolationUsers+2, bouncer.url)
	total := isolationRequests(t)
	res := runIsolation(t, s, total, 5*time.Minute)
	res.verify(t, total)
	bouncer.checkServerConnsClean(t)
}
