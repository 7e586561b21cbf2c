package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgcluster"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/rls"
)

// TestServeCrashKeepsWhatWasAnswered kills PostgreSQL with SIGKILL (a
// durable cluster of its own: fsync and synchronous_commit on): a
// mutation answered with data just before is still there after the
// restart, and a mutation killed before its COMMIT is answered with an
// error and left no row.
func TestServeCrashKeepsWhatWasAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster of its own")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cluster, err := pgcluster.StartDurable(ctx)
	if err != nil {
		t.Fatalf("start a private cluster: %v", err)
	}
	t.Cleanup(func() { cluster.Stop() })
	super := cluster.URL("app")
	admin, err := pgx.Connect(ctx, cluster.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE app"); err != nil {
		t.Fatal(err)
	}
	admin.Close(ctx)
	prefix := pgtest.UniqueName("crash") + "_"
	if err := exec1(ctx, super, "CREATE ROLE "+compiler.QuoteIdent(prefix+"server")+" LOGIN NOINHERIT"); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(ctx, migrations.Config{
		DatabaseURL: super,
		Migrations:  "../../examples/blog/migrations",
		Metadata:    "../../examples/blog/metadata",
		Compile:     compiler.Options{RolePrefix: prefix},
		RLS:         rls.Options{DefinerRole: prefix + "definer", LoginRole: prefix + "server"},
	}); err != nil {
		t.Fatal(err)
	}
	// A BEFORE INSERT trigger that holds one title's insert, so the
	// test can kill PostgreSQL while that transaction is open.
	if err := exec1(ctx, super, `CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.title = 'never answered' THEN PERFORM pg_sleep(60); END IF; RETURN NEW; END $$;
		CREATE TRIGGER hold BEFORE INSERT ON article FOR EACH ROW EXECUTE FUNCTION hold()`); err != nil {
		t.Fatal(err)
	}
	login := fmt.Sprintf("postgres://%s@127.0.0.1:%d/app?sslmode=disable", prefix+"server", cluster.Port)
	url := startServe(t, "--database-url", login, "--role-prefix", prefix, "--admin-secret", "s3cret")
	insert := func(title string) map[string]any {
		return post(t, url, `mutation { insert_article_one(object: {title: "`+title+`", user_id: 1}) { id title } }`, "X-Hasura-Admin-Secret", "s3cret")
	}
	count := func(title string) int {
		t.Helper()
		var n int
		if err := queryRow(ctx, super, `SELECT count(*) FROM article WHERE title = $1`, &n, title); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Answered with data, then killed: the row is there.
	out := insert("answered")
	row, _ := dig(out, "data", "insert_article_one").(map[string]any)
	if row == nil || row["title"] != "answered" {
		t.Fatalf("insert: %v", out)
	}
	if err := cluster.Crash(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count("answered"); n != 1 {
		t.Fatalf("after kill -9 right after the answer: %d rows, want the answered one", n)
	}

	// The server serves again once PostgreSQL is back (its pool
	// replaces the dead connections).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if out := post(t, url, articlesQuery, "X-Hasura-Admin-Secret", "s3cret"); out["data"] != nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the server does not serve after the restart: %v", out)
		}
	}

	// Killed before COMMIT: an error, and no row.
	answered := make(chan map[string]any, 1)
	go func() { answered <- insert("never answered") }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var held int
		if err := queryRow(ctx, super, `SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'`, &held); err != nil {
			t.Fatal(err)
		}
		if held > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the held insert never reached its trigger")
		}
	}
	if err := cluster.Crash(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case out := <-answered:
		if out["data"] != nil || out["errors"] == nil {
			t.Errorf("a mutation whose transaction died was answered %v, want an error", out)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no answer to the mutation whose transaction died")
	}
	if n := count("never answered"); n != 0 {
		t.Errorf("killed before COMMIT: %d rows, want none", n)
	}
}

// exec1 runs sql on a connection of its own.
func exec1(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// queryRow scans one value of sql into dst, on a connection of its own
// (the previous ones may have died with the server).
func queryRow(ctx context.Context, url, sql string, dst any, args ...any) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql, args...).Scan(dst)
}
