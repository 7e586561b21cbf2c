package ws_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/ws"
	"github.com/rowguard/rowguard/internal/pgtest"
)

// orgsSQL adds to the note table documents of organizations, readable by
// their members, and a table no subscription reads.
const orgsSQL = notesSQL + `
CREATE TABLE org (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE member (org_id integer NOT NULL REFERENCES org, user_id integer NOT NULL, PRIMARY KEY (org_id, user_id));
CREATE TABLE doc (id serial PRIMARY KEY, org_id integer NOT NULL REFERENCES org, body text NOT NULL);
CREATE TABLE other (id serial PRIMARY KEY, v text);
INSERT INTO org VALUES (1, 'a'), (2, 'b');
INSERT INTO member VALUES (1, 1);
INSERT INTO doc (org_id, body) VALUES (1, 'd1'), (2, 'd2');
INSERT INTO other (v) VALUES ('x');`

var orgsTables = map[string]string{
	"public_note.yaml": notesTable,
	"public_org.yaml": `table: {name: org, schema: public}
array_relationships:
  - name: members
    using: {foreign_key_constraint_on: {column: org_id, table: {name: member, schema: public}}}
`,
	"public_member.yaml": "table: {name: member, schema: public}\n",
	"public_doc.yaml": `table: {name: doc, schema: public}
object_relationships:
  - name: org
    using: {foreign_key_constraint_on: org_id}
select_permissions:
  - role: user
    permission:
      columns: [id, body]
      filter: {org: {members: {user_id: {_eq: X-Hasura-User-Id}}}}
`,
	"public_other.yaml": `table: {name: other, schema: public}
select_permissions:
  - role: user
    permission: {columns: [id, v], filter: {}}
`,
}

// refetchesIn returns how many cohort refetches the server ran in d.
func refetchesIn(f *fixture, d time.Duration) uint64 {
	before := f.gql.LiveRefetches()
	time.Sleep(d) // measuring what the server does meanwhile, not waiting for it
	return f.gql.LiveRefetches() - before
}

// TestRefetchOnlyChanged: a round refetches only the cohorts that read a
// table whose change counter moved, directly or through the tables a
// policy reads; a write seen by a round before it commits is pushed when
// it commits; what has no counter is still polled.
func TestRefetchOnlyChanged(t *testing.T) {
	const interval = 50 * time.Millisecond
	const span = 500 * time.Millisecond // 10 intervals
	var logs lockedBuffer
	f := newFixtureSchema(t, nil, orgsSQL, orgsTables, ws.Config{}, graphql.LiveConfig{RefetchInterval: interval}, func(c *graphql.Config) {
		c.Log = slog.New(slog.NewTextHandler(&logs, nil))
	})
	notes := dial(t, f.addr, "graphql-transport-ws")
	notes.send(init_(map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": "1"}))
	notes.expect("connection_ack", wait)
	notes.send(start("graphql-transport-ws", "n", "subscription { note { body } }"))
	if got := payload(notes.expect("next", wait)); !strings.Contains(got, `"one"`) {
		t.Fatalf("notes: %s", got)
	}
	docs := map[int]*client{}
	for u := 1; u <= 5; u++ {
		c := dial(t, f.addr, "graphql-transport-ws")
		c.send(init_(map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": strconv.Itoa(u)}))
		c.expect("connection_ack", wait)
		c.send(start("graphql-transport-ws", "d", "subscription { doc { body } }"))
		got := payload(c.expect("next", wait))
		if want := map[bool]string{true: `"d1"`, false: `[]`}[u == 1]; !strings.Contains(got, want) {
			t.Fatalf("user %d docs: %s, want %s", u, got, want)
		}
		docs[u] = c
	}
	if _, cohorts := f.gql.LiveCount(); cohorts != 6 {
		t.Fatalf("%d cohorts, want 6", cohorts)
	}
	refetchesIn(f, 4*interval) // the first rounds after the new cohorts

	if n := refetchesIn(f, span); n > 1 {
		t.Errorf("idle: %d refetches in %s, want at most 1 (polling would be about 60)", n, span)
	}
	f.exec(t, "UPDATE other SET v = 'y'")
	if n := refetchesIn(f, span); n > 0 {
		t.Errorf("a change to a table no subscription reads: %d refetches, want 0", n)
	}
	before := f.gql.LiveRefetches()
	f.exec(t, "UPDATE note SET body = 'one v2' WHERE owner = 1")
	if got := payload(notes.expect("next", wait)); !strings.Contains(got, "one v2") {
		t.Errorf("after the note changed: %s", got)
	}
	if n := refetchesIn(f, span) + f.gql.LiveRefetches() - before - 0; n < 1 || n > 2 {
		t.Errorf("a change to note: %d refetches, want the note cohort's 1 (2 when a writer elsewhere was in progress)", n)
	}

	// Through the policy: user 2 joins organization 1.
	f.exec(t, "INSERT INTO member VALUES (1, 2)")
	if got := payload(docs[2].expect("next", wait)); !strings.Contains(got, `"d1"`) {
		t.Errorf("user 2 after joining: %s", got)
	}
	// The organization's rows changing refetches the documents' cohorts too.
	f.exec(t, "UPDATE org SET id = id WHERE id = 1")

	// A write that rounds see bumped but uncommitted is pushed at commit.
	other := pgtest.Connect(t, f.url)
	ctx := context.Background()
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE note SET body = 'one v3' WHERE owner = 1"); err != nil {
		t.Fatal(err)
	}
	quiet(t, notes, 6*interval)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := payload(notes.expect("next", wait)); !strings.Contains(got, "one v3") {
		t.Errorf("after the commit: %s", got)
	}

	// What a logical replication subscription applies (replica mode,
	// where ordinary triggers do not fire) is counted too.
	f.exec(t, "SET session_replication_role = replica")
	f.exec(t, "UPDATE note SET body = 'one v3r' WHERE owner = 1")
	f.exec(t, "RESET session_replication_role")
	if got := payload(notes.expect("next", wait)); !strings.Contains(got, "one v3r") {
		t.Errorf("after a write in replica mode: %s", got)
	}

	// A table whose trigger is disabled has no counter: its cohort polls,
	// the others do not.
	f.exec(t, "ALTER TABLE note DISABLE TRIGGER rg_changes")
	refetchesIn(f, 2*interval)
	if n := refetchesIn(f, span); n < 3 || n > 12 {
		t.Errorf("note without its trigger: %d refetches in %s, want the note cohort polled alone (about 10)", n, span)
	}
	f.exec(t, "UPDATE note SET body = 'one v4' WHERE owner = 1")
	if got := payload(notes.expect("next", wait)); !strings.Contains(got, "one v4") {
		t.Errorf("polled: %s", got)
	}
	// Without the counters (an install older than them) every cohort polls.
	f.exec(t, "DROP FUNCTION rowguard.rg_table_changes()")
	refetchesIn(f, 2*interval)
	if n := refetchesIn(f, span); n < 18 {
		t.Errorf("without counters: %d refetches in %s, want all 6 cohorts polled (about 60)", n, span)
	}
	f.exec(t, "UPDATE doc SET body = 'd1 v2' WHERE id = 1")
	if got := payload(docs[1].expect("next", wait)); !strings.Contains(got, "d1 v2") {
		t.Errorf("polled docs: %s", got)
	}
	if got := logs.String(); strings.Count(got, "cannot read the change counters") != 1 || !strings.Contains(got, "rowguard migrate up") {
		t.Errorf("the log should say once that the counters cannot be read and what to do:\n%s", got)
	}
}
