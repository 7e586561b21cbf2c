package graphql

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
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
			rs, err := buildSchema(prog, name, cons, false)
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
	lim := limits{depth: DefaultDepthLimit, nodes: DefaultNodeLimit, fields: DefaultFieldLimit}
	if rs.admin {
		lim = limits{fields: DefaultFieldLimit}
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
