package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

// compileStats times rowguard on a large generated schema.
type compileStats struct {
	tables, roles int
	parse         time.Duration // DDL → catalog (offline)
	load          time.Duration // metadata file → policies
	compile       time.Duration // compiler.Compile + rls.Emit
	migrate       time.Duration // `rowguard migrate up`: schema migration, compile, install
	policies      int
	ddlBytes      int
}

// compileRoleNames are the generated roles: role0 … role<n-1>.
func compileRoleNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("role%d", i)
	}
	return out
}

// scaleSchema is tables t0001 … with a foreign key to a shared orgs table
// whose members the relationship rules traverse.
func scaleSchema(tables int) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE orgs (id integer PRIMARY KEY, name text NOT NULL);\n")
	b.WriteString("CREATE TABLE org_members (org_id integer NOT NULL REFERENCES orgs (id), user_id integer NOT NULL, PRIMARY KEY (org_id, user_id));\n")
	for i := 1; i <= tables; i++ {
		fmt.Fprintf(&b, `CREATE TABLE t%04d (
  id serial PRIMARY KEY,
  owner_id integer NOT NULL,
  org_id integer NOT NULL REFERENCES orgs (id),
  title text NOT NULL,
  body text,
  published boolean NOT NULL DEFAULT false
);
CREATE INDEX t%04d_org_id_idx ON t%04d (org_id);
`, i, i, i)
	}
	return b.String()
}

// scaleMetadata is a Hasura metadata export: every role may select, insert,
// update and delete on every table, with rules that vary by role: the
// owner's rows, published or the owner's, or the rows of the user's
// organizations (a relationship rule).
func scaleMetadata(tables, roles int) ([]byte, error) {
	type obj = map[string]any
	owner := obj{"owner_id": obj{"_eq": "X-Hasura-User-Id"}}
	filters := []obj{
		owner,
		{"_or": []obj{{"published": obj{"_eq": true}}, owner}},
		{"org": obj{"members": obj{"user_id": obj{"_eq": "X-Hasura-User-Id"}}}},
	}
	cols := []string{"id", "owner_id", "org_id", "title", "body", "published"}
	ts := []obj{
		{"table": obj{"schema": "public", "name": "orgs"},
			"array_relationships": []obj{{"name": "members", "using": obj{"foreign_key_constraint_on": obj{
				"column": "org_id", "table": obj{"schema": "public", "name": "org_members"}}}}}},
		{"table": obj{"schema": "public", "name": "org_members"}},
	}
	for i := 1; i <= tables; i++ {
		var sel, ins, upd, del []obj
		for k, role := range compileRoleNames(roles) {
			sel = append(sel, obj{"role": role, "permission": obj{"columns": cols, "filter": filters[k%len(filters)], "allow_aggregations": true}})
			ins = append(ins, obj{"role": role, "permission": obj{"columns": []string{"org_id", "title", "body"},
				"check": owner, "set": obj{"owner_id": "X-Hasura-User-Id"}}})
			upd = append(upd, obj{"role": role, "permission": obj{"columns": []string{"title", "body", "published"},
				"filter": owner, "check": owner}})
			del = append(del, obj{"role": role, "permission": obj{"filter": owner}})
		}
		ts = append(ts, obj{
			"table":                obj{"schema": "public", "name": fmt.Sprintf("t%04d", i)},
			"object_relationships": []obj{{"name": "org", "using": obj{"foreign_key_constraint_on": "org_id"}}},
			"select_permissions":   sel, "insert_permissions": ins, "update_permissions": upd, "delete_permissions": del,
		})
	}
	return json.MarshalIndent(obj{"version": 3, "sources": []obj{{
		"name": "default", "kind": "postgres", "tables": ts,
		"configuration": obj{"connection_info": obj{"database_url": obj{"from_env": "HASURA_GRAPHQL_DATABASE_URL"}}},
	}}}, "", " ")
}

// compileScale writes the generated schema (as a golang-migrate migration)
// and metadata under work, times parsing, loading and compiling them in
// process, then times `rowguard migrate up` of both into a fresh database.
func compileScale(ctx context.Context, serverURL, bin, work string, tables, roles int) (*compileStats, error) {
	cs := &compileStats{tables: tables, roles: roles}
	dir := filepath.Join(work, "compile")
	os.RemoveAll(dir)
	migDir := filepath.Join(dir, "migrations")
	if err := os.MkdirAll(migDir, 0o755); err != nil {
		return nil, err
	}
	ddl := scaleSchema(tables)
	mdFile := filepath.Join(dir, "metadata.json")
	md, err := scaleMetadata(tables, roles)
	if err != nil {
		return nil, err
	}
	for name, data := range map[string][]byte{
		filepath.Join(migDir, "1_schema.up.sql"):   []byte(ddl),
		filepath.Join(migDir, "1_schema.down.sql"): []byte("DROP SCHEMA public CASCADE; CREATE SCHEMA public;\n"),
		mdFile: md,
	} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return nil, err
		}
	}

	start := time.Now()
	cat, err := compiler.ParseDDL([]compiler.DDLFile{{Name: "schema.sql", SQL: ddl}})
	if err != nil {
		return nil, fmt.Errorf("parse the generated schema: %w", err)
	}
	cs.parse = time.Since(start)
	start = time.Now()
	meta, err := policies.Load(mdFile)
	if err != nil {
		return nil, fmt.Errorf("load the generated metadata: %w", err)
	}
	cs.load = time.Since(start)
	start = time.Now()
	prog, errs := compiler.Compile(cat, meta, compiler.Options{RolePrefix: "rgscale_"})
	if len(errs) > 0 {
		return nil, fmt.Errorf("compile the generated metadata: %w", errs)
	}
	out := rls.Emit(prog, rls.Options{DefinerRole: "rgscale_definer"})
	cs.compile = time.Since(start)
	cs.ddlBytes = len(out)

	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return nil, err
	}
	defer admin.Close(ctx)
	const db = "rowguard_bench_compile"
	for _, sql := range []string{"DROP DATABASE IF EXISTS " + db + " WITH (FORCE)", "CREATE DATABASE " + db} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			return nil, fmt.Errorf("%s: %w", sql, err)
		}
	}
	defer admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
	pc := admin.Config()
	dbURL := fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", pc.User, pc.Password, pc.Host, pc.Port, db)
	start = time.Now()
	cmd := exec.CommandContext(ctx, bin, "migrate", "up", "--database-url", dbURL, "--migrations", migDir,
		"--metadata", mdFile, "--role-prefix", "rgscale_", "--definer-role", "rgscale_definer")
	if outp, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("rowguard migrate up: %w\n%s", err, tailString(string(outp), 2000))
	}
	cs.migrate = time.Since(start)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_policies WHERE policyname LIKE 'rg\_%'`).Scan(&cs.policies); err != nil {
		return nil, err
	}
	return cs, nil
}
