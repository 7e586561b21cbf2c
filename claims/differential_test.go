package claims

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
)

var (
	diffSeed  = flag.Int64("claimseed", 1, "seed of TestDifferential")
	diffPaths = flag.Int("claimpaths", 400, "random paths TestDifferential compares")
)

// diffSchema: users with json, array and scalar columns, teams, and
// memberships joining them, related both ways.
const diffSchema = `
CREATE TABLE team (id integer PRIMARY KEY, name text, meta jsonb);
CREATE TABLE users (id integer PRIMARY KEY, name text, score bigint, doc jsonb, tags text[], best_team_id integer);
CREATE TABLE member (id integer PRIMARY KEY, user_id integer REFERENCES users (id), team_id integer REFERENCES team (id), role text);
`

const diffMetadata = `
- table: {schema: public, name: users}
  object_relationships:
    - name: best
      using: {manual_configuration: {remote_table: {schema: public, name: team}, column_mapping: {best_team_id: id}}}
  array_relationships:
    - name: memberships
      using: {foreign_key_constraint_on: {table: member, column: user_id}}
- table: {schema: public, name: member}
  object_relationships:
    - name: team
      using: {foreign_key_constraint_on: team_id}
    - name: user
      using: {foreign_key_constraint_on: user_id}
- table: {schema: public, name: team}
  array_relationships:
    - name: members
      using: {foreign_key_constraint_on: {table: member, column: team_id}}
`

var (
	jsonKeys    = []string{"a", "b", "id", "v"}
	jsonStrings = []string{"x", "y", "a b", `q"\`, "<&>\n", "", "null", "NULL", "{}", "\u2028\x01é"}
	roles       = []string{"admin", "member"}
)

// randJSON makes a JSON value without arrays directly inside arrays
// (lax jsonpath unwraps one level only, as hasura-auth's paths do).
func randJSON(r *rand.Rand, depth int, inArray bool) any {
	k := r.Intn(10)
	if depth <= 0 {
		k = r.Intn(4)
	}
	switch {
	case k == 0:
		return nil
	case k == 1:
		return json.Number(fmt.Sprint(r.Intn(5) - 1))
	case k == 2:
		return r.Intn(2) == 0
	case k == 3:
		return jsonStrings[r.Intn(len(jsonStrings))]
	case k <= 6 || inArray:
		o := map[string]any{}
		for _, key := range jsonKeys {
			if r.Intn(2) == 0 {
				o[key] = randJSON(r, depth-1, false)
			}
		}
		return o
	default:
		n := r.Intn(4)
		a := make([]any, n)
		for i := range a {
			a[i] = randJSON(r, depth-1, true)
		}
		return a
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func fillDiff(ctx context.Context, t *testing.T, conn *pgx.Conn, r *rand.Rand) {
	t.Helper()
	var b strings.Builder
	b.WriteString(diffSchema)
	for id := 1; id <= 4; id++ {
		fmt.Fprintf(&b, "INSERT INTO team VALUES (%d, %s, %s);\n", id, lit(r, jsonStrings[r.Intn(len(jsonStrings))]), jsonLit(r, randJSON(r, 3, false)))
	}
	for id := 1; id <= 4; id++ {
		tags := "NULL"
		if r.Intn(4) > 0 {
			var els []string
			for range r.Intn(4) {
				if r.Intn(5) == 0 {
					els = append(els, "NULL")
				} else {
					els = append(els, compiler.QuoteLiteral(jsonStrings[r.Intn(len(jsonStrings))]))
				}
			}
			tags = "ARRAY[" + strings.Join(els, ",") + "]::text[]"
		}
		best := "NULL"
		if r.Intn(3) > 0 {
			best = fmt.Sprint(1 + r.Intn(4))
		}
		fmt.Fprintf(&b, "INSERT INTO users VALUES (%d, %s, %d, %s, %s, %s);\n", id, lit(r, fmt.Sprint("u", id)), int64(1)<<53+int64(r.Intn(3)), jsonLit(r, randJSON(r, 4, false)), tags, best)
	}
	for id := 1; id <= 10; id++ {
		fmt.Fprintf(&b, "INSERT INTO member VALUES (%d, %d, %d, '%s');\n", 11-id, 1+r.Intn(4), 1+r.Intn(4), roles[r.Intn(2)])
	}
	if _, err := conn.Exec(ctx, b.String()); err != nil {
		t.Fatal(err)
	}
}

func lit(r *rand.Rand, s string) string {
	if r.Intn(6) == 0 {
		return "NULL"
	}
	return compiler.QuoteLiteral(s)
}

// jsonLit renders v as a jsonb literal, or NULL; a JSON null at the top is
// SQL NULL, as row_to_json cannot tell them apart for the Go evaluator.
func jsonLit(r *rand.Rand, v any) string {
	if r.Intn(8) == 0 || v == nil {
		return "NULL"
	}
	return compiler.QuoteLiteral(mustJSON(v))
}

// TestDifferential compares, for random paths over random rows, the
// claims computed in SQL (Namespace) with an evaluator in Go over the same
// rows read as JSON (goEval), for every user.
func TestDifferential(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDatabase(t))
	r := rand.New(rand.NewSource(*diffSeed))
	fillDiff(ctx, t, conn, r)
	cat, err := compiler.LoadCatalog(ctx, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	md, err := policies.Parse("metadata.yaml", []byte(diffMetadata))
	if err != nil {
		t.Fatal(err)
	}
	prog, errs := compiler.Compile(cat, md, compiler.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	db := loadRows(ctx, t, conn, prog)
	users := policies.QualifiedTable{Schema: "public", Name: "users"}
	compared, arrays, present, failed := 0, 0, 0, 0
	// Every path that encodes for every user, as one configuration, to
	// compare rowguard.rg_claims (the SQL encoder) with Namespace below.
	all := &Config{UserTable: users, UserKey: "id", Source: "differential"}
	for i := 0; i < *diffPaths; i++ {
		text := randPath(r, prog, users, 0)
		cfg := &Config{UserTable: users, UserKey: "id", Source: "differential"}
		p, err := ParsePath(text)
		if err != nil {
			t.Fatalf("generated path %q does not parse: %v", text, err)
		}
		def := "dflt"
		cl := &Claim{Key: "c", Var: "x-hasura-c", Setting: "hasura.x_hasura_c", Path: p, Source: "differential"}
		if r.Intn(2) == 0 {
			cl.Default = &def
		}
		cfg.Claims = []*Claim{cl}
		comp, err := Compile(cfg, prog, cat)
		if err != nil {
			t.Fatalf("generated path %q does not compile: %v", text, err)
		}
		encodes := true
		for uid := 1; uid <= 4; uid++ {
			sqlVals, sqlErr := Namespace(ctx, conn, comp, fmt.Sprint(uid))
			encodes = encodes && sqlErr == nil
			goVals, goErr := goNamespace(db, comp.Claims[0], uid)
			compared++
			switch {
			case (sqlErr != nil) != (goErr != nil):
				failed++
				t.Errorf("seed %d, path %q, user %d: SQL error %v, Go error %v", *diffSeed, text, uid, sqlErr, goErr)
			case sqlErr != nil:
			case diffValues(goVals, sqlVals) != "":
				failed++
				t.Errorf("seed %d, path %q, user %d (-Go +SQL):\n%s", *diffSeed, text, uid, diffValues(goVals, sqlVals))
			}
			if comp.Claims[0].Array {
				arrays++
			}
			if v, ok := sqlVals["x-hasura-c"]; ok && v != def && v != "{}" {
				present++
			}
			if failed > 10 {
				t.Fatal("too many mismatches")
			}
		}
		if encodes {
			k := fmt.Sprintf("c%d", i)
			all.Claims = append(all.Claims, &Claim{Key: k, Var: "x-hasura-" + k, Setting: "hasura.x_hasura_" + k, Path: p, Default: cl.Default, Source: text})
		}
	}
	compareInstalled(ctx, t, conn, all, prog, cat)
	t.Logf("seed %d: %d path×user cases (%d arrays, %d with a value found), %d mismatches", *diffSeed, compared, arrays, present, failed)
	if present < compared/5 {
		t.Errorf("only %d of %d cases found a value: the generator is too weak to test anything", present, compared)
	}
}

// randPath walks the metadata from table: relationships (with brackets
// after array ones), then a column, and into json with lax steps.
func randPath(r *rand.Rand, prog *compiler.Program, table policies.QualifiedTable, depth int) string {
	info := prog.Table(table)
	if depth < 3 && len(info.Relationships) > 0 && r.Intn(2) == 0 {
		rel := info.Relationships[r.Intn(len(info.Relationships))]
		s := rel.Name
		if rel.Kind == policies.ArrayRel {
			switch r.Intn(6) {
			case 1:
				s += "[]"
			case 2:
				s += "[*]"
			case 3:
				s += fmt.Sprintf("[%d]", r.Intn(3))
			case 4:
				s += fmt.Sprintf("[?(@.role == '%s')]", roles[r.Intn(2)])
			case 5:
				s += fmt.Sprintf("[?(@.id == %d)]", 1+r.Intn(10))
			}
		}
		return s + "." + randPath(r, prog, rel.Remote.Name, depth+1)
	}
	cols := info.Table.Columns
	c := cols[r.Intn(len(cols))]
	s := c.Name
	if isJSONish(c) {
		for range r.Intn(4) {
			switch r.Intn(5) {
			case 0, 1:
				s += "." + jsonKeys[r.Intn(len(jsonKeys))]
			case 2:
				s += "[]"
			case 3:
				s += fmt.Sprintf("[%d]", r.Intn(3))
			case 4:
				v := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(jsonStrings[r.Intn(len(jsonStrings))]) + "'"
				if r.Intn(2) == 0 {
					v = fmt.Sprint(r.Intn(5) - 1)
				}
				s += fmt.Sprintf("[?(@.%s == %s)]", jsonKeys[r.Intn(len(jsonKeys))], v)
			}
		}
	}
	if r.Intn(4) == 0 {
		s += "[]"
	}
	return s
}

// rowsDB holds every row of the program's tables as JSON objects (numbers
// as json.Number), in primary-key order.
type rowsDB map[policies.QualifiedTable][]map[string]any

func loadRows(ctx context.Context, t *testing.T, conn *pgx.Conn, prog *compiler.Program) rowsDB {
	t.Helper()
	db := rowsDB{}
	for _, ti := range prog.Tables {
		q := fmt.Sprintf("SELECT row_to_json(x)::text FROM %s x ORDER BY %s", compiler.QuoteTable(ti.Name()), compiler.QuoteIdent(ti.Table.PrimaryKey[0]))
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			v, err := decodeJSON([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			db[ti.Name()] = append(db[ti.Name()], v.(map[string]any))
		}
	}
	return db
}

// goNamespace evaluates one claim for a user in Go.
func goNamespace(db rowsDB, c *CompiledClaim, uid int) (Values, error) {
	var start []map[string]any
	for _, row := range db[c.Reads[0]] {
		if fmt.Sprint(row["id"]) == fmt.Sprint(uid) {
			start = append(start, row)
		}
	}
	items := goRows(db, c.Reads[0], start, c.Path.Segments)
	var v any
	if c.Array {
		v = items
		if items == nil {
			v = []any{}
		}
	} else if len(items) > 0 {
		v = items[0]
	}
	out := Values{}
	text, ok, err := Encode(v)
	if err != nil {
		return nil, err
	}
	if ok {
		out[c.Var] = text
	} else if c.Default != nil {
		out[c.Var] = *c.Default
	}
	return out, nil
}

// goRows follows segs from rows of table.
func goRows(db rowsDB, table policies.QualifiedTable, rows []map[string]any, segs []Segment) []any {
	name := segs[0].Name
	for _, rel := range relationshipsOf(table) {
		if rel.name != name {
			continue
		}
		next := 1
		var filters []Segment
		index := -1
		for ; next < len(segs) && segs[next].Kind != Field; next++ {
			switch segs[next].Kind {
			case Filter:
				filters = append(filters, segs[next])
			case Index:
				index = segs[next].N
			}
		}
		var related []map[string]any
		for _, row := range rows {
			var mine []map[string]any
			for _, o := range db[rel.remote] {
				if row[rel.local] == nil || fmt.Sprint(o[rel.remoteCol]) != fmt.Sprint(row[rel.local]) {
					continue
				}
				keep := true
				for _, f := range filters {
					keep = keep && o[f.Name] != nil && fmt.Sprint(o[f.Name]) == fmt.Sprint(f.Value)
				}
				if keep {
					mine = append(mine, o)
				}
			}
			if index >= 0 {
				if index < len(mine) {
					mine = mine[index : index+1]
				} else {
					mine = nil
				}
			}
			related = append(related, mine...)
		}
		return goRows(db, rel.remote, related, segs[next:])
	}
	// A column.
	var out []any
	rest := segs[1:]
	onlyEach := true
	for _, s := range rest {
		onlyEach = onlyEach && s.Kind == Each
	}
	for _, row := range rows {
		v := row[name]
		_, isArr := v.([]any)
		jsonish := name == "doc" || name == "meta" || name == "tags"
		if len(rest) == 0 || (!jsonish && onlyEach) {
			out = append(out, v)
			continue
		}
		if v == nil && !isArr {
			continue
		}
		out = append(out, laxEval([]any{v}, rest)...)
	}
	return out
}

// laxEval is PostgreSQL's lax-mode jsonpath over the steps segs.
func laxEval(items []any, segs []Segment) []any {
	for _, s := range segs {
		var next []any
		for _, v := range items {
			switch s.Kind {
			case Field:
				if a, ok := v.([]any); ok {
					for _, e := range a {
						if o, ok := e.(map[string]any); ok {
							if x, ok := o[s.Name]; ok {
								next = append(next, x)
							}
						}
					}
				} else if o, ok := v.(map[string]any); ok {
					if x, ok := o[s.Name]; ok {
						next = append(next, x)
					}
				}
			case Each:
				if a, ok := v.([]any); ok {
					next = append(next, a...)
				} else {
					next = append(next, v)
				}
			case Index:
				if a, ok := v.([]any); ok {
					if s.N < len(a) {
						next = append(next, a[s.N])
					}
				} else if s.N == 0 {
					next = append(next, v)
				}
			case Filter:
				elems := []any{v}
				if a, ok := v.([]any); ok {
					elems = a
				}
				for _, e := range elems {
					o, ok := e.(map[string]any)
					if !ok {
						continue
					}
					x, ok := o[s.Name]
					if !ok {
						continue
					}
					cands := []any{x}
					if a, ok := x.([]any); ok {
						cands = a
					}
					for _, c := range cands {
						if jsonEqual(c, s.Value) {
							next = append(next, e)
							break
						}
					}
				}
			}
		}
		items = next
	}
	return items
}

func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && x.String() == y.String()
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

type goRel struct {
	name, local, remoteCol string
	remote                 policies.QualifiedTable
}

// relationshipsOf restates diffMetadata's relationships, independently of
// the compiler.
func relationshipsOf(table policies.QualifiedTable) []goRel {
	pub := func(n string) policies.QualifiedTable { return policies.QualifiedTable{Schema: "public", Name: n} }
	all := map[string][]goRel{
		"users":  {{"best", "best_team_id", "id", pub("team")}, {"memberships", "id", "user_id", pub("member")}},
		"member": {{"team", "team_id", "id", pub("team")}, {"user", "user_id", "id", pub("users")}},
		"team":   {{"members", "id", "team_id", pub("member")}},
	}
	rels := all[table.Name]
	sort.Slice(rels, func(i, j int) bool { return rels[i].name < rels[j].name })
	return rels
}

// compareInstalled installs cfg's rowguard.rg_claims and checks that, for
// every user, the settings it sets are Namespace's values (” for none).
func compareInstalled(ctx context.Context, t *testing.T, conn *pgx.Conn, cfg *Config, prog *compiler.Program, cat *compiler.Catalog) {
	t.Helper()
	definer := pgtest.UniqueName("rg_claims_diff")
	pgtest.DropRolesLater(t, definer)
	comp, err := Compile(cfg, prog, cat)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE ROLE "+definer+" NOLOGIN BYPASSRLS; CREATE SCHEMA rowguard;"+InstallSQL(comp, definer, nil)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP OWNED BY "+definer) })
	mismatches := 0
	for uid := 1; uid <= 4; uid++ {
		want, err := Namespace(ctx, conn, comp, fmt.Sprint(uid))
		if err != nil {
			t.Fatal(err)
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SELECT rowguard.rg_claims($1)", fmt.Sprint(uid)); err != nil {
			t.Fatal(err)
		}
		for _, cl := range comp.Claims {
			var got string
			if err := tx.QueryRow(ctx, "SELECT current_setting($1)", cl.Setting).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want[cl.Var] {
				mismatches++
				t.Errorf("seed %d, path %q, user %d: rg_claims set %q, Namespace says %q", *diffSeed, cl.Source, uid, got, want[cl.Var])
			}
		}
		tx.Rollback(ctx)
	}
	t.Logf("seed %d: rg_claims and Namespace compared on %d paths × 4 users, %d mismatches", *diffSeed, len(comp.Claims), mismatches)
}
