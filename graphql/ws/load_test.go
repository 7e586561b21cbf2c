package ws_test

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/ws"
)

// TestSubscriptionLoad measures live queries at scale when
// ROWGUARD_SUBSCRIPTION_LOAD is set (e.g. "10000,1000,15s": subscriptions,
// identities, duration): every identity has one connection carrying its
// share of the subscriptions; once a second a row of a random identity
// changes, and the time from its commit to the push on that identity's
// connection is recorded. It logs p50/p99, the refetch rounds' cost and
// the process's RSS.
func TestSubscriptionLoad(t *testing.T) {
	spec := os.Getenv("ROWGUARD_SUBSCRIPTION_LOAD")
	if spec == "" {
		t.Skip("set ROWGUARD_SUBSCRIPTION_LOAD=subscriptions,identities,duration to run")
	}
	parts := strings.Split(spec, ",")
	subs, _ := strconv.Atoi(parts[0])
	ids, _ := strconv.Atoi(parts[1])
	dur, _ := time.ParseDuration(parts[2])
	f := newFixture(t, ws.Config{}, graphql.LiveConfig{RefetchInterval: time.Second})
	f.exec(t, "DELETE FROM note")
	f.exec(t, fmt.Sprintf("INSERT INTO note (id, owner, body) SELECT i, i, 'v0' FROM generate_series(1, %d) i", ids))

	var mu sync.Mutex
	seen := map[string]time.Time{} // "id/body" → first push
	for id := 1; id <= ids; id++ {
		c := dial(t, f.addr, "graphql-transport-ws")
		c.send(init_(map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": strconv.Itoa(id)}))
		c.expect("connection_ack", wait)
		for k := 0; k < subs/ids; k++ {
			c.send(start("graphql-transport-ws", strconv.Itoa(k), "subscription { note { id body } }"))
		}
		go func(id int, c *client) {
			for {
				e, err := c.read(time.Hour)
				if err != nil || e.closed {
					return
				}
				if e.msg["type"] != "next" {
					continue
				}
				var p struct {
					Data struct{ Note []struct{ Body string } }
				}
				json.Unmarshal([]byte(payload(e)), &p)
				if len(p.Data.Note) == 1 {
					key := fmt.Sprintf("%d/%s", id, p.Data.Note[0].Body)
					mu.Lock()
					if _, ok := seen[key]; !ok {
						seen[key] = time.Now()
					}
					mu.Unlock()
				}
			}
		}(id, c)
	}
	n, cohorts := f.gql.LiveCount()
	t.Logf("%d live queries in %d cohorts", n, cohorts)
	time.Sleep(3 * time.Second) // let the first results go out
	r0, t0 := f.gql.LiveRefetches(), time.Now()

	type change struct {
		key string
		at  time.Time
	}
	var changes []change
	for i := 1; time.Since(t0) < dur; i++ {
		id := (i*7919)%ids + 1
		body := "v" + strconv.Itoa(i)
		f.exec(t, fmt.Sprintf("UPDATE note SET body = '%s' WHERE id = %d", body, id))
		changes = append(changes, change{fmt.Sprintf("%d/%s", id, body), time.Now()})
		// About one a second, out of phase with the refetch interval so
		// commits land anywhere within it.
		time.Sleep(time.Second + 137*time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	refetches := f.gql.LiveRefetches() - r0
	round := f.gql.LiveLastRound()
	elapsed := time.Since(t0)
	var lat []time.Duration
	missed := 0
	mu.Lock()
	for _, c := range changes {
		if at, ok := seen[c.key]; ok {
			lat = append(lat, at.Sub(c.at))
		} else {
			missed++
		}
	}
	mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	status, _ := os.ReadFile("/proc/self/status")
	rss := ""
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmRSS") {
			rss = strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:"))
		}
	}
	t.Logf("%d changes, %d pushed, %d missed; commit→push p50 %s p99 %s; %.0f cohort refetches/s; one round of every cohort %s; test process RSS %s",
		len(changes), len(lat), missed, pct(0.5), pct(0.99), float64(refetches)/elapsed.Seconds(), round, rss)
	if missed > 0 {
		t.Errorf("%d changes never pushed", missed)
	}
}
