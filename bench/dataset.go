package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// dataset is the size of the benchmark's data.
type dataset struct {
	Users, Orgs, Memberships, Articles int
}

// schemaSQL creates the benchmark's tables, with an index on every foreign
// key (articles' org_id one also ordered by id). The permissions are in
// bench/metadata.
const schemaSQL = `
CREATE TABLE users (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL
);
CREATE TABLE organizations (
  id integer PRIMARY KEY,
  name text NOT NULL
);
CREATE TABLE memberships (
  user_id integer NOT NULL REFERENCES users (id),
  org_id integer NOT NULL REFERENCES organizations (id),
  PRIMARY KEY (user_id, org_id)
);
CREATE INDEX memberships_org_id_idx ON memberships (org_id);
CREATE TABLE articles (
  id serial PRIMARY KEY,
  title text NOT NULL,
  body text NOT NULL DEFAULT '',
  -- The default lets PostGraphile insert as the user without naming the
  -- author, which the user may not set (rowguard's preset fills it in).
  author_id integer NOT NULL REFERENCES users (id)
    DEFAULT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer,
  org_id integer NOT NULL REFERENCES organizations (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- (author_id, org_id, id) rather than (author_id): it indexes the foreign
-- key and also gives a user's own articles in one organization in id
-- order, which the policy's author branch reads when the statement fixes
-- the organization (nested, membership; graphql/branches.go). With the
-- foreign key alone PostgreSQL intersected the author's bitmap with all
-- of the organization's articles, per organization: at 1M articles the
-- user's nested query ran at 41 req/s against the admin's 3,103.
-- Indexing the columns a policy tests is the usual advice for row level
-- security; every server reads the same database.
CREATE INDEX articles_author_id_idx ON articles (author_id, org_id, id);
-- (author_id, id): a user's own articles in id order, the author branch of
-- the policy when the list reads it on its own (graphql/merge.go: the
-- list query read per organization of the user's and per author, merged).
-- Without it that branch reads and sorts all of the author's articles
-- (100 at 100k, 1,000 at 1M), more than the policy's filter reads. The
-- admin's reads do not use it (bench/README.md: the plans); inserts
-- maintain one more index, the admin's as the user's.
CREATE INDEX articles_author_id_id_idx ON articles (author_id, id);
-- (org_id, id) rather than (org_id): it indexes the foreign key and also
-- gives an organization's articles in id order, which the nested query
-- (an organization's first articles by id) and the membership query (one
-- organization's newest articles) read; with the foreign key alone the
-- planner walks the primary key and filters, reading the whole table for
-- an organization none of whose articles are visible. INCLUDE (author_id)
-- holds the other column the policy tests, so counting an organization's
-- articles as a user (aggregate) is an index-only scan as it is for the
-- admin: without it the user's count read the organization's 1,001 rows
-- from the heap (886 pages at 100k) where the admin read 5 pages of the
-- index (bench/results/2026-12-03-list.md). Every server reads the same
-- database.
CREATE INDEX articles_org_id_idx ON articles (org_id, id) INCLUDE (author_id);
`

// orgStep spreads a user's memberships evenly over the organizations, so
// they are distinct.
func (d dataset) orgStep() int { return max(1, d.Orgs/d.Memberships) }

// membershipOrg is the k-th organization (0-based) user belongs to.
func (d dataset) membershipOrg(user, k int) int {
	return ((user-1)+k*d.orgStep())%d.Orgs + 1
}

func (d dataset) validate() error {
	if d.Users < 1 || d.Orgs < 1 || d.Memberships < 1 || d.Articles < 1 {
		return fmt.Errorf("dataset %+v: every count must be at least 1", d)
	}
	if d.Memberships*d.orgStep() > d.Orgs {
		return fmt.Errorf("%d memberships per user need at least %d organizations", d.Memberships, d.Memberships)
	}
	return nil
}

// load creates the schema and fills it: user u belongs to organizations
// membershipOrg(u, 0…Memberships-1); article g is written by user
// (g-1) % Users + 1 in one of that user's organizations. It ends with
// VACUUM ANALYZE so every run plans on fresh statistics and reads a table
// whose pages are all visible, as autovacuum leaves a table between
// bursts of writes.
//
// The load commits with synchronous_commit on even where the cluster runs
// with it off (the throwaway cluster does): VACUUM may set a row's
// committed hint bit, and so mark its page all-visible, only once the
// inserting transaction's commit record is flushed. Right after an
// asynchronous commit it is not, and VACUUM left every page of articles
// and memberships out of the visibility map: counting an organization's
// articles then read them from the heap (a bitmap heap scan of 876 pages
// at 100k articles) instead of the index alone (10 pages), for every
// server alike.
func (d dataset) load(ctx context.Context, conn *pgx.Conn) (time.Duration, error) {
	start := time.Now()
	if _, err := conn.Exec(ctx, "SET synchronous_commit = on"); err != nil {
		return 0, fmt.Errorf("load: %w", err)
	}
	steps := []struct {
		what string
		sql  string
		args []any
	}{
		{"schema", schemaSQL, nil},
		{"users", `INSERT INTO users SELECT g, 'user ' || g, 'user' || g || '@example.com' FROM generate_series(1, $1::int) g`, []any{d.Users}},
		{"organizations", `INSERT INTO organizations SELECT g, 'organization ' || g FROM generate_series(1, $1::int) g`, []any{d.Orgs}},
		{"memberships", `INSERT INTO memberships SELECT u, ((u - 1) + k * $3::int) % $2::int + 1
			FROM generate_series(1, $1::int) u, generate_series(0, $4::int - 1) k`, []any{d.Users, d.Orgs, d.orgStep(), d.Memberships}},
		{"articles", `INSERT INTO articles (title, body, author_id, org_id)
			SELECT 'article ' || g, 'lorem ipsum dolor sit amet ' || g, a, ((a - 1) + (g % $3::int) * $4::int) % $2::int + 1
			FROM (SELECT g, (g - 1) % $1::int + 1 AS a FROM generate_series(1, $5::int) g) s`,
			[]any{d.Users, d.Orgs, d.Memberships, d.orgStep(), d.Articles}},
	}
	for _, s := range steps {
		if s.args == nil {
			if _, err := conn.PgConn().Exec(ctx, s.sql).ReadAll(); err != nil {
				return 0, fmt.Errorf("load %s: %w", s.what, err)
			}
			continue
		}
		if _, err := conn.Exec(ctx, s.sql, s.args...); err != nil {
			return 0, fmt.Errorf("load %s: %w", s.what, err)
		}
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return 0, fmt.Errorf("vacuum analyze: %w", err)
	}
	if err := allVisible(ctx, conn); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// allVisible fails when VACUUM left a page of a benchmark table out of the
// visibility map: index-only scans would then read the heap, and the
// results would measure that rather than the servers.
func allVisible(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT c.relname, c.relpages, c.relallvisible FROM pg_catalog.pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relallvisible < c.relpages ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("visibility map: %w", err)
	}
	type table struct {
		name           string
		pages, visible int32
	}
	bad, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		return t, r.Scan(&t.name, &t.pages, &t.visible)
	})
	if err != nil {
		return fmt.Errorf("visibility map: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("after VACUUM, table %s has %d of %d pages all-visible: its rows were not yet visible to every transaction (a transaction of another session open during the load, or a commit not yet flushed); run the benchmark on a database nobody else uses", bad[0].name, bad[0].visible, bad[0].pages)
	}
	return nil
}
