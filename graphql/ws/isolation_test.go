package ws_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/ws"
)

// TestIsolation subscribes many users to the same query, whose policy
// reads X-Hasura-User-Id, and checks that every push carries only the
// subscriber's own rows: after rows are added for everyone and right
// after every row changes owner. Users of the same id share one cohort,
// and a role whose policy reads no setting serves every user from one.
func TestIsolation(t *testing.T) {
	users := 1000
	if testing.Short() {
		users = 100
	}
	isolation(t, newFixture(t, ws.Config{}, graphql.LiveConfig{RefetchInterval: 100 * time.Millisecond}), users)
}

// TestIsolationPgBouncer runs the isolation test with the server behind
// PgBouncer in transaction mode, where consecutive transactions of one
// client connection land on different server connections: the settings
// of one cohort must never reach another's statement.
func TestIsolationPgBouncer(t *testing.T) {
	users := 300
	if testing.Short() {
		users = 50
	}
	isolation(t, newFixtureVia(t, viaPgBouncer, ws.Config{}, graphql.LiveConfig{RefetchInterval: 100 * time.Millisecond, BatchSize: 25}), users)
}

func isolation(t *testing.T, f *fixture, users int) {
	f.exec(t, "DELETE FROM note")

	type state struct {
		mu   sync.Mutex
		last map[int]string // id → body of the last push
	}
	var foreign, pushes atomic.Int64
	var firstErr atomic.Value
	states := make([]*state, users+1)
	var wg sync.WaitGroup
	subscribe := func(id int, role string) *client {
		proto := protocols[id%2]
		c := dial(t, f.addr, proto.offer...)
		c.send(init_(map[string]string{"X-Hasura-Role": role, "X-Hasura-User-Id": strconv.Itoa(id)}))
		c.expect("connection_ack", wait)
		c.send(start(proto.want, "s", "subscription { note { id owner body } }"))
		return c
	}
	for id := 1; id <= users; id++ {
		st := &state{last: map[int]string{}}
		states[id] = st
		c := subscribe(id, "user")
		wg.Add(1)
		go func(id int, c *client) {
			defer wg.Done()
			for {
				e, err := c.read(time.Minute)
				if err != nil || e.closed {
					return
				}
				if e.msg["type"] != "data" && e.msg["type"] != "next" {
					continue
				}
				var p struct {
					Data struct {
						Note []struct {
							ID    int    `json:"id"`
							Owner int    `json:"owner"`
							Body  string `json:"body"`
						} `json:"note"`
					} `json:"data"`
				}
				if err := json.Unmarshal([]byte(payload(e)), &p); err != nil {
					firstErr.CompareAndSwap(nil, fmt.Sprintf("user %d: %s", id, e.raw))
					continue
				}
				pushes.Add(1)
				m := map[int]string{}
				for _, n := range p.Data.Note {
					if n.Owner != id {
						foreign.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprintf("user %d received a row of user %d: %s", id, n.Owner, e.raw))
					}
					m[n.ID] = n.Body
				}
				st.mu.Lock()
				st.last = m
				st.mu.Unlock()
			}
		}(id, c)
		t.Cleanup(func() { c.nc.Close() })
	}
	// Same user id, same cohort: ten more subscribers of user 1.
	for i := 0; i < 10; i++ {
		subscribe(1, "user")
	}
	// A role whose policy reads no setting: one cohort for all.
	for id := 1; id <= 20; id++ {
		subscribe(id, "reader")
	}
	waitFor := func(what string, ok func(id int, last map[int]string) bool) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			missing := 0
			for id := 1; id <= users; id++ {
				states[id].mu.Lock()
				if !ok(id, states[id].last) {
					missing++
				}
				states[id].mu.Unlock()
			}
			if missing == 0 {
				return
			}
			if n := foreign.Load(); n > 0 {
				t.Fatalf("%s: %d foreign rows received; first: %v", what, n, firstErr.Load())
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d of %d users still wait", what, missing, users)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	f.exec(t, fmt.Sprintf("INSERT INTO note (owner, body) SELECT i, 'note of ' || i FROM generate_series(1, %d) i", users))
	waitFor("own row added", func(id int, last map[int]string) bool {
		return len(last) == 1 && anyValue(last) == "note of "+strconv.Itoa(id)
	})
	subs, cohorts := f.gql.LiveCount()
	if want := users + 10 + 20; subs != want {
		t.Errorf("%d live queries, want %d", subs, want)
	}
	if want := users + 1; cohorts != want {
		t.Errorf("%d cohorts, want %d (one per user id, one for role reader)", cohorts, want)
	}
	// Every row moves to the next user: each must see the previous
	// user's note, and never again its own.
	f.exec(t, fmt.Sprintf("UPDATE note SET owner = owner %% %d + 1", users))
	waitFor("row moved", func(id int, last map[int]string) bool {
		prev := id - 1
		if prev == 0 {
			prev = users
		}
		return len(last) == 1 && anyValue(last) == "note of "+strconv.Itoa(prev)
	})
	if n := foreign.Load(); n != 0 {
		t.Errorf("%d foreign rows received; first: %v", n, firstErr.Load())
	} else if e := firstErr.Load(); e != nil {
		t.Errorf("%v", e)
	}
	t.Logf("%d users, %d pushes, %d foreign rows", users, pushes.Load(), foreign.Load())
}

func anyValue(m map[int]string) string {
	for _, v := range m {
		return v
	}
	return ""
}
