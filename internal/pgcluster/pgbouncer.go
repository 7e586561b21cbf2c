package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoPgBouncer is StartPgBouncer's error when pgbouncer is not
// installed (scripts/ensure-pgbouncer.sh installs it): tests skip on it.
var ErrNoPgBouncer = errors.New("pgbouncer is not installed: run scripts/ensure-pgbouncer.sh")

// PgBouncer is a private PgBouncer in transaction mode.
type PgBouncer struct {
	// Port is where it listens, on 127.0.0.1.
	Port int
	dir  string
	cmd  *exec.Cmd
	user string
}

// StartPgBouncer starts a PgBouncer on a free port in front of the server
// of upstream (a PostgreSQL URL): every database of that server, every
// server connection logged in as upstream's user (with its password),
// whatever user a client names; at most poolSize server connections per
// database, in transaction mode. As root it runs as the postgres OS user
// (PgBouncer refuses root). Stop it with Stop.
func StartPgBouncer(ctx context.Context, upstream string, poolSize int) (*PgBouncer, error) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr != nil {
			return nil, ErrNoPgBouncer
		}
		bin = "/usr/sbin/pgbouncer"
	}
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("pgbouncer upstream: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rowguard-pgbouncer-")
	if err != nil {
		return nil, err
	}
	// Readable by the postgres OS user PgBouncer runs as under root.
	os.Chmod(dir, 0o777)
	user := u.User.Username()
	conn := fmt.Sprintf("host=%s port=%s user=%s", u.Hostname(), u.Port(), user)
	if pw, ok := u.User.Password(); ok {
		conn += " password=" + pw
	}
	ini := fmt.Sprintf(`[databases]
* = %s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = %d
max_client_conn = 500
ignore_startup_parameters = extra_float_digits
logfile = %s
pidfile = %s
`, conn, port, poolSize, filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))
	path := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(path, []byte(ini), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(bin, path)
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", "-u", "postgres", "--", bin, path)
	}
	out, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group: Stop ends runuser and PgBouncer both.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start pgbouncer: %w", err)
	}
	b := &PgBouncer{Port: port, dir: dir, cmd: cmd, user: user}
	db := u.Path
	if len(db) > 1 {
		db = db[1:]
	} else {
		db = "postgres"
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := pgx.Connect(pctx, b.URL(db)+"&default_query_exec_mode=simple_protocol")
		cancel()
		if err == nil {
			c.Close(context.Background())
			return b, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			stderr, _ := os.ReadFile(filepath.Join(dir, "stderr"))
			b.Stop()
			return nil, fmt.Errorf("pgbouncer on port %d not ready: %w\n%s\n%s", port, err, tail(string(log), 2000), tail(string(stderr), 1000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL is database db through the bouncer, as upstream's user.
func (b *PgBouncer) URL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", url.PathEscape(b.user), b.Port, url.PathEscape(db))
}

// Log returns PgBouncer's log so far.
func (b *PgBouncer) Log() string {
	log, _ := os.ReadFile(filepath.Join(b.dir, "pgbouncer.log"))
	return string(log)
}

// Stop ends PgBouncer and removes its directory.
func (b *PgBouncer) Stop() {
	syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
	b.cmd.Wait()
	os.RemoveAll(b.dir)
}
