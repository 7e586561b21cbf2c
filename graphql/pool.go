package graphql

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Delays of a cancelled request's statement (see KeepConnectionsOnCancel).
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

// KeepConnectionsOnCancel makes a cancelled context (a client gone
// mid-request, a deadline) stop the statement with a PostgreSQL cancel
// request instead of breaking the connection, pgx's default. A broken
// connection is replaced by a new backend, whose first requests pay for
// cold catalog, plan and PL/pgSQL caches (the claims function, the
// policies' helpers) and for preparing every statement again: under a
// load generator that drops its connections at the end of each run, that
// showed as a server slowing down over minutes.
func KeepConnectionsOnCancel(c *pgxpool.Config) {
	c.ConnConfig.BuildContextWatcherHandler = func(pg *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pg, CancelRequestDelay: cancelRequestDelay, DeadlineDelay: cancelDeadline}
	}
}

// NewPool connects a pool to url with KeepConnectionsOnCancel.
func NewPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	c, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	KeepConnectionsOnCancel(c)
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
