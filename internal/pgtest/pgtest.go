package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rowguard/rowguard/internal/pgcluster"
)

// The private cluster of this test binary, started at most once.
var (
	once    sync.Once
	private *pgcluster.Cluster // nil until started, or when DATABASE_URL is used
	srvURL  string
	srvErr  error
)

// ServerURL returns a superuser connection URL (postgres://...) to a running
// cluster: DATABASE_URL when set, else a private cluster started once per
// test binary from the installed binaries. It fails the test when no server
// can be had, with the end of the server's log.
func ServerURL(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		c, err := pgcluster.Start(ctx)
		if err != nil {
			srvErr = err
			return
		}
		private, srvURL = c, c.URL("postgres")
	})
	if srvErr != nil {
		tb.Fatalf("pgtest: could not start a private PostgreSQL (or set DATABASE_URL to a superuser URL): %v", srvErr)
	}
	return srvURL
}

// Main runs the tests, then stops the private cluster (if one was started)
// and removes its directory, and exits with the tests' code. Call it from
// TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if private != nil {
		if err := private.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping the private cluster in %s: %v\n", private.Dir, err)
		}
	}
	os.Exit(code)
}

// NewDatabase creates a fresh database with a unique name
// (rg_<test name>_<random>), drops it WITH (FORCE) when the test ends, and
// returns its connection URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	server := ServerURL(tb)
	name := UniqueName("rg_" + truncate(sanitize(tb.Name()), 40))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for attempt := 0; ; attempt++ {
		err := admin(ctx, server, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		if err == nil {
			break
		}
		// 55006: the template is in use by someone else; it passes.
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55006" && attempt < 20 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := admin(ctx, server, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	dbURL, err := withDatabase(server, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return dbURL
}

// Connect returns a connection to url (usually NewDatabase's), closed when
// the test ends.
func Connect(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn.Close(ctx)
	})
	return conn
}

// UniqueName returns a short random lowercase identifier starting with
// prefix (lowercased, anything but [a-z0-9_] made "_"), such as
// "hasura_user_5f0c2a9be1d3", for cluster-wide objects like roles: roles
// are shared by every database of the cluster, so tests must name them per
// test. It needs no quoting in SQL and fits in 63 bytes.
func UniqueName(prefix string) string {
	p := truncate(sanitize(prefix), 50)
	if p == "" {
		p = "rg"
	}
	if p[0] >= '0' && p[0] <= '9' {
		p = "_" + p
	}
	if !strings.HasSuffix(p, "_") {
		p += "_"
	}
	b := make([]byte, 6)
	rand.Read(b) // never fails (crypto/rand)
	return p + hex.EncodeToString(b)
}

// sanitize lowercases s and turns each run of characters outside [a-z0-9]
// into one "_".
func sanitize(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// admin runs one statement on a short-lived connection to the server URL.
func admin(ctx context.Context, server, sql string) error {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns the server's URL (or keyword/value string) pointed at
// database db.
func withDatabase(server, db string) (string, error) {
	if !strings.Contains(server, "://") {
		return server + " dbname=" + db, nil // keyword/value form: the last setting wins
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("parse server URL: %w", err)
	}
	u.Path, u.RawPath = "/"+db, ""
	return u.String(), nil
}

// DropRolesLater drops, when the test ends, every role whose name starts
// with one of prefixes (as made with UniqueName). Register it before
// NewDatabase: cleanups run last-first, so the database is gone by then and
// the roles hold no privileges that would block DROP ROLE.
func DropRolesLater(tb testing.TB, prefixes ...string) {
	server := ServerURL(tb)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			tb.Errorf("pgtest: drop roles: %v", err)
			return
		}
		defer conn.Close(context.Background())
		rows, err := conn.Query(ctx, "SELECT rolname FROM pg_catalog.pg_roles WHERE EXISTS (SELECT FROM unnest($1::text[]) AS p WHERE starts_with(rolname, p)) ORDER BY 1", prefixes)
		if err != nil {
			tb.Errorf("pgtest: drop roles: %v", err)
			return
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			tb.Errorf("pgtest: drop roles: %v", err)
			return
		}
		for _, n := range names {
			if _, err := conn.Exec(ctx, "DROP ROLE "+pgx.Identifier{n}.Sanitize()); err != nil {
				tb.Errorf("pgtest: drop role %s: %v", n, err)
			}
		}
	})
}
