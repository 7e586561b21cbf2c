package claims

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
)

const (
	user1 = "11111111-1111-1111-1111-111111111111"
	user2 = "22222222-2222-2222-2222-222222222222"
)

// testData fills testdata/users: user1 holds the data of hasura-auth's
// own test vectors in m and metadata, and memberships of two
// organisations; user2 has nothing.
const testData = `
INSERT INTO auth.users (id, display_name, m, metadata, settings, tags) VALUES
  ('` + user1 + `', 'Ann', '{"k":"v","l":["a","b","c"],"l2":["a"],"lm":[{"id":1},{"id":2},{"id":3}],"d":[{"id":1,"v":"a"},{"id":2,"v":"b"},{"id":3,"v":"a"}],"o":{"z":1,"a":"<&>","u":"\u2028\u0001"},"nested":[[1],[2]],"empty":[],"big":12345678901234567890,"n":null}',
   '{"m1":1}', '{"theme": "dark"}', '{x,"y z",NULL}'),
  ('` + user2 + `', NULL, NULL, NULL, NULL, NULL);
INSERT INTO organisation VALUES
  (1, 'A <b> & "c"' || chr(10) || 'd\e', '{"tags":["t1","t2"]}'),
  (2, 'Two', NULL),
  (3, 'Three', NULL);
INSERT INTO profile VALUES ('` + user1 + `', 'pro', 9007199254740993, 1), ('` + user2 + `', NULL, NULL, NULL);
INSERT INTO membership (user_id, organisation_id, role) VALUES
  ('` + user1 + `', 2, 'member'), ('` + user1 + `', 1, 'admin'), ('` + user1 + `', 3, 'admin');
INSERT INTO project VALUES
  ('979c0000-0000-0000-0000-000000000002', 1, 'p2'), ('3af10000-0000-0000-0000-000000000001', 1, 'p1'),
  ('00000000-0000-0000-0000-000000000003', 2, 'p3');
`

// testDB makes a database with testdata/users and its data, and returns
// a connection and the compiled program.
func testDB(t *testing.T) (*pgx.Conn, *compiler.Program, *compiler.Catalog) {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	schema, err := os.ReadFile(filepath.Join("testdata", "users", "schema.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, string(schema)+testData); err != nil {
		t.Fatal(err)
	}
	cat, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	md, err := policies.Load(filepath.Join("testdata", "users", "metadata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := compiler.Compile(cat, md, compiler.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return conn, prog, cat
}

// vectorClaims are hasura-auth's test vectors (paths over m and metadata)
// and paths across relationships, json and array columns. A claim whose
// path finds nothing is left out; with a default, it takes it.
const vectorClaims = `{
  "mk": "m.k", "ml2": "m.l[2]", "ml": "m.l[]", "mlstar": "m.l[*]",
  "lm1": "m.lm[].id", "lm2": "m.lm[*].id", "lm3": "m.lm.id[]", "l2": "m.l2[]",
  "meta": "metadata.m1", "none": "m.nonexistent.nonexistent", "nonedef": "m.nonexistent.nonexistent",
  "filter": "m.d[?(@.v == 'a')].id", "sliceEmpty": "m.empty[]", "obj": "m.o", "bigjson": "m.big", "jnull": "m.n",
  "missing-array": "m.nope[]",
  "org-ids": "memberships[].organisation_id",
  "admin-orgs": "memberships[?(@.role == 'admin')].organisation_id",
  "first-org": "memberships[0].organisation_id",
  "project-ids": "memberships[].organisation.projects[].id",
  "org-names": "memberships[].organisation.name",
  "org-name": "profile.organisation.name",
  "org-tags": "profile.organisation.data.tags[]",
  "plan": "profile.plan", "big": "profile.big", "nick": "display_name",
  "theme": "settings.theme", "tags": "tags[]", "tag1": "tags[1]"
}`

const vectorDefaults = `{"nonedef": "fallback", "plan": "free", "nick": "anonymous"}`

func compileVectors(t *testing.T, prog *compiler.Program, cat *compiler.Catalog) *Compiled {
	t.Helper()
	cfg, err := ParseHasuraAuth(vectorClaims, vectorDefaults, EnvClaims, EnvDefaults)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(cfg, prog, cat)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNamespaceVectors(t *testing.T) {
	conn, prog, cat := testDB(t)
	c := compileVectors(t, prog, cat)
	ctx := context.Background()
	orgName := "A <b> & \"c\"\nd\\e"
	tests := []struct {
		user string
		want Values
	}{
		{user1, Values{
			"x-hasura-mk": "v", "x-hasura-ml2": "c", "x-hasura-ml": `{"a","b","c"}`, "x-hasura-mlstar": `{"a","b","c"}`,
			"x-hasura-lm1": `{"1","2","3"}`, "x-hasura-lm2": `{"1","2","3"}`, "x-hasura-lm3": `{"1","2","3"}`,
			"x-hasura-l2": `{"a"}`, "x-hasura-meta": "1", "x-hasura-nonedef": "fallback",
			"x-hasura-filter": `{"1","3"}`, "x-hasura-sliceempty": "{}", "x-hasura-obj": "{\"a\":\"<&>\",\"u\":\"\u2028\\u0001\",\"z\":1}",
			"x-hasura-bigjson": "12345678901234567890", "x-hasura-missing-array": "{}",
			"x-hasura-org-ids":     `{"2","1","3"}`, // membership order (primary key)
			"x-hasura-admin-orgs":  `{"1","3"}`,
			"x-hasura-first-org":   "2",
			"x-hasura-project-ids": `{"00000000-0000-0000-0000-000000000003","3af10000-0000-0000-0000-000000000001","979c0000-0000-0000-0000-000000000002"}`,
			"x-hasura-org-names":   `{"Two","A <b> & \"c\"` + "\n" + `d\\e","Three"}`,
			"x-hasura-org-name":    orgName,
			"x-hasura-org-tags":    `{"t1","t2"}`,
			"x-hasura-plan":        "pro", "x-hasura-big": "9007199254740993", "x-hasura-nick": "Ann",
			"x-hasura-theme": "dark", "x-hasura-tags": `{"x","y z",NULL}`, "x-hasura-tag1": "y z",
		}},
		{user2, Values{
			"x-hasura-ml": "{}", "x-hasura-mlstar": "{}", "x-hasura-lm1": "{}", "x-hasura-lm2": "{}", "x-hasura-lm3": "{}",
			"x-hasura-l2": "{}", "x-hasura-nonedef": "fallback", "x-hasura-filter": "{}", "x-hasura-sliceempty": "{}",
			"x-hasura-missing-array": "{}", "x-hasura-org-ids": "{}", "x-hasura-admin-orgs": "{}", "x-hasura-project-ids": "{}",
			"x-hasura-org-names": "{}", "x-hasura-org-tags": "{}", "x-hasura-tags": "{}",
			"x-hasura-plan": "free", "x-hasura-nick": "anonymous",
		}},
	}
	tests = append(tests, struct {
		user string
		want Values
	}{"not-a-uuid", tests[1].want}) // no user, as user2 has nothing
	for _, tt := range tests {
		got, err := Namespace(ctx, conn, c, tt.user)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffValues(tt.want, got); d != "" {
			t.Errorf("user %s (-want +got):\n%s", tt.user, d)
		}
	}

	// Every array literal reads back in PostgreSQL as the elements it
	// was built from, cast to the type the policies compare it with.
	got, err := Namespace(ctx, conn, c, user1)
	if err != nil {
		t.Fatal(err)
	}
	casts := []struct{ claim, typ, want string }{
		{"x-hasura-org-ids", "integer[]", "{2,1,3}"},
		{"x-hasura-admin-orgs", "integer[]", "{1,3}"},
		{"x-hasura-lm1", "bigint[]", "{1,2,3}"},
		{"x-hasura-project-ids", "uuid[]", "{00000000-0000-0000-0000-000000000003,3af10000-0000-0000-0000-000000000001,979c0000-0000-0000-0000-000000000002}"},
		{"x-hasura-ml", "text[]", "{a,b,c}"},
		{"x-hasura-sliceempty", "integer[]", "{}"},
		{"x-hasura-tags", "text[]", `{x,"y z",NULL}`},
	}
	for _, cc := range casts {
		var out string
		if err := conn.QueryRow(ctx, "SELECT ($1::"+cc.typ+")::text", got[cc.claim]).Scan(&out); err != nil {
			t.Errorf("%s = %s as %s: %v", cc.claim, got[cc.claim], cc.typ, err)
		} else if out != cc.want {
			t.Errorf("%s = %s as %s = %s, want %s", cc.claim, got[cc.claim], cc.typ, out, cc.want)
		}
	}
	var names []string
	if err := conn.QueryRow(ctx, "SELECT $1::text[]", got["x-hasura-org-names"]).Scan(&names); err != nil {
		t.Fatal(err)
	}
	if want := []string{"Two", orgName, "Three"}; strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("org-names read back as %q, want %q", names, want)
	}
}

func diffValues(want, got Values) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			b.WriteString("- " + k + ": " + want[k] + "\n")
		} else if g != want[k] {
			b.WriteString("- " + k + ": " + want[k] + "\n+ " + k + ": " + g + "\n")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			b.WriteString("+ " + k + ": " + got[k] + "\n")
		}
	}
	return b.String()
}

func TestCompileErrors(t *testing.T) {
	_, prog, cat := testDB(t)
	tests := []struct{ path, want string }{
		{"profil.plan", `auth.users has no column or relationship "profil" (did you mean "profile"?)`},
		{"profile.plna", `public.profile has no column or relationship "plna" (did you mean "plan"?)`},
		{"profile[].plan", "profile is an object relationship (one row of public.profile): brackets apply to array relationships"},
		{"memberships", "the path ends on a row of public.membership, an object"},
		{"profile.organisation", "the path ends on a row of public.organisation"},
		{"memberships[].organisation.projects", "ends on a row of public.project"},
		{"profile.plan.x", "column public.profile.plan is text, not json or jsonb"},
		{"memberships[?(@.rol == 'admin')].id", `public.membership has no column "rol" to filter on (did you mean "role"?)`},
		{"memberships[0][1].id", "nothing may follow [N]"},
		{"display_name[1]", "not json or jsonb"},
	}
	for _, tt := range tests {
		cfg, err := ParseHasuraAuth(`{"c":`+jsonQuote(tt.path)+`}`, "", EnvClaims, EnvDefaults)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Compile(cfg, prog, cat)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `AUTH_JWT_CUSTOM_CLAIMS "c": claim "c", path `) {
			t.Errorf("%s: got %v, want %q", tt.path, err, tt.want)
		}
	}
	cfg, _ := ParseHasuraAuth(`{"c":"id"}`, "", EnvClaims, EnvDefaults)
	cfg.UserTable = policies.QualifiedTable{Schema: "auth", Name: "user"}
	if _, err := Compile(cfg, prog, cat); err == nil || !strings.Contains(err.Error(), "does not exist (did you mean auth.users?)") {
		t.Errorf("unknown user table: got %v", err)
	}
	// A nested array is refused with a clear error, not rendered.
	cfg, _ = ParseHasuraAuth(`{"n":"m.nested"}`, "", EnvClaims, EnvDefaults)
	c, err := Compile(cfg, prog, cat)
	if err != nil {
		t.Fatal(err)
	}
	conn, _, _ := testDB(t)
	if _, err := Namespace(context.Background(), conn, c, user1); err == nil || !strings.Contains(err.Error(), "element 0 is an array") {
		t.Errorf("nested array: got %v", err)
	}
}

// TestFirstHop: a path whose first relationship is keyed by a foreign key
// to the user key (memberships, and profile's manual relationship, whose
// user_id references auth.users) finds its rows by the user id without
// reading the user row; a path that reads a column of the user row, or
// starts from a relationship keyed by another column, joins it.
func TestFirstHop(t *testing.T) {
	conn, prog, cat := testDB(t)
	c := compileVectors(t, prog, cat)
	users := `"auth"."users"`
	for _, cl := range c.Claims {
		want := true
		switch cl.Key {
		case "org-ids", "admin-orgs", "first-org", "project-ids", "org-names", "org-name", "org-tags", "plan", "big":
			want = false
		}
		for _, sql := range []string{cl.SQL, cl.TextSQL} {
			if got := strings.Contains(sql, users); got != want {
				t.Errorf("claim %q (%s): reads the user row = %v, want %v:\n%s", cl.Key, cl.Path.Text, got, want, sql)
			}
		}
	}
	// With a foreign key added NOT VALID, rows older than the key may name
	// no user: the user row is read, and such a membership grants nothing.
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `ALTER TABLE membership DROP CONSTRAINT membership_user_id_fkey;
		INSERT INTO membership (user_id, organisation_id, role) VALUES ('33333333-3333-3333-3333-333333333333', 1, 'admin');
		ALTER TABLE membership ADD CONSTRAINT membership_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users (id) NOT VALID`); err != nil {
		t.Fatal(err)
	}
	cat2, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	md, err := policies.Load(filepath.Join("testdata", "users", "metadata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	prog2, errs := compiler.Compile(cat2, md, compiler.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cfg, err := ParseHasuraAuth(`{"org-ids":"memberships[].organisation_id"}`, "", EnvClaims, EnvDefaults)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Compile(cfg, prog2, cat2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c2.Claims[0].TextSQL, users) {
		t.Errorf("with a foreign key not validated the user row must be read:\n%s", c2.Claims[0].TextSQL)
	}
	vals, err := Namespace(ctx, conn, c2, "33333333-3333-3333-3333-333333333333")
	if err != nil {
		t.Fatal(err)
	}
	if vals["x-hasura-org-ids"] != "{}" {
		t.Errorf("a user that does not exist has organisations %q", vals["x-hasura-org-ids"])
	}
}
