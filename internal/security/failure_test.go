package security

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/compiler"
)

// deepNotes nests note → owner → notes depth times: as user 2 (3 notes)
// it builds 3^depth rows, enough to outlast a short statement_timeout.
func deepNotes(depth int) string {
	var b strings.Builder
	b.WriteString("{ note { id ")
	for range depth {
		b.WriteString("owner { notes { id ")
	}
	for range depth {
		b.WriteString("} } ")
	}
	b.WriteString("} }")
	return b.String()
}

// ownersOf returns the owner ids of a { note { owner_id } } answer.
func ownersOf(t *testing.T, r *gqlResponse) []int {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	var d struct {
		Note []struct {
			OwnerID int `json:"owner_id"`
		}
	}
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, n := range d.Note {
		out = append(out, n.OwnerID)
	}
	return out
}

// wantOnly fails unless owners are exactly notesEach notes of user id.
func wantOnly(t *testing.T, owners []int, id int) {
	t.Helper()
	if len(owners) != notesEach {
		t.Fatalf("got %d notes %v, want the %d of user %d", len(owners), owners, notesEach, id)
	}
	for _, o := range owners {
		if o != id {
			t.Fatalf("user %d saw a note of user %d", id, o)
		}
	}
}

// checkNoOpenTransactions fails when a backend of the database is left
// inside a transaction.
func checkNoOpenTransactions(t *testing.T, s *suite) {
	t.Helper()
	var n int
	err := s.conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d connections left idle in a transaction", n)
	}
}

// TestFailedRequestsLeaveConnectionsClean: a request that fails inside its
// transaction (SQL error, statement timeout, client gone) gives its
// connection back as the login role with every hasura.* setting empty,
// and the next requests on it see only their own user's rows.
func TestFailedRequestsLeaveConnectionsClean(t *testing.T) {
	s := newSuite(t, 8, nil)
	// A second server on the same database whose connections time out
	// statements after 200ms.
	timed := &suite{dbURL: s.dbURL, conn: s.conn, prog: s.prog, users: s.users}
	timed.serve(t, s.dbURL, func(c *pgxpool.Config) { c.ConnConfig.RuntimeParams["statement_timeout"] = "200ms" })
	user2 := bearer(token(t, 2))
	faults := 0

	t.Run("SQL error", func(t *testing.T) {
		for range 8 {
			r := s.mustPost(t, `{ note(where: {body: {_regex: "("}}) { id } }`, user2)
			faults++
			if len(r.Errors) != 1 || r.Data != nil {
				t.Fatalf("invalid regex: data %s errors %+v", r.Data, r.Errors)
			}
			if strings.Contains(r.Errors[0].Message, "note of") {
				t.Fatalf("error shows row data: %s", r.Errors[0].Message)
			}
		}
		checkClean(t, s.pool, "postgres")
	})
	t.Run("statement timeout", func(t *testing.T) {
		for range 4 {
			r := timed.mustPost(t, deepNotes(11), user2)
			faults++
			if len(r.Errors) != 1 || r.Data != nil || !strings.HasPrefix(r.Errors[0].Message, "time limit exceeded") {
				t.Fatalf("deep query: want a statement timeout, got %d bytes of data, errors %+v", len(r.Data), r.Errors)
			}
		}
		checkClean(t, timed.pool, "postgres")
		wantOnly(t, ownersOf(t, timed.mustPost(t, `{ note { owner_id } }`, bearer(token(t, 3)))), 3)
	})
	t.Run("client disconnect", func(t *testing.T) {
		for range 4 {
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			_, err := s.post(ctx, deepNotes(11), user2)
			cancel()
			faults++
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("want the client's own timeout, got %v", err)
			}
		}
		// The server notices the disconnect, cancels the statement and
		// gives the connection back; wait for it.
		deadline := time.Now().Add(20 * time.Second)
		for s.pool.Stat().AcquiredConns() > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		checkClean(t, s.pool, "postgres")
		wantOnly(t, ownersOf(t, s.mustPost(t, `{ note { owner_id } }`, bearer(token(t, 4)))), 4)
	})
	checkNoOpenTransactions(t, s)
	t.Logf("%d faults injected; every connection came back clean", faults)
}

// TestRequestsLeaveNoSessionState: what a request's own statement leaves
// at session level (a trigger calling set_config(…, false)) is undone
// after its COMMIT, and a COMMIT that fails (a deferred trigger raising)
// leaves its connection idle and clean.
func TestRequestsLeaveNoSessionState(t *testing.T) {
	s := newSuite(t, 4, nil)
	ctx := context.Background()
	_, err := s.conn.Exec(ctx, `
		CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
		  PERFORM set_config('hasura.x_hasura_user_id', '3', false), set_config('hasura.x_hasura_role', 'admin', false),
		          set_config('role', current_user, false);
		  RETURN NULL;
		END $$;
		CREATE TRIGGER poison AFTER INSERT ON note FOR EACH ROW EXECUTE FUNCTION poison();
		CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
		  IF NEW.body = 'fail at commit' THEN RAISE EXCEPTION 'refused at commit'; END IF;
		  RETURN NULL;
		END $$;
		CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON note DEFERRABLE INITIALLY DEFERRED
		  FOR EACH ROW EXECUTE FUNCTION fail_at_commit();`)
	if err != nil {
		t.Fatal(err)
	}
	user2 := bearer(token(t, 2))
	insert := func(body string) *gqlResponse {
		return s.mustPost(t, `mutation { insert_note_one(object: {owner_id: 2, body: "`+body+`", secret: "s"}) { owner_id } }`, user2)
	}
	for i := range 8 {
		if r := insert("poisoned " + itoa(i)); len(r.Errors) > 0 || string(r.Data) != `{"insert_note_one":{"owner_id":2}}` {
			t.Fatalf("insert: data %s errors %+v", r.Data, r.Errors)
		}
	}
	checkClean(t, s.pool, "postgres")
	for range 4 {
		r := insert("fail at commit")
		if len(r.Errors) != 1 || r.Errors[0].Message != "refused at commit" {
			t.Fatalf("failing COMMIT: data %s errors %+v", r.Data, r.Errors)
		}
	}
	checkClean(t, s.pool, "postgres")
	checkNoOpenTransactions(t, s)
	var n int
	if err := s.conn.QueryRow(ctx, `SELECT count(*) FROM note WHERE body = 'fail at commit'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows of failed commits: %d (%v)", n, err)
	}
	wantOnly(t, ownersOf(t, s.mustPost(t, `{ note { owner_id } }`, bearer(token(t, 4)))), 4)
}

// TestSessionLevelSettingsDoNotLeak: a function that left
// hasura.x_hasura_user_id (and the role) set at session level on every
// pooled connection does not change what the next requests see.
func TestSessionLevelSettingsDoNotLeak(t *testing.T) {
	s := newSuite(t, 8, nil)
	userRole := ""
	for _, r := range s.prog.Roles {
		if r.Name == "user" {
			userRole = r.PGName
		}
	}
	if userRole == "" {
		t.Fatal("no PostgreSQL role for role user")
	}
	ctx := context.Background()
	// A rogue function, called by some earlier request, poisons every
	// connection of the pool at session level.
	_, err := s.conn.Exec(ctx, `CREATE FUNCTION rogue() RETURNS void LANGUAGE sql AS $$
		SELECT set_config('hasura.x_hasura_user_id', '3', false), set_config('hasura.x_hasura_role', 'admin', false);
		$$`)
	if err != nil {
		t.Fatal(err)
	}
	var held []*pgxpool.Conn
	for range s.pool.Config().MaxConns {
		c, err := s.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "SELECT rogue(); SELECT set_config('role', "+compiler.QuoteLiteral(userRole)+", false)"); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	for _, c := range held {
		c.Release()
	}
	poisoned := 0
	for _, st := range poolStates(t, s.pool) {
		if st.Settings["hasura.x_hasura_user_id"] == "3" {
			poisoned++
		}
	}
	if poisoned != int(s.pool.Config().MaxConns) {
		t.Fatalf("%d connections poisoned, want all %d", poisoned, s.pool.Config().MaxConns)
	}

	for i := range 40 {
		id := 2 + i%3*2 // 2, 4, 6: never the poisoned 3
		wantOnly(t, ownersOf(t, s.mustPost(t, `{ note { owner_id } }`, bearer(token(t, id)))), id)
	}
	// The unauthorized role reads no session variable: it must not pick
	// up the poisoned user id either.
	for range 8 {
		r := s.mustPost(t, `{ note { id } }`)
		if len(r.Errors) > 0 || string(r.Data) != `{"note":[]}` {
			t.Fatalf("anon after poisoning: data %s errors %+v", r.Data, r.Errors)
		}
	}
	// The admin switches back to the login role ("none").
	for range 8 {
		r := s.mustPost(t, `{ note_aggregate { aggregate { count } } }`, "X-Hasura-Admin-Secret: "+adminSecret)
		want := `{"note_aggregate":{"aggregate":{"count":` + itoa(s.users*notesEach+10) + `}}}`
		if len(r.Errors) > 0 || string(r.Data) != want {
			t.Fatalf("admin after poisoning: data %s errors %+v, want %s", r.Data, r.Errors, want)
		}
	}
}

// TestEmptySettingIsUnset: the server sets every setting the policies read
// for every request, to ” when the session lacks it; the policies must
// read ” as unset (NULLIF), not cast it and fail, and not match rows.
func TestEmptySettingIsUnset(t *testing.T) {
	s := newSuite(t, 4, nil)
	userRole := ""
	for _, r := range s.prog.Roles {
		if r.Name == "user" {
			userRole = r.PGName
		}
	}
	ctx := context.Background()
	var quals []string
	rows, err := s.conn.Query(ctx, `SELECT qual FROM pg_policies WHERE tablename IN ('note', 'account') AND qual LIKE '%x_hasura_user_id%'`)
	if err != nil {
		t.Fatal(err)
	}
	quals, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(quals) == 0 {
		t.Fatal("no policy reads hasura.x_hasura_user_id")
	}
	for _, q := range quals {
		if !strings.Contains(q, "NULLIF") {
			t.Errorf("policy reads the user id without NULLIF: %s", q)
		}
	}
	for _, value := range []string{"", "unset"} {
		t.Run("user id "+value, func(t *testing.T) {
			tx, err := s.conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			setUser := "SELECT set_config('role', $1, true), set_config('hasura.x_hasura_user_id', '', true)"
			if value == "unset" {
				setUser = "SELECT set_config('role', $1, true)"
			}
			if _, err := tx.Exec(ctx, setUser, userRole); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := tx.QueryRow(ctx, "SELECT (SELECT count(*) FROM note) + (SELECT count(*) FROM account)").Scan(&n); err != nil {
				t.Fatalf("reading with an empty user id: %v", err)
			}
			if n != 0 {
				t.Errorf("%d rows visible with no user id", n)
			}
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
