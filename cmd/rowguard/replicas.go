package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/observe"
	"github.com/rowguard/rowguard/graphql/replicas"
)

// replicaOptions are serve's read-replica flags.
type replicaOptions struct {
	urls   []string // from the flags; HASURA_GRAPHQL_READ_REPLICA_URLS when none
	env    []string
	maxLag time.Duration
}

func replicaFlags(fs *flag.FlagSet, envErrs *[]error) *replicaOptions {
	o := &replicaOptions{}
	for _, u := range strings.Split(os.Getenv("HASURA_GRAPHQL_READ_REPLICA_URLS"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			o.env = append(o.env, u)
		}
	}
	fs.Func("read-replica-url", "connection URL of a read replica (a streaming standby) for queries and live queries; repeat for several (env HASURA_GRAPHQL_READ_REPLICA_URLS, comma-separated)", func(s string) error {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("empty URL")
		}
		o.urls = append(o.urls, s)
		return nil
	})
	lag, err := time.ParseDuration(envOr("ROWGUARD_MAX_REPLICA_LAG", "0s"))
	if err != nil {
		*envErrs = append(*envErrs, fmt.Errorf("ROWGUARD_MAX_REPLICA_LAG: %w", err))
	}
	fs.DurationVar(&o.maxLag, "max-replica-lag", lag, "take a read replica out of rotation while its replay lag is above this, e.g. 5s; 0: no bound")
	return o
}

// start makes the router when replicas are configured, its metrics in
// metrics (may be nil): nil and a no-op close when not. The replicas' pools prepare statements exactly when the
// primary's does (the server decides from the primary's pool).
func (o *replicaOptions) start(ctx context.Context, primary *pgxpool.Pool, log *slog.Logger, stdout io.Writer, metrics *observe.Metrics) (graphql.ReadRouter, func(), error) {
	urls := o.urls
	if len(urls) == 0 {
		urls = o.env
	}
	if len(urls) == 0 {
		return nil, func() {}, nil
	}
	if o.maxLag < 0 {
		return nil, nil, usageError{"--max-replica-lag must not be negative"}
	}
	pc := primary.Config().ConnConfig
	r, err := replicas.New(ctx, replicas.Config{
		URLs: urls, MaxLag: o.maxLag, Log: log,
		Pool: func(c *pgxpool.Config) {
			c.ConnConfig.DefaultQueryExecMode = pc.DefaultQueryExecMode
			c.ConnConfig.StatementCacheCapacity = pc.StatementCacheCapacity
			c.ConnConfig.DescriptionCacheCapacity = pc.DescriptionCacheCapacity
			graphql.ConfigurePool(c)
		},
	})
	if err != nil {
		return nil, nil, err
	}
	if err := metrics.Register(r); err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("read replica metrics: %w", err)
	}
	for _, st := range r.Status() {
		state := "in rotation"
		if !st.Healthy {
			state = "out of rotation (" + st.Err + ")"
		}
		fmt.Fprintf(stdout, "read replica %s: %s, policy version %s\n", st.Name, state, orNone(st.Version))
	}
	return r, r.Close, nil
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}
