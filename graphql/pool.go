package graphql

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Delays of a cancelled request's statement (see keepConnectionsOnCancel).
const (
	// cancelRequestDelay: a statement still running this long after its
	// request was cancelled gets a PostgreSQL cancel request; one that
	// ends sooner is left to end.
	cancelRequestDelay = 100 * time.Millisecond
	// cancelDeadline: a connection whose statement has not ended this
	// long after the cancellation (the server does not answer) is
	// broken off, as pgx does at once by default.
	cancelDeadline = 10 * time.Second
)

// keepConnectionsOnCancel makes a cancelled context (a client gone
// mid-request, a deadline) stop the statement with a PostgreSQL cancel
// request instead of breaking the connection, pgx's default. A broken
// connection is replaced by a new backend, whose first requests pay for
// cold catalog, plan and PL/pgSQL caches (the claims function, the
// policies' helpers) and for preparing every statement again: under a
// load generator that drops its connections at the end of each run, that
// showed as a server slowing down over minutes.
func keepConnectionsOnCancel(c *pgxpool.Config) {
	c.ConnConfig.BuildContextWatcherHandler = func(pg *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pg, CancelRequestDelay: cancelRequestDelay, DeadlineDelay: cancelDeadline}
	}
}

// HeapWarmup runs once on each new connection (and on each client of the
// benchmark's pgbench baseline, so both start alike). glibc's malloc gives
// the top of its heap back to the operating system whenever more than its
// trim threshold (128 KiB until raised) is free there, and takes it back on
// the next allocation. A backend whose statement allocates and frees a few
// hundred KiB at the top of its heap (a sort, a bitmap scan's page table,
// the executor's blocks) then pays, in every transaction, for brk calls,
// page faults and, in a virtual machine, TLB shootdowns between CPUs:
// measured at 70 µs of a 380-µs request, and at half the throughput of a
// statement sorting 5,000 integers. Whether a backend falls into this
// depends on its heap's layout, so it came and went with plan
// invalidations, in one server and not another. glibc raises the trim
// threshold by itself, to twice the size of a freed chunk it had mapped
// separately (one over 128 KiB); this statement allocates and frees one of
// 1 MiB, so every backend starts with the threshold a large statement
// would have left: at most 2 MiB of free heap is kept. Elsewhere than glibc
// it costs one statement per connection and does nothing.
const HeapWarmup = "SELECT pg_catalog.length(pg_catalog.repeat('x', 1048576))"

// ConfigurePool sets what every pool of rowguard serve needs:
// keepConnectionsOnCancel, and HeapWarmup on each new connection (after any
// AfterConnect c already has).
func ConfigurePool(c *pgxpool.Config) {
	keepConnectionsOnCancel(c)
	after := c.AfterConnect
	c.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		if after != nil {
			if err := after(ctx, conn); err != nil {
				return err
			}
		}
		if _, err := conn.PgConn().Exec(ctx, HeapWarmup).ReadAll(); err != nil {
			return fmt.Errorf("first statement on a new connection: %w", err)
		}
		return nil
	}
}

// NewPool connects a pool to url with ConfigurePool.
func NewPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	c, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	ConfigurePool(c)
	return pgxpool.NewWithConfig(ctx, c)
}

// rollback ends the open transaction of pg even when ctx is cancelled (a
// cancelled request's statement stopped by a cancel request leaves it
// aborted): with ctx's values, not its cancellation, bounded by
// cancelDeadline.
func rollback(ctx context.Context, pg *pgconn.PgConn) ([]*pgconn.Result, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelDeadline)
	defer cancel()
	return pg.Exec(ctx, "ROLLBACK").ReadAll()
}
