package graphql_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/internal/procstat"
)

// sortStatement allocates and frees a few hundred KiB at the top of a
// backend's heap: with glibc's first trim threshold, every run gives the
// memory back to the operating system and faults it in again.
const sortStatement = "SELECT count(*) FROM (SELECT g FROM generate_series(1, 5000) g ORDER BY g DESC) s"

// TestPoolHeapWarmup: a backend of ConfigurePool's pool runs the sort
// without page faults, where a plain connection's backend faults on every
// run. It reads the backends' minor faults from /proc, so it needs the
// PostgreSQL server on this machine, and glibc's behaviour to show on the
// plain connection (else there is nothing to compare, and it skips).
func TestPoolHeapWarmup(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)

	plain := pgtest.Connect(t, url)
	plainFaults := faultsPerRun(t, plain)

	pool, err := graphql.NewPool(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	pooledFaults := faultsPerRun(t, conn.Conn())

	t.Logf("minor page faults per sort: plain connection %.1f, pool connection %.1f", plainFaults, pooledFaults)
	if plainFaults < 5 {
		t.Skipf("the plain connection's backend faults %.1f times per sort: this PostgreSQL keeps its heap, nothing to compare", plainFaults)
	}
	if pooledFaults >= 1 {
		t.Errorf("the pool's backend faults %.1f times per sort (a plain connection: %.1f): the first statement of ConfigurePool did not raise malloc's trim threshold", pooledFaults, plainFaults)
	}
}

// faultsPerRun runs sortStatement on conn and returns its backend's minor
// page faults per run, after a first run that loads the caches.
func faultsPerRun(t *testing.T, conn *pgx.Conn) float64 {
	t.Helper()
	ctx := context.Background()
	var pid int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, sortStatement); err != nil {
		t.Fatal(err)
	}
	before := minorFaults(t, pid)
	const runs = 200
	for i := 0; i < runs; i++ {
		if _, err := conn.Exec(ctx, sortStatement); err != nil {
			t.Fatal(err)
		}
	}
	return float64(minorFaults(t, pid)-before) / runs
}

// minorFaults reads field 10 (minflt) of /proc/<pid>/stat, skipping the
// test when the backend is not a postgres process of this machine.
func minorFaults(t *testing.T, pid int) int64 {
	t.Helper()
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || !strings.HasPrefix(string(comm), "postgres") {
		t.Skipf("backend %d is not a process of this machine (%v): the test reads its page faults from /proc", pid, err)
	}
	st, err := procstat.Read(pid)
	if err != nil {
		t.Skipf("read the backend's /proc stat: %v", err)
	}
	n, err := st.Int(10) // minflt
	if err != nil {
		t.Fatal(err)
	}
	return n
}
