package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReplicaReadThroughput measures read throughput of `rowguard serve`
// with 0, 1 and 2 replicas, in interleaved rounds, on this machine: the
// primary, the standbys, the servers and the clients share its cores, so
// it shows the cost of routing (and of the version check after each read),
// not the gain of more machines. Run with ROWGUARD_REPLICA_BENCH=1 (and
// -v); ROWGUARD_REPLICA_BENCH=rounds,seconds,clients changes the shape
// (default 3,3,8).
func TestReplicaReadThroughput(t *testing.T) {
	spec := os.Getenv("ROWGUARD_REPLICA_BENCH")
	if spec == "" {
		t.Skip("set ROWGUARD_REPLICA_BENCH=1 to measure read throughput with 0, 1 and 2 replicas")
	}
	rounds, secs, clients := 3, 3, 8
	if spec != "1" {
		if _, err := fmt.Sscanf(spec, "%d,%d,%d", &rounds, &secs, &clients); err != nil {
			t.Fatalf("ROWGUARD_REPLICA_BENCH=%q: want 1 or rounds,seconds,clients (e.g. 3,3,8): %v", spec, err)
		}
	}
	rs := newReplicaSet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	second, err := rs.primary.StartStandby(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Stop() })
	secondLogin := strings.Replace(rs.replicaLogin, fmt.Sprintf(":%d/", rs.standby.Port), fmt.Sprintf(":%d/", second.Port), 1)
	urls := []string{
		startServe(t, "--database-url", rs.login, "--role-prefix", rs.prefix),
		rs.serve(t),
		rs.serve(t, "--read-replica-url", secondLogin),
	}
	for _, u := range urls {
		tagCount(t, u) // warm: connections, plan cache
	}
	total := make([]float64, len(urls))
	for r := range rounds {
		for i, u := range urls {
			n, fails := readLoad(u, clients, time.Duration(secs)*time.Second)
			if fails > 0 {
				t.Fatalf("%d replicas: %d failed reads", i, fails)
			}
			rate := float64(n) / float64(secs)
			total[i] += rate
			t.Logf("round %d, %d replicas: %.0f reads/s", r+1, i, rate)
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("load average: %s", strings.TrimSpace(string(load)))
	for i := range urls {
		t.Logf("%d replicas: %.0f reads/s mean, %.2f× the primary alone", i, total[i]/float64(rounds), total[i]/total[0])
	}
}

// readLoad runs clients goroutines reading through url for d and returns
// the reads done and failed.
func readLoad(url string, clients int, d time.Duration) (reads, failures int64) {
	var n, f atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if _, err := countTags(url); err != nil {
					f.Add(1)
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return n.Load(), f.Load()
}
