package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cluster is a running private PostgreSQL cluster.
type Cluster struct {
	Dir  string // data, socket and log live under here
	Port int
	bin  string
	as   *user.User // the OS user the server runs as; nil for the current one
	// durable keeps PostgreSQL's default fsync and synchronous_commit
	// (StartDurable).
	durable bool
}

// settings are the server's -o options.
func (c *Cluster) settings() string {
	// wal_level and max_wal_senders (PostgreSQL 15's defaults, stated)
	// let StartStandby copy the cluster with pg_basebackup.
	o := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300 -c wal_level=replica -c max_wal_senders=10", c.Port, c.Dir)
	if !c.durable {
		o += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	return o
}

// URL returns a superuser connection URL to database db.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// BinDir finds the directory of initdb, pg_ctl and postgres: pg_config's
// bindir, else the newest /usr/lib/postgresql/*/bin, else PATH.
func BinDir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb) found: install them (Debian: apt-get install postgresql) or set DATABASE_URL")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Start creates and starts a cluster in a new temporary directory, listening
// on 127.0.0.1 at a free port, tuned for throwaway use (no fsync).
func Start(ctx context.Context) (*Cluster, error) {
	return start(ctx, false)
}

// StartDurable is Start with PostgreSQL's durable defaults (fsync,
// synchronous_commit on): for tests of what a crash keeps.
func StartDurable(ctx context.Context) (*Cluster, error) {
	return start(ctx, true)
}

func start(ctx context.Context, durable bool) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rowguard-pg-")
	if err != nil {
		return nil, fmt.Errorf("cluster dir: %w", err)
	}
	c := &Cluster{Dir: dir, bin: bin, durable: durable}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, and initdb refuses root: need the `postgres` OS user (%w)", err)
		}
		c.as = u
		if err := chownAll(dir, u); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if out, err := c.run(ctx, "initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	for attempt := 0; ; attempt++ {
		c.Port, err = freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		opts := c.settings() + " -c shared_buffers=128MB"
		out, err := c.run(ctx, "pg_ctl", "-D", c.data(), "-l", c.Log(), "-w", "-t", "60", "-o", opts, "start")
		if err == nil {
			return c, nil
		}
		if attempt == 2 {
			logTail, _ := os.ReadFile(c.Log())
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, tail(string(logTail), 2000))
		}
	}
}

// Log returns the server log's path.
func (c *Cluster) Log() string { return filepath.Join(c.Dir, "postgres.log") }

func (c *Cluster) data() string { return filepath.Join(c.Dir, "data") }

// Stop shuts the server down at once and removes its directory.
func (c *Cluster) Stop() error {
	_, err := c.run(context.Background(), "pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
	if rmErr := os.RemoveAll(c.Dir); err == nil {
		err = rmErr
	}
	return err
}

// Restart stops (unless Kill already did) and starts the server on the
// same port, for fault tests.
func (c *Cluster) Restart(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.data(), "postmaster.pid")); err == nil {
		if out, err := c.run(ctx, "pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop"); err != nil {
			return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
		}
	}
	return c.startAgain(ctx)
}

// startAgain starts the stopped server on its port.
func (c *Cluster) startAgain(ctx context.Context) error {
	if out, err := c.run(ctx, "pg_ctl", "-D", c.data(), "-l", c.Log(), "-w", "-o", c.settings(), "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %w\n%s", err, out)
	}
	return nil
}

// Crash kills the postmaster with SIGKILL, as a crash would (its
// backends go with it: they exit when they see it gone), waits for every
// server process to end, then starts the server again: it replays its WAL
// and keeps exactly what was committed.
func (c *Cluster) Crash(ctx context.Context) error {
	pidFile, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("postmaster.pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(pidFile), "\n", 2)[0]))
	if err != nil {
		return fmt.Errorf("postmaster.pid: %w", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 %d: %w", pid, err)
	}
	// The backends notice the postmaster's death and exit; a new
	// postmaster refuses to start while one of them still holds the
	// shared memory, so retry for a while.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.startAgain(ctx)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *Cluster) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, tool)
	var cmd *exec.Cmd
	if c.as != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.Dir
	return cmd.CombinedOutput()
}

func chownAll(dir string, u *user.User) error {
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// The temp dir's parent must be traversable by postgres; os.MkdirTemp
	// makes the dir 0700, owned by root, so hand it over.
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// WaitReady polls until the server accepts TCP connections or ctx ends.
func (c *Cluster) WaitReady(ctx context.Context) error {
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.Port), time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
