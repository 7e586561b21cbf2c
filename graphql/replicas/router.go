package replicas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultInterval is how often a Router checks each replica when
// Config.Interval is zero.
const DefaultInterval = time.Second

// Config configures a Router.
type Config struct {
	// URLs are the replicas' connection URLs, for the same login role as
	// the primary's (a physical replica has the primary's roles).
	URLs []string
	// MaxLag takes a replica out of rotation while its replay lag is
	// above it; no bound when zero.
	MaxLag time.Duration
	// Interval is how often each replica is checked; DefaultInterval when
	// zero.
	Interval time.Duration
	// Pool adjusts each replica's pool configuration before it is made,
	// e.g. to copy the primary's runtime parameters and query exec mode
	// (the server prepares statements on a replica exactly when it does on
	// the primary); may be nil.
	Pool func(*pgxpool.Config)
	// Log receives a line whenever a replica goes in or out of rotation;
	// slog.Default() when nil.
	Log *slog.Logger
}

// Status is what the last check of a replica found.
type Status struct {
	// Name is the replica's host:port (the URL without credentials),
	// with #2, #3… for later URLs of the same host and port.
	Name string
	// Healthy is whether the replica answered the last check and its
	// lag is within Config.MaxLag.
	Healthy bool
	// InRecovery is pg_is_in_recovery(): false for a replica that was
	// promoted, which is out of rotation (it no longer follows the
	// primary, so neither its rows nor its policies are the primary's).
	InRecovery bool
	// Lag is how far replay is behind (see Router's lag rule).
	Lag time.Duration
	// Version is the replayed policy version ("" when the replica has no
	// rowguard.policy_migrations or no row in it); Dirty when that
	// version's install had not finished.
	Version string
	Dirty   bool
	// State is one of StateHealthy, StateLagging, StatePromoted and
	// StateDown ("" before the first check).
	State string
	// Err is why the replica is out of rotation; "" when it is not.
	Err string
	// Checked is when the last check ended.
	Checked time.Time
}

// Router hands out the pools of healthy replicas, round robin.
type Router struct {
	cfg      Config
	log      *slog.Logger
	replicas []*replica
	next     atomic.Uint64
	// fallbacks counts the reads ReadPool sent to the primary because no
	// replica was in rotation at the request's version.
	fallbacks atomic.Uint64
	stop      context.CancelFunc
	done      sync.WaitGroup
}

type replica struct {
	name   string
	pool   *pgxpool.Pool
	status atomic.Pointer[Status]
	// down is set by Failed and cleared by the next good check.
	down atomic.Bool
	// recheck asks the loop for a check now (Failed).
	recheck chan struct{}
	// behindSince is when checks first saw replay behind what the
	// replica received, zero while it is not (the loop's own).
	behindSince time.Time
	// reads counts the transactions ReadPool handed this replica.
	reads atomic.Uint64
}

// New makes a pool per URL, checks every replica once (a replica that
// does not answer starts out of rotation; New does not fail for it) and
// starts checking them every Config.Interval until Close. A URL that does
// not parse is an error naming it.
func New(ctx context.Context, cfg Config) (*Router, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	r := &Router{cfg: cfg, log: cfg.Log}
	if r.log == nil {
		r.log = slog.Default()
	}
	for i, u := range cfg.URLs {
		pc, err := pgxpool.ParseConfig(u)
		if err != nil {
			r.closePools()
			return nil, fmt.Errorf("read replica %d (%s): %w: give a PostgreSQL URL such as postgres://user@host:5432/db", i+1, redact(u), err)
		}
		if cfg.Pool != nil {
			cfg.Pool(pc)
		}
		pool, err := pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			r.closePools()
			return nil, fmt.Errorf("read replica %d (%s): %w", i+1, redact(u), err)
		}
		name := pc.ConnConfig.Host + ":" + strconv.Itoa(int(pc.ConnConfig.Port))
		// Names label the metrics and must differ: a second URL for the
		// same host and port (another database, or a repeated flag) is
		// host:port#2.
		for n, base := 2, name; slices.ContainsFunc(r.replicas, func(o *replica) bool { return o.name == name }); n++ {
			name = base + "#" + strconv.Itoa(n)
		}
		rep := &replica{name: name, pool: pool, recheck: make(chan struct{}, 1)}
		rep.status.Store(&Status{Name: name, Err: "not checked yet"})
		r.replicas = append(r.replicas, rep)
	}
	var first sync.WaitGroup
	for _, rep := range r.replicas {
		first.Add(1)
		go func() {
			defer first.Done()
			r.check(ctx, rep)
		}()
	}
	first.Wait()
	loopCtx, stop := context.WithCancel(context.Background())
	r.stop = stop
	for _, rep := range r.replicas {
		r.done.Add(1)
		go r.loop(loopCtx, rep)
	}
	return r, nil
}

// ReadPool returns the pool of the next healthy replica whose replayed
// policy version is version (the version the request's schema was built
// from), or nil when there is none: the caller then uses the primary.
func (r *Router) ReadPool(version string) *pgxpool.Pool {
	n := len(r.replicas)
	if n == 0 {
		return nil
	}
	start := r.next.Add(1)
	for i := range n {
		rep := r.replicas[(start+uint64(i))%uint64(n)]
		if rep.down.Load() {
			continue
		}
		st := rep.status.Load()
		if st.Healthy && !st.Dirty && st.Version == version {
			rep.reads.Add(1)
			return rep.pool
		}
	}
	r.fallbacks.Add(1)
	return nil
}

// StillAt reports whether the replica behind pool has, now, replayed
// exactly policy version version (clean), in a round trip of its own; the
// server folds the same statement into a read's batch instead
// (VersionSQL, Held). Asked after a transaction ran on the replica, it
// makes the version rule exact for that transaction: ReadPool handed the
// replica out only after a check saw version, replay only moves forward,
// and a migration's policies and its version row commit together, so a
// replica still at version when the transaction has ended ran all of it
// at version. A pool that is not a replica's, or a replica that does not
// answer, is not at version.
func (r *Router) StillAt(ctx context.Context, pool *pgxpool.Pool, version string) bool {
	for _, rep := range r.replicas {
		if rep.pool != pool {
			continue
		}
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return false
		}
		defer conn.Release()
		return r.Held(version, conn.Conn().PgConn().ExecParams(ctx, VersionSQL, nil, nil, nil, nil).Read())
	}
	return false
}

// VersionSQL is the statement that reads a replica's policy version after
// a read, in text format and without parameters, for the end of the
// read's own batch (after its COMMIT): Held tells from its result whether
// the replica is still at the read's version, as StillAt does. Its
// comment tells it apart from the health checks in pg_stat_activity.
const VersionSQL = `/* rowguard: policy version after a read */ ` + lastVersionSQL

// VersionSQL returns VersionSQL (graphql.ReadRouter).
func (r *Router) VersionSQL() string { return VersionSQL }

// Held reports whether res, the result of VersionSQL run on a replica
// (in text format), says the replica has replayed exactly policy version
// version, clean. No row, or no rowguard.policy_migrations table, is
// version ""; any other error, or a nil res, is no version at all.
func (r *Router) Held(version string, res *pgconn.Result) bool {
	if res == nil {
		return false
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.As(res.Err, &pgErr) && pgErr.Code == "42P01": // undefined_table
		return version == ""
	case res.Err != nil:
		return false
	case len(res.Rows) == 0:
		return version == ""
	}
	row := res.Rows[0]
	return len(row) == 2 && string(row[0]) == version && string(row[1]) == "f"
}

// lastVersionSQL reads the newest policy version.
const lastVersionSQL = `SELECT version, dirty FROM rowguard.policy_migrations ORDER BY version DESC LIMIT 1`

// Failed reports that a read on pool failed for a reason that is not the
// request's: the replica is out of rotation until a check passes, and one
// runs at once. A pool that is not a replica's is ignored.
func (r *Router) Failed(pool *pgxpool.Pool, err error) {
	for _, rep := range r.replicas {
		if rep.pool != pool {
			continue
		}
		if !rep.down.Swap(true) {
			r.log.Warn("read replica out of rotation", "replica", rep.name, "error", err)
		}
		select {
		case rep.recheck <- struct{}{}:
		default:
		}
	}
}

// Status returns what the last check of each replica found, in the order
// of Config.URLs.
func (r *Router) Status() []Status {
	out := make([]Status, len(r.replicas))
	for i, rep := range r.replicas {
		out[i] = *rep.status.Load()
		if rep.down.Load() && out[i].Healthy {
			// A read failed there since the last check, which has not
			// run again yet.
			out[i].Healthy, out[i].State, out[i].Err = false, StateDown, "a read failed on it; checking again"
		}
	}
	return out
}

// Close stops the checks and closes the replicas' pools.
func (r *Router) Close() {
	if r.stop != nil {
		r.stop()
	}
	r.done.Wait()
	r.closePools()
}

func (r *Router) closePools() {
	for _, rep := range r.replicas {
		rep.pool.Close()
	}
}

func (r *Router) loop(ctx context.Context, rep *replica) {
	defer r.done.Done()
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-rep.recheck:
			// A failed read: wait a little so a replica that is restarting
			// is not hammered, then check.
			select {
			case <-ctx.Done():
				return
			case <-time.After(r.cfg.Interval / 4):
			}
		}
		r.check(ctx, rep)
	}
}

// statusSQL reads, in one statement, whether the replica is in recovery,
// whether replay is behind what it received, and the time since the last
// replayed commit was made on the primary.
const statusSQL = `SELECT pg_is_in_recovery(),
	coalesce(pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn(), false),
	extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,
	to_regclass('rowguard.policy_migrations') IS NOT NULL`

// check runs one check of rep and stores what it found.
//
// The lag rule: zero while replay has caught up with the WAL the replica
// received; while it is behind, the smaller of the time since the last
// replayed commit was made (pg_last_xact_replay_timestamp, which alone
// would read hours after an idle night as soon as one write arrives) and
// the time the checks have seen it behind without a break (which alone
// would grow without end under a steady stream of writes that replay
// keeps up with). A paused or stuck replay grows both.
func (r *Router) check(ctx context.Context, rep *replica) {
	ctx, cancel := context.WithTimeout(ctx, max(r.cfg.Interval, 2*time.Second))
	defer cancel()
	st := &Status{Name: rep.name}
	behind, sinceCommit, err := rep.read(ctx, st)
	now := time.Now()
	st.Checked = now
	if err != nil {
		st.Err, st.State = err.Error(), StateDown
	} else {
		if behind {
			if rep.behindSince.IsZero() {
				rep.behindSince = now
			}
			st.Lag = now.Sub(rep.behindSince)
			// No commit replayed since the replica started: the time
			// seen behind is all there is.
			if sinceCommit != nil {
				st.Lag = min(st.Lag, *sinceCommit)
			}
		} else {
			rep.behindSince = time.Time{}
		}
		st.Healthy, st.State = true, StateHealthy
		switch {
		case !st.InRecovery:
			st.Healthy, st.State = false, StatePromoted
			st.Err = errPromoted
		case r.cfg.MaxLag > 0 && st.Lag > r.cfg.MaxLag:
			st.Healthy, st.State = false, StateLagging
			st.Err = fmt.Sprintf("replay lag %s is above --max-replica-lag %s", st.Lag.Round(time.Millisecond), r.cfg.MaxLag)
		}
	}
	prev := rep.status.Swap(st)
	wasUp := prev.Healthy && !rep.down.Load()
	if err == nil {
		rep.down.Store(false)
	}
	switch up := st.Healthy; {
	case up && !wasUp:
		r.log.Info("read replica in rotation", "replica", rep.name, "policy_version", st.Version, "lag", st.Lag)
	case st.Err == errPromoted && prev.Err != errPromoted:
		// Said once, whatever the replica's state before: it is a
		// configuration problem, not a passing one.
		r.log.Error("read replica promoted: out of read rotation, it no longer follows the primary (pg_is_in_recovery() is false); remove it from --read-replica-url, or make it a standby again",
			"replica", rep.name)
	case !up && wasUp:
		r.log.Warn("read replica out of rotation", "replica", rep.name, "reason", st.Err)
	}
}

// The states of Status.State. A healthy replica serves only the requests
// of the policy version it has replayed (see ReadPool); HealthLines calls
// one at another version "wrong version".
const (
	StateHealthy  = "healthy"
	StateLagging  = "lagging"
	StatePromoted = "promoted"
	StateDown     = "down"
)

// errPromoted is Status.Err of a replica that is no longer in recovery.
const errPromoted = "not in recovery (pg_is_in_recovery() is false): it no longer follows the primary"

// read fills st from the replica but for the lag, and returns whether
// replay is behind what the replica received and the time since the last
// replayed commit was made on the primary (nil when the replica replayed
// none since it started).
func (rep *replica) read(ctx context.Context, st *Status) (behind bool, sinceCommit *time.Duration, err error) {
	conn, err := rep.pool.Acquire(ctx)
	if err != nil {
		return false, nil, err
	}
	defer conn.Release()
	var hasVersions bool
	var secs *float64
	if err := conn.QueryRow(ctx, statusSQL).Scan(&st.InRecovery, &behind, &secs, &hasVersions); err != nil {
		return false, nil, err
	}
	if secs != nil {
		d := max(time.Duration(*secs*float64(time.Second)), 0)
		sinceCommit = &d
	}
	if !hasVersions {
		return behind, sinceCommit, nil
	}
	var v int64
	err = conn.QueryRow(ctx, lastVersionSQL).Scan(&v, &st.Dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		return behind, sinceCommit, nil
	}
	if err != nil {
		return false, nil, fmt.Errorf("read rowguard.policy_migrations: %w", err)
	}
	st.Version = strconv.FormatInt(v, 10)
	return behind, sinceCommit, nil
}

// redact drops the password from a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if err != nil {
			return "unparsable URL"
		}
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
