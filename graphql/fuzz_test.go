package graphql

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// fuzzSeeds are operations on examples/blog: queries, aggregates,
// relationships, arguments, fragments, variables and mutations.
var fuzzSeeds = []struct{ query, vars string }{
	{`{ article { id title author { name } } }`, ``},
	{`{ article(where: {_or: [{published: {_eq: true}}, {user_id: {_eq: 1}}]}, order_by: [{title: desc}, {id: asc}], limit: 2, offset: 1) { id } }`, ``},
	{`{ article(distinct_on: [user_id], order_by: {user_id: asc}) { user_id } }`, ``},
	{`{ author(where: {articles: {title: {_ilike: "%a%"}}}) { name articles(order_by: {author: {name: asc}}) { title } } }`, ``},
	{`{ article_aggregate(where: {published: {_eq: true}}) { aggregate { count(columns: [user_id], distinct: true) max { id title } } nodes { id } } }`, ``},
	{`{ author { articles_aggregate { aggregate { count sum { id } avg { id } } } } }`, ``},
	{`{ tag_by_pk(id: 1) { __typename id a: name b: name } }`, ``},
	{`{ article(where: {_not: {content: {_is_null: true}}, created_at: {_gt: "2020-01-01"}, id: {_in: [1, 2, 3]}}) { id } }`, ``},
	{`{ article(where: {title: {_regex: "^A", _nlike: "x%"}}) { ...F } } fragment F on article { id author { ...G } } fragment G on author { name }`, ``},
	{`query Q($id: Int!, $n: Int, $o: [tag_order_by!]) { tag(where: {id: {_gte: $id}}, limit: $n, order_by: $o) { id } }`, `{"id": 1, "n": 2, "o": [{"name": "desc"}]}`},
	{`query($w: article_bool_exp) { article(where: $w) { id } }`, `{"w": {"_and": [{"id": {"_lt": 5}}, {"author": {"name": {"_eq": "Alice"}}}]}}`},
	{`{ organization { name members { member_id } } }`, ``},
	{`{ article(where: {organization_id: {_eq: 1}}, order_by: {id: desc}, limit: 3, offset: 1) { id title } }`, ``},
	{`{ article_aggregate(where: {_and: [{organization_id: {_eq: 2}}, {published: {_eq: false}}]}, order_by: {title: asc_nulls_first}, limit: 2) { nodes { id author { name } } } }`, ``},
	{`{ __schema { queryType { name } } __type(name: "article") { fields { name type { name kind ofType { name } } } } }`, ``},
	{`mutation { insert_article(objects: [{title: "n1"}, {title: "n2", published: true}]) { affected_rows returning { id title author { name } } } }`, ``},
	{`mutation M($o: article_insert_input!) { insert_article_one(object: $o) { id } }`, `{"o": {"title": "t", "content": "c"}}`},
	{`mutation { insert_tag(objects: [{name: "go"}], on_conflict: {constraint: tag_name_key, update_columns: [name], where: {id: {_gt: 0}}}) { affected_rows } }`, ``},
	{`mutation { insert_author_one(object: {name: "n", articles: {data: [{title: "a", tags: {data: [{tag: {data: {name: "x"}}}]}}]}}) { id } }`, ``},
	{`mutation { update_article(where: {id: {_eq: 1}}, _set: {title: "t"}, _inc: {user_id: 1}) { affected_rows returning { id } } }`, ``},
	{`mutation { update_article_by_pk(pk_columns: {id: 1}, _set: {published: false}) { id } }`, ``},
	{`mutation { update_article_many(updates: [{where: {id: {_eq: 1}}, _set: {title: "a"}}, {where: {id: {_eq: 2}}, _set: {title: "b"}}]) { affected_rows } }`, ``},
	{`mutation { delete_article(where: {author: {name: {_eq: "x"}}}) { affected_rows } delete_article_by_pk(id: 3) { id } }`, ``},
	{`mutation { delete_article_tag_by_pk(article_id: 1, tag_id: 2) { article_id } }`, ``},
}

// fuzzRoles are the roles each input is planned for.
var fuzzRoles = []string{AdminRole, "anonymous", "user", "nobody"}

// fuzzBlog is examples/blog compiled offline, with every role's schema.
type fuzzBlog struct {
	prog    *compiler.Program
	schemas map[string]*roleSchema
}

var (
	fuzzOnce sync.Once
	fuzzData *fuzzBlog
	fuzzErr  error
)

// loadFuzzBlog compiles examples/blog from its migrations (no database)
// and builds the schema of each fuzz role.
func loadFuzzBlog() (*fuzzBlog, error) {
	fuzzOnce.Do(func() {
		files, err := filepath.Glob("../examples/blog/migrations/*.up.sql")
		if err != nil || len(files) == 0 {
			fuzzErr = errors.New("no migrations in ../examples/blog")
			return
		}
		sort.Strings(files)
		var ddl []compiler.DDLFile
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				fuzzErr = err
				return
			}
			ddl = append(ddl, compiler.DDLFile{Name: f, SQL: string(b)})
		}
		cat, err := compiler.ParseDDL(ddl)
		if err != nil {
			fuzzErr = err
			return
		}
		md, err := policies.Load("../examples/blog/metadata")
		if err != nil {
			fuzzErr = err
			return
		}
		prog, errs := compiler.Compile(cat, md, compiler.Options{})
		if len(errs) > 0 {
			fuzzErr = errs
			return
		}
		// PostgreSQL's names for the keys (the catalog keeps their columns).
		cons := constraintSet{}
		for _, t := range cat.SortedTables() {
			if len(t.PrimaryKey) > 0 {
				cons[t.Name] = append(cons[t.Name], &constraint{name: t.Name.Name + "_pkey", columns: t.PrimaryKey})
			}
			for _, u := range t.Uniques {
				cons[t.Name] = append(cons[t.Name], &constraint{name: t.Name.Name + "_" + strings.Join(u, "_") + "_key", columns: u})
			}
		}
		fb := &fuzzBlog{prog: prog, schemas: map[string]*roleSchema{}}
		for _, role := range fuzzRoles {
			name := role
			if role == "nobody" {
				name = "" // a role the metadata does not name
			}
			rs, err := buildSchema(prog, name, cons, nil, false)
			if err != nil {
				fuzzErr = err
				return
			}
			fb.schemas[role] = rs
		}
		fuzzData = fb
	})
	return fuzzData, fuzzErr
}

// FuzzPlan runs operations through the request pipeline up to the SQL, for
// several roles: parse, limits, validation, variables, plan, render. It
// must never panic, every error must be in Hasura's shape, and every
// statement must parse as PostgreSQL.
func FuzzPlan(f *testing.F) {
	fb, err := loadFuzzBlog()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range fuzzSeeds {
		f.Add(s.query, s.vars)
	}
	f.Fuzz(func(t *testing.T, query, vars string) {
		for _, role := range fuzzRoles {
			checkPipeline(t, fb, role, query, vars)
		}
	})
}

func checkPipeline(t *testing.T, fb *fuzzBlog, role, query, vars string) {
	t.Helper()
	rs := fb.schemas[role]
	lim := limits{depth: DefaultDepthLimit, nodes: DefaultNodeLimit, fields: DefaultFieldLimit, inputDepth: DefaultInputDepthLimit}
	if rs.admin {
		lim = limits{fields: DefaultFieldLimit, inputDepth: DefaultInputDepthLimit}
	}
	_, op, gerr := parseOperation(rs, query, "", lim)
	if gerr != nil {
		checkError(t, role, query, gerr)
		return
	}
	var vals map[string]any
	if len(op.VariableDefinitions) > 0 {
		var raw map[string]any
		dec := json.NewDecoder(bytes.NewReader([]byte(vars)))
		dec.UseNumber()
		if dec.Decode(&raw) != nil {
			raw = nil
		}
		if e := checkVariables(raw, lim); e != nil {
			checkError(t, role, query, e)
			return
		}
		var err error
		vals, err = validator.VariableValues(rs.schema, op, raw)
		if err != nil {
			var ge *gqlerror.Error
			if errors.As(err, &ge) {
				checkError(t, role, query, variableError(ge))
			}
			return
		}
	}
	p, gerr := newPlan(fb.prog, rs, op, vals)
	if gerr != nil {
		checkError(t, role, query, gerr)
		return
	}
	if e := missingVariable(rs, p, &auth.Session{Role: role, Vars: map[string]string{}}); e != nil {
		checkError(t, role, query, e)
	}
	for _, st := range render(p) {
		if _, err := pg_query.Parse(st.sql); err != nil {
			t.Fatalf("%s: %q rendered SQL that does not parse: %v\n%s", role, query, err, st.sql)
		}
	}
}

// checkError fails unless e is in Hasura's shape: a code, a message and a
// JSON path into the request.
func checkError(t *testing.T, role, query string, e *Error) {
	t.Helper()
	if e.Code == "" || e.Message == "" || !strings.HasPrefix(e.Path, "$") {
		t.Fatalf("%s: %q: error not in Hasura's shape: %+v", role, query, e)
	}
	if _, err := json.Marshal(e); err != nil {
		t.Fatalf("%s: %q: error does not marshal: %v", role, query, err)
	}
}

// TestFuzzSeedsPlan checks that the fuzz seeds reach the SQL for the roles
// that may run them, so the fuzzer starts from operations that go deep.
func TestFuzzSeedsPlan(t *testing.T) {
	fb, err := loadFuzzBlog()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range fuzzSeeds {
		rs := fb.schemas[AdminRole]
		_, op, gerr := parseOperation(rs, s.query, "", limits{})
		if gerr != nil {
			t.Errorf("admin: %s: %v", s.query, gerr)
			continue
		}
		var raw map[string]any
		if s.vars != "" {
			dec := json.NewDecoder(strings.NewReader(s.vars))
			dec.UseNumber()
			if err := dec.Decode(&raw); err != nil {
				t.Fatal(err)
			}
		}
		vals, err := validator.VariableValues(rs.schema, op, raw)
		if err != nil {
			t.Errorf("admin: %s: variables: %v", s.query, err)
			continue
		}
		if _, gerr := newPlan(fb.prog, rs, op, vals); gerr != nil {
			t.Errorf("admin: %s: plan: %v", s.query, gerr)
		}
		for _, role := range fuzzRoles {
			checkPipeline(t, fb, role, s.query, s.vars)
		}
	}
}

// FuzzPlanGenerated builds an operation from the role's own schema, each
// choice (root field, arguments and their values, sub-fields) read from
// the fuzzer's bytes, so most inputs pass validation and reach the planner
// and the SQL, where text mutations mostly stop at the parser.
func FuzzPlanGenerated(f *testing.F) {
	fb, err := loadFuzzBlog()
	if err != nil {
		f.Fatal(err)
	}
	for i := range 8 {
		f.Add(uint8(i), []byte{byte(i * 37), 1, 2, 3, 200, 17, 99, 5, 250, 8})
	}
	f.Fuzz(func(t *testing.T, role uint8, data []byte) {
		r := fuzzRoles[int(role)%len(fuzzRoles)]
		g := &opGen{schema: fb.schemas[r].schema, data: data}
		checkPipeline(t, fb, r, g.operation(), "")
	})
}

// opGen writes a GraphQL operation, reading each choice from data.
type opGen struct {
	schema *ast.Schema
	data   []byte
	b      strings.Builder
}

// pick returns a choice in [0, n), 0 once the data is used up.
func (g *opGen) pick(n int) int {
	if n <= 1 || len(g.data) == 0 {
		return 0
	}
	c := int(g.data[0]) % n
	g.data = g.data[1:]
	return c
}

func (g *opGen) operation() string {
	root := g.schema.Query
	if g.schema.Mutation != nil && g.pick(3) == 0 {
		root = g.schema.Mutation
		g.b.WriteString("mutation ")
	}
	g.selection(root, 0)
	return g.b.String()
}

func (g *opGen) selection(def *ast.Definition, depth int) {
	var fields []*ast.FieldDefinition
	for _, f := range def.Fields {
		if !strings.HasPrefix(f.Name, "__") {
			fields = append(fields, f)
		}
	}
	g.b.WriteString("{ ")
	if len(fields) == 0 {
		g.b.WriteString("__typename }")
		return
	}
	for i := range 1 + g.pick(3) {
		f := fields[g.pick(len(fields))]
		sub := g.schema.Types[f.Type.Name()]
		composite := sub != nil && sub.IsCompositeType()
		if composite && depth >= 4 {
			g.b.WriteString("__typename ")
			continue
		}
		fmt.Fprintf(&g.b, "f%d: %s", i, f.Name)
		var args []string
		for _, a := range f.Arguments {
			if a.Type.NonNull || g.pick(3) == 0 {
				args = append(args, a.Name+": "+g.value(a.Type, 0))
			}
		}
		if len(args) > 0 {
			g.b.WriteString("(" + strings.Join(args, ", ") + ")")
		}
		g.b.WriteString(" ")
		if composite {
			g.selection(sub, depth+1)
			g.b.WriteString(" ")
		}
	}
	g.b.WriteString("}")
}

// fuzzStrings are string values with quoting, patterns, JSON and dates.
var fuzzStrings = []string{`"a"`, `""`, `"%a_'\""`, `"2020-01-01"`, `"2020-01-01T00:00:00Z"`, `"{\"k\": [1]}"`, `"\u00e9\n"`, `"1"`, `"(("`, `"$1"`}

func (g *opGen) value(t *ast.Type, depth int) string {
	if t.Elem != nil {
		var items []string
		for range g.pick(3) {
			items = append(items, g.value(t.Elem, depth+1))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	if !t.NonNull && g.pick(12) == 0 {
		return "null"
	}
	def := g.schema.Types[t.NamedType]
	if def == nil {
		return "null"
	}
	switch def.Kind {
	case ast.Enum:
		if len(def.EnumValues) == 0 {
			return "null"
		}
		return def.EnumValues[g.pick(len(def.EnumValues))].Name
	case ast.InputObject:
		var fields []string
		seen := map[string]bool{}
		for _, fd := range def.Fields {
			if fd.Type.NonNull && fd.DefaultValue == nil || depth < 4 && g.pick(len(def.Fields)/2+2) == 0 {
				if !seen[fd.Name] {
					seen[fd.Name] = true
					fields = append(fields, fd.Name+": "+g.value(fd.Type, depth+1))
				}
			}
		}
		return "{" + strings.Join(fields, ", ") + "}"
	}
	kind := def.Name
	if g.pick(10) == 0 {
		kind = "" // a value of any kind: the validator or the planner refuses it
	}
	switch kind {
	case "Int":
		return strconv.Itoa(g.pick(256) - 8)
	case "Float":
		return []string{"1.5", "-3", "0", "1e300"}[g.pick(4)]
	case "Boolean":
		return []string{"true", "false"}[g.pick(2)]
	case "String":
		return fuzzStrings[g.pick(len(fuzzStrings))]
	}
	switch g.pick(4) {
	case 0:
		return fuzzStrings[g.pick(len(fuzzStrings))]
	case 1:
		return []string{"true", "false"}[g.pick(2)]
	case 2:
		return []string{"1.5", "-3", "1e400", "9223372036854775808"}[g.pick(4)]
	}
	return strconv.Itoa(g.pick(256) - 8)
}
