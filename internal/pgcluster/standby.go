package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
)

// A cluster made by Start can be a primary as it is: initdb's pg_hba.conf
// lets local replication connections in (trust), and PostgreSQL's defaults
// are wal_level=replica and max_wal_senders=10. Start passes them anyway,
// so a changed default cannot silently break the standby tests.

// StartStandby makes a hot standby of c: pg_basebackup -R -X stream from c
// into a new temporary directory (-R writes primary_conninfo and
// standby.signal), then starts it on a free port and waits until it
// accepts read-only connections and is in recovery. Stop it with Stop or
// Kill; c keeps running either way.
func (c *Cluster) StartStandby(ctx context.Context) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "rowguard-pg-standby-")
	if err != nil {
		return nil, fmt.Errorf("standby dir: %w", err)
	}
	s := &Cluster{Dir: dir, bin: c.bin, as: c.as}
	if s.as != nil {
		if err := chownAll(dir, s.as); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	// -c fast: checkpoint now instead of waiting for the next one.
	out, err := s.run(ctx, "pg_basebackup", "-h", "127.0.0.1", "-p", fmt.Sprint(c.Port), "-U", "postgres",
		"-D", s.data(), "-R", "-X", "stream", "-c", "fast", "--no-sync")
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_basebackup from port %d: %w\n%s", c.Port, err, out)
	}
	for attempt := 0; ; attempt++ {
		if s.Port, err = freePort(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if err = s.startStandby(ctx); err == nil {
			break
		}
		if attempt == 2 {
			logTail, _ := os.ReadFile(s.Log())
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%w\n%s", err, tail(string(logTail), 2000))
		}
	}
	if err := s.waitStandby(ctx); err != nil {
		logTail, _ := os.ReadFile(s.Log())
		s.Stop()
		return nil, fmt.Errorf("standby on port %d: %w\n%s", s.Port, err, tail(string(logTail), 2000))
	}
	return s, nil
}

func (s *Cluster) startStandby(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300 -c hot_standby=on -c wal_receiver_status_interval=1s -c max_standby_streaming_delay=5s", s.Port, s.Dir)
	out, err := s.run(ctx, "pg_ctl", "-D", s.data(), "-l", s.Log(), "-w", "-t", "60", "-o", opts, "start")
	if err != nil {
		return fmt.Errorf("pg_ctl start (standby): %w\n%s", err, out)
	}
	return nil
}

// waitStandby polls until a connection to the standby works and
// pg_is_in_recovery() is true: pg_ctl -w returns once the server accepts
// connections, which for a hot standby is after it reached consistency.
func (s *Cluster) waitStandby(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last error
	for {
		var rec bool
		last = s.queryRow(ctx, "SELECT pg_is_in_recovery()", &rec)
		if last == nil && !rec {
			return errors.New("the copy is not in recovery: standby.signal is missing (pg_basebackup -R)")
		}
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not accepting read-only connections: %w", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill stops the server the way a crash would (pg_ctl stop -m immediate:
// every backend quits at once, connections break), keeping its directory:
// Restart brings it back, Stop removes it.
func (c *Cluster) Kill() error {
	out, err := c.run(context.Background(), "pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
	if err != nil {
		return fmt.Errorf("pg_ctl stop -m immediate: %w\n%s", err, out)
	}
	return nil
}

// IsStandby reports whether the cluster was made by StartStandby (its data
// directory has standby.signal).
func (c *Cluster) IsStandby() bool {
	_, err := os.Stat(filepath.Join(c.data(), "standby.signal"))
	return err == nil
}

// Promote makes a standby a primary of its own (pg_promote, waiting up to
// a minute for it to leave recovery): from then on it no longer follows
// the cluster it was copied from.
func (c *Cluster) Promote(ctx context.Context) error {
	var done bool
	if err := c.queryRow(ctx, "SELECT pg_promote(true, 60)", &done); err != nil {
		return fmt.Errorf("pg_promote on port %d: %w", c.Port, err)
	}
	if !done {
		return fmt.Errorf("pg_promote on port %d: still in recovery after 60s", c.Port)
	}
	return nil
}

// PauseReplay stops a standby's WAL replay (pg_wal_replay_pause): it keeps
// receiving WAL and answering reads from what it replayed so far.
func (c *Cluster) PauseReplay(ctx context.Context) error {
	return c.exec(ctx, "SELECT pg_wal_replay_pause()")
}

// ResumeReplay resumes a paused standby's replay (pg_wal_replay_resume).
func (c *Cluster) ResumeReplay(ctx context.Context) error {
	return c.exec(ctx, "SELECT pg_wal_replay_resume()")
}

// ReplayLag returns how far a standby's replay is behind: zero when it
// replayed all the WAL it received, else the time since the last
// transaction it replayed committed on the primary
// (pg_last_xact_replay_timestamp), or since the standby started when it
// replayed none (its data is at least that old).
func (c *Cluster) ReplayLag(ctx context.Context) (time.Duration, error) {
	var secs float64
	err := c.queryRow(ctx, `SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
		ELSE extract(epoch FROM now() - coalesce(pg_last_xact_replay_timestamp(), pg_postmaster_start_time())) END`, &secs)
	if err != nil {
		return 0, err
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// WaitReplayed polls until the standby has replayed the primary's WAL as of
// the call (pg_current_wal_insert_lsn on the primary: with asynchronous
// commit, the write position pg_current_wal_lsn can be short of a commit
// that has returned), or ctx ends.
func (c *Cluster) WaitReplayed(ctx context.Context, primary *Cluster) error {
	var lsn string
	if err := primary.queryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text", &lsn); err != nil {
		return fmt.Errorf("primary's WAL position: %w", err)
	}
	for {
		var done bool
		err := c.queryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", &done, lsn)
		if err == nil && done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("standby on port %d did not replay up to %s: %w (last error: %v)", c.Port, lsn, ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *Cluster) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func (c *Cluster) queryRow(ctx context.Context, sql string, dest any, args ...any) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(ctx, sql, args...).Scan(dest)
}
