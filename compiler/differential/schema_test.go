package differential

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// The fixed schema of the differential test. Every text column is COLLATE
// "C", so PostgreSQL orders text bytewise as Go does. Every foreign key is
// DEFERRABLE INITIALLY DEFERRED: the keys exist for the catalog (relationships
// declared with foreign_key_constraint_on), but since every write case is
// rolled back they never fire, so the test may delete a referenced row or
// insert a dangling reference.
const schemaDDL = `
CREATE TABLE org (
  id int PRIMARY KEY,
  name text COLLATE "C",
  plan text COLLATE "C",
  seats int,
  active boolean,
  settings jsonb
);
CREATE TABLE member (
  id int PRIMARY KEY,
  org_id int REFERENCES org (id) DEFERRABLE INITIALLY DEFERRED,
  member_id int,
  role text COLLATE "C",
  level smallint
);
CREATE TABLE doc (
  id int PRIMARY KEY,
  org_id int REFERENCES org (id) DEFERRABLE INITIALLY DEFERRED,
  parent_id int REFERENCES doc (id) DEFERRABLE INITIALLY DEFERRED,
  owner_id int,
  title text COLLATE "C",
  body text COLLATE "C",
  score int,
  rank numeric(5,1),
  tag varchar(4) COLLATE "C",
  published boolean,
  meta jsonb,
  mark int NOT NULL DEFAULT 0
);
CREATE TABLE comment (
  id int PRIMARY KEY,
  doc_id int REFERENCES doc (id) DEFERRABLE INITIALLY DEFERRED,
  author_id int,
  body text COLLATE "C",
  likes bigint,
  flagged boolean,
  mark int NOT NULL DEFAULT 0
);
-- audit is not tracked in the metadata: rules reach it only through _exists.
CREATE TABLE audit (
  id int PRIMARY KEY,
  user_id int,
  action text COLLATE "C",
  level int,
  detail jsonb
);
`

// colType is a column's type as the generator and the evaluator see it.
type colType int

const (
	tInt  colType = iota // integer, smallint, bigint
	tNum                 // numeric: float64 values with at most two decimals
	tText                // text, varchar(n)
	tBool
	tJSON
)

func (t colType) String() string {
	return [...]string{"int", "numeric", "text", "bool", "jsonb"}[t]
}

// column is one column of the schema. Internal columns (mark) are never
// named by a generated rule: the write cases use them to see which rows a
// statement touched.
type column struct {
	name     string
	typ      colType
	idx      int
	internal bool
	// ref names the table an int column refers to, so generated values
	// and inserted rows point at rows that exist most of the time.
	ref string
	// maxLen bounds the length of a varchar column's values (not of the
	// constants compared with it).
	maxLen int
}

// table is one table of the schema, with its relationships and, for a
// round, its rows.
type table struct {
	name    string
	cols    []*column
	rels    []*relation
	tracked bool
	rows    []row
}

func (t *table) col(name string) *column {
	for _, c := range t.cols {
		if c.name == name {
			return c
		}
	}
	panic("differential: no column " + t.name + "." + name)
}

// ruleCols returns the columns a generated rule may name: of type typ, or
// of every type when all is set.
func (t *table) ruleCols(typ colType, all bool) []*column {
	var out []*column
	for _, c := range t.cols {
		if !c.internal && (all || c.typ == typ) {
			out = append(out, c)
		}
	}
	return out
}

// relation is a relationship as the metadata declares it: rows of to whose
// remote columns equal from's local columns, pair by pair.
type relation struct {
	name          string
	array         bool
	from, to      *table
	local, remote []*column
	// using is the relationship's `using` object, as JSON.
	using string
}

// row holds one value per column: nil (SQL NULL), int64, float64, string,
// bool or jsonValue.
type row []any

// jsonValue is a jsonb value; V is nil (JSON null), bool, float64, string,
// []any or map[string]any. It is a struct so that JSON null and SQL NULL
// stay apart.
type jsonValue struct{ V any }

// schema is the Go model of schemaDDL.
type schema struct {
	tables []*table
	byName map[string]*table
}

func newSchema() *schema {
	s := &schema{byName: map[string]*table{}}
	add := func(name string, tracked bool, cols ...*column) *table {
		t := &table{name: name, cols: cols, tracked: tracked}
		for i, c := range cols {
			c.idx = i
		}
		s.tables = append(s.tables, t)
		s.byName[name] = t
		return t
	}
	c := func(name string, typ colType) *column { return &column{name: name, typ: typ} }
	ref := func(name, to string) *column { return &column{name: name, typ: tInt, ref: to} }
	org := add("org", true, c("id", tInt), c("name", tText), c("plan", tText), c("seats", tInt), c("active", tBool), c("settings", tJSON))
	member := add("member", true, c("id", tInt), ref("org_id", "org"), ref("member_id", "user"), c("role", tText), c("level", tInt))
	doc := add("doc", true, c("id", tInt), ref("org_id", "org"), ref("parent_id", "doc"), ref("owner_id", "user"),
		c("title", tText), c("body", tText), c("score", tInt), c("rank", tNum), &column{name: "tag", typ: tText, maxLen: 4},
		c("published", tBool), c("meta", tJSON), &column{name: "mark", typ: tInt, internal: true})
	comment := add("comment", true, c("id", tInt), ref("doc_id", "doc"), ref("author_id", "user"), c("body", tText),
		c("likes", tInt), c("flagged", tBool), &column{name: "mark", typ: tInt, internal: true})
	add("audit", false, c("id", tInt), ref("user_id", "user"), c("action", tText), c("level", tInt), c("detail", tJSON))

	rel := func(from *table, name string, array bool, local string, to *table, remote, using string) {
		r := &relation{name: name, array: array, from: from, to: to, using: using}
		for _, l := range strings.Split(local, ",") {
			r.local = append(r.local, from.col(l))
		}
		for _, c := range strings.Split(remote, ",") {
			r.remote = append(r.remote, to.col(c))
		}
		from.rels = append(from.rels, r)
	}
	fk := func(col string) string { return `{"foreign_key_constraint_on": "` + col + `"}` }
	remoteFK := func(t, col string) string {
		return `{"foreign_key_constraint_on": {"table": {"schema": "public", "name": "` + t + `"}, "column": "` + col + `"}}`
	}
	manual := func(t, local, remote string) string {
		return `{"manual_configuration": {"remote_table": "` + t + `", "column_mapping": {"` + local + `": "` + remote + `"}}}`
	}
	rel(doc, "org", false, "org_id", org, "id", fk("org_id"))
	rel(doc, "parent", false, "parent_id", doc, "id", fk("parent_id"))
	rel(doc, "children", true, "id", doc, "parent_id", remoteFK("doc", "parent_id"))
	rel(doc, "comments", true, "id", comment, "doc_id", remoteFK("comment", "doc_id"))
	rel(doc, "owner_memberships", true, "owner_id", member, "member_id", manual("member", "owner_id", "member_id"))
	rel(org, "members", true, "id", member, "org_id", remoteFK("member", "org_id"))
	rel(org, "docs", true, "id", doc, "org_id", `{"foreign_key_constraint_on": {"table": "doc", "columns": ["org_id"]}}`)
	rel(member, "org", false, "org_id", org, "id", fk("org_id"))
	rel(comment, "doc", false, "doc_id", doc, "id", fk("doc_id"))
	rel(comment, "author", false, "author_id", member, "member_id", manual("member", "author_id", "member_id"))
	// A two-column mapping: the comment's document, when its author owns it.
	rel(comment, "own_doc", false, "doc_id,author_id", doc, "id,owner_id",
		`{"manual_configuration": {"remote_table": {"schema": "public", "name": "doc"}, "column_mapping": {"doc_id": "id", "author_id": "owner_id"}}}`)
	return s
}

// Sizes of the generated tables; ids run from 1.
var tableSizes = map[string]int{"org": 5, "member": 14, "doc": 30, "comment": 36, "audit": 10}

// maxUser is the largest user id in data and sessions.
const maxUser = 7

// textPool holds the strings data, constants and sessions draw from:
// duplicates, the empty string, case variants, LIKE and regex
// metacharacters, a quote, a backslash and a non-ASCII character.
var textPool = []string{
	"", "a", "A", "ab", "abc", "ABC", "Abc", "aab", "ba", "bbb", "dup", "dup", "foo", "Foo", "foo bar", "Hello World",
	"hello world", "a%b", "a_b", "100%", "%", "_", "x.y", "x*y", "(a)", "[b]", "a|b", "^a$", "it's", `back\slash`,
	"€uro", "1", "3", "42", "pro", "Pro", "free", "admin", "editor", "viewer",
}

// plainText is textPool without the strings that cannot be a LIKE pattern
// (a trailing backslash) — used for session variables, which may end up as
// patterns.
func plainText() []string {
	var out []string
	for _, s := range textPool {
		if !strings.Contains(s, `\`) {
			out = append(out, s)
		}
	}
	return out
}

// jsonKeys are the object keys of generated jsonb values.
var jsonKeys = []string{"a", "b", "c", "tags", "n"}

// dataGen draws values from a seeded generator.
type dataGen struct{ r *rand.Rand }

func (g dataGen) chance(p float64) bool { return g.r.Float64() < p }

func (g dataGen) pick(n int) int { return g.r.IntN(n) }

func (g dataGen) text() string { return textPool[g.pick(len(textPool))] }

func (g dataGen) smallInt() int64 { return int64(g.r.IntN(13)) - 3 }

func (g dataGen) jsonScalar() any {
	switch g.pick(5) {
	case 0:
		return float64(g.r.IntN(4))
	case 1:
		return []string{"x", "y", "a", ""}[g.pick(4)]
	case 2:
		return g.chance(0.5)
	case 3:
		return nil
	default:
		return jsonKeys[g.pick(len(jsonKeys))]
	}
}

// json returns a random JSON value; depth bounds nesting.
func (g dataGen) json(depth int) any {
	k := g.pick(10)
	switch {
	case depth <= 0 || k < 3:
		return g.jsonScalar()
	case k < 5:
		n := g.pick(4)
		a := make([]any, 0, n)
		for range n {
			if g.chance(0.2) {
				a = append(a, g.json(depth-1))
			} else {
				a = append(a, g.jsonScalar())
			}
		}
		return a
	default:
		m := map[string]any{}
		for range g.pick(4) {
			m[jsonKeys[g.pick(len(jsonKeys))]] = g.json(depth - 1)
		}
		return m
	}
}

// rootJSON returns a value for a jsonb column: mostly objects with nested
// keys, sometimes arrays, scalars and JSON null.
func (g dataGen) rootJSON() jsonValue {
	switch g.pick(10) {
	case 0:
		return jsonValue{g.jsonScalar()}
	case 1, 2:
		v := g.json(2)
		if _, ok := v.([]any); !ok {
			v = []any{g.jsonScalar(), g.jsonScalar()}
		}
		return jsonValue{v}
	default:
		m := map[string]any{}
		for range 1 + g.pick(3) {
			m[jsonKeys[g.pick(len(jsonKeys))]] = g.json(2)
		}
		return jsonValue{m}
	}
}

// value returns a random value for c in a table whose ids run 1..size.
func (g dataGen) value(c *column, nullP float64) any {
	if g.chance(nullP) {
		return nil
	}
	switch c.typ {
	case tInt:
		switch c.ref {
		case "user":
			return int64(1 + g.pick(maxUser))
		case "":
			return g.smallInt()
		default:
			return int64(1 + g.pick(tableSizes[c.ref]))
		}
	case tNum:
		return float64(g.smallInt()) + 0.5*float64(g.pick(2))
	case tText:
		for {
			s := g.text()
			if c.maxLen == 0 || len([]rune(s)) <= c.maxLen {
				return s
			}
		}
	case tBool:
		return g.chance(0.5)
	default:
		return g.rootJSON()
	}
}

// fill generates every table's rows.
func (s *schema) fill(g dataGen) {
	for _, t := range s.tables {
		n := tableSizes[t.name]
		t.rows = make([]row, n)
		for i := range n {
			r := make(row, len(t.cols))
			for _, c := range t.cols {
				switch {
				case c.name == "id":
					r[c.idx] = int64(i + 1)
				case c.internal:
					r[c.idx] = int64(0)
				default:
					r[c.idx] = g.value(c, 0.15)
				}
			}
			t.rows[i] = r
		}
	}
}

// loadSQL returns the statements that replace the database's rows with s's.
func (s *schema) loadSQL() string {
	var b strings.Builder
	b.WriteString("TRUNCATE audit, comment, doc, member, org;\n")
	for _, t := range s.tables {
		names := make([]string, len(t.cols))
		for i, c := range t.cols {
			names[i] = c.name
		}
		fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES\n", t.name, strings.Join(names, ", "))
		for i, r := range t.rows {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString("  (" + sqlValues(t.cols, r) + ")")
		}
		b.WriteString(";\n")
	}
	return b.String()
}

// sqlValues renders a row's values as SQL literals.
func sqlValues(cols []*column, r row) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = sqlLiteral(r[c.idx])
	}
	return strings.Join(parts, ", ")
}

func sqlLiteral(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case jsonValue:
		return sqlLiteral(jsonText(v.V)) + "::jsonb"
	}
	panic(fmt.Sprintf("differential: no literal for %T", v))
}

// jsonText renders a JSON value (object keys sorted).
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// showValue renders a value for reports.
func showValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return strconv.Quote(v)
	case jsonValue:
		return jsonText(v.V)
	}
	return fmt.Sprint(v)
}

// showRow renders a row as col=value pairs.
func showRow(t *table, r row) string {
	parts := make([]string, 0, len(t.cols))
	for _, c := range t.cols {
		if !c.internal {
			parts = append(parts, c.name+"="+showValue(r[c.idx]))
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// ids lists the ids of the rows at the given positions, sorted.
func ids(t *table, rows []int) []int64 {
	out := make([]int64, 0, len(rows))
	for _, i := range rows {
		out = append(out, t.rows[i][0].(int64))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
