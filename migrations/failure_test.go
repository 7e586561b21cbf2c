package migrations

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/rls"
)

// reader reads article titles as one user, again and again, while a
// migration runs, and counts what it saw.
type reader struct {
	ok, failed, leaked atomic.Int64
	firstLeak          atomic.Pointer[string]
}

// run reads as role with user id until ctx ends; want is every title the
// user may see, in order.
func (r *reader) run(ctx context.Context, t *testing.T, url, role, userID, want string) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		if ctx.Err() == nil { // else Up ended before this reader connected
			t.Errorf("reader connect: %v", err)
		}
		return
	}
	defer conn.Close(context.Background())
	for ctx.Err() == nil {
		got, err := r.read(ctx, conn, role, userID)
		switch {
		case err != nil && ctx.Err() != nil:
			// Stopped mid-read: not an answer.
		case err != nil:
			// Permission denied while policies and grants are lifted:
			// failing closed is allowed, showing rows is not.
			r.failed.Add(1)
		case got != want:
			r.leaked.Add(1)
			r.firstLeak.CompareAndSwap(nil, &got)
		default:
			r.ok.Add(1)
		}
	}
}

func (r *reader) read(ctx context.Context, conn *pgx.Conn, role, userID string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SELECT set_config('role', $1, true), set_config('hasura.x_hasura_user_id', $2, true)", role, userID); err != nil {
		return "", err
	}
	rows, err := tx.Query(ctx, "SELECT title FROM article ORDER BY id")
	if err != nil {
		return "", err
	}
	titles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	return strings.Join(titles, ", "), nil
}

// TestFailingUpNeverOpensTheTables: each way `migrate up` can fail leaves
// the previous policies exactly in place, and a user reading all the while
// never sees a row the policies hide, not even while they are lifted for
// the schema migration.
func TestFailingUpNeverOpensTheTables(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	before := snapshot(t, cfg.DatabaseURL)
	userRole := cfg.Compile.RolePrefix + "user"
	const carolSees = "Alice public, Bob public, Carol draft"
	article := filepath.Join(cfg.Metadata, "databases/default/tables/public_article.yaml")
	original, err := os.ReadFile(article)
	if err != nil {
		t.Fatal(err)
	}
	migration := func(name, up string) func(t *testing.T) {
		return func(t *testing.T) {
			os.WriteFile(filepath.Join(cfg.Migrations, name+".up.sql"), []byte(up), 0o644)
			os.WriteFile(filepath.Join(cfg.Migrations, name+".down.sql"), []byte("SELECT 1;\n"), 0o644)
		}
	}
	metadata := func(old, new string) func(t *testing.T) {
		return func(t *testing.T) { editFile(t, article, old, new) }
	}
	faults := []struct {
		name  string
		setup func(t *testing.T)
		want  string // in Up's error
	}{
		{"metadata names an unknown column",
			metadata("published: {_eq: true}\n      limit: 10", "no_such_column: {_eq: true}\n      limit: 10"), "no_such_column"},
		{"policy install refused by PostgreSQL",
			metadata("published: {_eq: true}\n      limit: 10", "created_at: {_gt: not-a-time}\n      limit: 10"), "not-a-time"},
		{"metadata file is not YAML",
			func(t *testing.T) { os.WriteFile(article, []byte("table: [unclosed\n"), 0o644) }, "public_article.yaml"},
		// Last: the broken migration stays in the folder.
		{"schema migration fails after a pause with policies lifted",
			migration("3_slow_broken", "SELECT pg_sleep(0.5);\nALTER TABLE article ADD COLUMN x integer;\nALTER TABLE nope ADD COLUMN y integer;\n"), "nope"},
	}
	injected := 0
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			if err := os.WriteFile(article, original, 0o644); err != nil {
				t.Fatal(err)
			}
			f.setup(t)
			rctx, stop := context.WithCancel(ctx)
			var r reader
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r.run(rctx, t, cfg.DatabaseURL, userRole, "3", carolSees)
				}()
			}
			time.Sleep(50 * time.Millisecond) // let the readers start reading before Up
			err := Up(ctx, cfg)
			injected++
			// Keep reading a little after Up returned.
			time.Sleep(100 * time.Millisecond)
			stop()
			wg.Wait()
			if err == nil || !strings.Contains(err.Error(), f.want) {
				t.Fatalf("Up = %v, want an error mentioning %q", err, f.want)
			}
			if p := r.firstLeak.Load(); p != nil {
				t.Errorf("%d reads saw other rows, first %q", r.leaked.Load(), *p)
			}
			if r.ok.Load() == 0 {
				t.Errorf("no read succeeded (%d failed)", r.failed.Load())
			}
			t.Logf("reads during the failing Up: %d right, %d refused, %d leaked", r.ok.Load(), r.failed.Load(), r.leaked.Load())
			if diff := rls.DiffLines(before, snapshot(t, cfg.DatabaseURL)); len(diff) != 0 {
				t.Errorf("the failed Up changed the installed policies:\n%s", strings.Join(diff, "\n"))
			}
			conn := pgtest.Connect(t, cfg.DatabaseURL)
			if got := strings.Join(visibleTitles(t, conn, userRole, "3"), ", "); got != carolSees {
				t.Errorf("after the failed Up user 3 sees %q, want %q", got, carolSees)
			}
		})
	}
	t.Logf("%d failing migrations injected", injected)
}
