package security

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/internal/pgtest"
)

// pgBouncer is a private PgBouncer in transaction mode in front of the
// test cluster.
type pgBouncer struct {
	port   int
	dir    string
	lastDB string // the database of the last url call
}

// pgbouncerBinary finds the pgbouncer executable, or "".
func pgbouncerBinary() string {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/pgbouncer"); err == nil {
		return "/usr/sbin/pgbouncer"
	}
	return ""
}

// startPgBouncer starts a PgBouncer on a free port, pooling at most 4
// server connections per database in transaction mode, and stops it when
// the test ends. The test is skipped when pgbouncer is not installed.
func startPgBouncer(t *testing.T) *pgBouncer {
	t.Helper()
	bin := pgbouncerBinary()
	if bin == "" {
		t.Skip("SKIPPED: pgbouncer is not installed; run scripts/ensure-pgbouncer.sh to check isolation through a transaction-mode pooler")
	}
	server, err := url.Parse(pgtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "rowguard-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	login := server.User.Username()
	runAs := ""
	if os.Geteuid() == 0 {
		// pgbouncer refuses to run as root: it switches to this user.
		runAs = "user = postgres\n"
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("SKIPPED: running as root and there is no postgres OS user for pgbouncer: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`[databases]
* = host=%s port=%s user=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = 4
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = %s
%s`, server.Hostname(), server.Port(), login, port, filepath.Join(dir, "users.txt"), filepath.Join(dir, "pgbouncer.log"), runAs)
	for name, text := range map[string]string{"pgbouncer.ini": cfg, "users.txt": fmt.Sprintf("%q \"\"\n", login)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	out, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pgbouncer: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		out.Close()
	})
	b := &pgBouncer{port: port, dir: dir}
	// Ready when it accepts a connection and forwards a query.
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "stderr"))
			log2, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer exited: %v\n%s\n%s", err, log, log2)
		default:
		}
		err := b.ping("postgres")
		if err == nil {
			return b
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer not ready: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *pgBouncer) ping(db string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := b.connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return err
	}
	if one != 1 {
		return errors.New("SELECT 1 answered something else")
	}
	return nil
}

func (b *pgBouncer) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(b.dbURL(db))
	if err != nil {
		return nil, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return pgx.ConnectConfig(ctx, cfg)
}

func (b *pgBouncer) dbURL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", b.port, db)
}

// url maps a database URL of the test cluster to the same database
// through the bouncer.
func (b *pgBouncer) url(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		panic(err)
	}
	b.lastDB = u.Path[1:]
	return b.dbURL(b.lastDB)
}

// checkServerConnsClean runs, through the bouncer, more single-statement
// transactions than it has server connections, each reporting the state
// of the server connection it landed on: the login role, and every
// hasura.* setting empty.
func (b *pgBouncer) checkServerConnsClean(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := b.connect(ctx, b.lastDB)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for i := range 16 {
		var user string
		var leftover *string
		err := conn.QueryRow(ctx, `SELECT current_user, (SELECT string_agg(n || '=' || current_setting(n, true), ', ')
			FROM unnest($1::text[]) n WHERE current_setting(n, true) <> '')`, watchedSettings).Scan(&user, &leftover)
		if err != nil {
			t.Fatal(err)
		}
		if user != "postgres" || leftover != nil {
			t.Errorf("transaction %d through pgbouncer: current_user %q, settings left: %v", i, user, deref(leftover))
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "none"
	}
	return *s
}
