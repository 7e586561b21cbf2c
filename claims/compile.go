package claims

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// Compiled is a claims configuration resolved against a program and its
// catalog: one SQL expression per claim.
type Compiled struct {
	Config *Config
	Claims []*CompiledClaim // sorted by Var
	// KeyType is the type of the user table's key column; the user id is
	// cast to it.
	KeyType string
}

// CompiledClaim is a claim whose path is resolved.
type CompiledClaim struct {
	*Claim
	// Array is set when the claim is an array (its path iterates, or
	// crosses an array relationship).
	Array bool
	// SQL is an expression of type jsonb: the claim's value for the user
	// whose id is the text parameter $1; an array claim is a JSON array
	// ('[]' when nothing is found), a scalar claim NULL when nothing is
	// found. Namespace reads it and encodes in Go.
	SQL string
	// TextSQL is the same value already encoded as Encode does, of type
	// text: an array claim is its PostgreSQL array literal ('{}' when
	// nothing is found), built with one string_agg over the formatted
	// elements; a scalar claim is NULL when nothing is found.
	// rowguard.rg_claims sets it. Elements of integer, uuid, boolean and
	// text columns are formatted inline; other values go through jsonb.
	TextSQL string
	// Reads lists the tables the path names, user table first (also when
	// the expression finds the first relationship's rows by the user id
	// without reading the user row).
	Reads []policies.QualifiedTable
}

// Compile resolves every path of cfg against prog (its tracked tables'
// relationships) and cat (columns and types). Errors name the claim's
// source and the step, with the nearest existing name; every error is
// reported.
func Compile(cfg *Config, prog *compiler.Program, cat *compiler.Catalog) (*Compiled, error) {
	users := cat.Table(cfg.UserTable)
	if users == nil {
		return nil, fmt.Errorf("%s: the user table %s does not exist%s; set it with --claims-user-table or %s", cfg.Source, cfg.UserTable, suggestTable(cfg.UserTable, cat), EnvUserTable)
	}
	key := users.Column(cfg.UserKey)
	if key == nil {
		return nil, fmt.Errorf("%s: the user table %s has no column %q%s; set the key with --claims-user-key or %s", cfg.Source, cfg.UserTable, cfg.UserKey, suggestColumn(cfg.UserKey, users), EnvUserKey)
	}
	out := &Compiled{Config: cfg, KeyType: key.Type}
	var errs []error
	for _, c := range cfg.Claims {
		w := &walker{prog: prog, cat: cat, claim: c}
		cc, err := w.compile(users, key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out.Claims = append(out.Claims, cc)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// walker renders one path as a FROM list of LATERAL joins from the user
// row (or from the rows of its first relationship, see firstHop), and a
// value.
type walker struct {
	prog  *compiler.Program
	cat   *compiler.Catalog
	claim *Claim
	from  []string
	order []string
	reads []policies.QualifiedTable
	array bool
	n     int
}

// value is where a path ends: a jsonb expression, and, when the path ends
// on a column (no step into its JSON), the column and its expression, so
// the text encoding can format it without a detour through jsonb.
type value struct {
	json string
	col  *compiler.Column
	expr string
}

func (w *walker) alias() string {
	w.n++
	return fmt.Sprintf("t%d", w.n)
}

func (w *walker) errorf(seg int, format string, args ...any) error {
	segs := w.claim.Path.Segments
	at := ""
	if seg < len(segs) {
		at = fmt.Sprintf(" at %q", w.claim.Path.Text[segs[seg].Offset:])
	}
	return fmt.Errorf("%s: claim %q, path %q%s: %s", w.claim.Source, w.claim.Key, w.claim.Path.Text, at, fmt.Sprintf(format, args...))
}

func (w *walker) compile(users *compiler.Table, key *compiler.Column) (*CompiledClaim, error) {
	a := "t0"
	w.reads = []policies.QualifiedTable{users.Name}
	id := userIDParam(key.Type)
	var v value
	var where string
	var err error
	if r := w.firstHop(users, key); r != nil {
		// The related rows name the user by a foreign key to the key
		// column: they are found by it, without reading the user row.
		v, err = w.relationship(r, "", id, 0)
	} else {
		w.from = []string{compiler.QuoteTable(users.Name) + " " + a}
		where = fmt.Sprintf(" WHERE %s.%s = %s", a, compiler.QuoteIdent(key.Name), id)
		v, err = w.table(users, a, 0)
	}
	if err != nil {
		return nil, err
	}
	w.array = w.array || w.claim.Path.IsArray()
	from := strings.Join(w.from, " ")
	order := ""
	if len(w.order) > 0 {
		order = " ORDER BY " + strings.Join(w.order, ", ")
	}
	cc := &CompiledClaim{Claim: w.claim, Array: w.array, Reads: w.reads}
	if w.array {
		cc.SQL = fmt.Sprintf("(SELECT COALESCE(jsonb_agg(%s%s), '[]'::jsonb) FROM %s%s)", v.json, order, from, where)
		cc.TextSQL = fmt.Sprintf("(SELECT '{' || COALESCE(string_agg(%s, ','%s), '') || '}' FROM %s%s)", w.elementText(v), order, from, where)
	} else {
		cc.SQL = fmt.Sprintf("(SELECT %s FROM %s%s%s LIMIT 1)", v.json, from, where, order)
		cc.TextSQL = fmt.Sprintf("(SELECT %s FROM %s%s%s LIMIT 1)", w.scalarText(v), from, where, order)
	}
	return cc, nil
}

// firstHop returns the relationship the path starts with when its rows
// can be found by the user id alone: one column pair from the key column,
// backed by a foreign key PostgreSQL enforces from the related table to
// the key (a related row then always has its user, so reading the user row
// adds nothing). Otherwise nil.
func (w *walker) firstHop(users *compiler.Table, key *compiler.Column) *compiler.Relationship {
	segs := w.claim.Path.Segments
	if w.prog == nil || len(segs) == 0 || segs[0].Kind != Field {
		return nil
	}
	info := w.prog.Table(users.Name)
	if info == nil {
		return nil
	}
	r := info.Relationship(segs[0].Name)
	if r == nil || len(r.Mapping) != 1 || r.Mapping[0].Local.Name != key.Name {
		return nil
	}
	for _, fk := range r.Remote.ForeignKeys {
		if fk.Enforced() && fk.RefTable == users.Name && len(fk.Columns) == 1 && fk.Columns[0] == r.Mapping[0].Remote.Name &&
			len(fk.RefColumns) == 1 && fk.RefColumns[0] == key.Name {
			return r
		}
	}
	return nil
}

// table resolves the steps from seg on, standing on a row of t (alias a).
func (w *walker) table(t *compiler.Table, a string, seg int) (value, error) {
	segs := w.claim.Path.Segments
	if seg >= len(segs) {
		return value{}, w.errorf(seg-1, "the path ends on a row of %s, an object: a claim is a value; add one of its columns (%s)", t.Name, columnList(t))
	}
	s := segs[seg]
	if s.Kind != Field {
		return value{}, w.errorf(seg, "a row of %s is an object, not an array: remove the brackets", t.Name)
	}
	var info *compiler.TableInfo
	if w.prog != nil {
		info = w.prog.Table(t.Name)
	}
	if info != nil {
		if r := info.Relationship(s.Name); r != nil {
			return w.relationship(r, a, "", seg)
		}
	}
	if c := t.Column(s.Name); c != nil {
		return w.column(c, a, seg)
	}
	names := columnNames(t)
	if info != nil {
		for _, r := range info.Relationships {
			names = append(names, r.Name)
		}
	}
	hint := ""
	if n := closest(s.Name, names); n != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", n)
	} else if info == nil {
		hint = fmt.Sprintf(" (%s is not tracked in the metadata, so it has no relationships to follow)", t.Name)
	}
	return value{}, w.errorf(seg, "%s has no column or relationship %q%s", t.Name, s.Name, hint)
}

// relationship joins the related rows of r, with the brackets that follow
// it: [] or [*] (every row, also the default of an array relationship),
// [N] (the row at N in primary-key order) and filters. The rows are those
// of the row aliased a, or, when a is "", those whose one mapped column
// equals userID (the first hop, see firstHop).
func (w *walker) relationship(r *compiler.Relationship, a, userID string, seg int) (value, error) {
	segs := w.claim.Path.Segments
	b := w.alias()
	remote := r.Remote
	var conds []string
	for _, m := range r.Mapping {
		if a == "" {
			conds = append(conds, fmt.Sprintf("%s.%s = %s", b, compiler.QuoteIdent(m.Remote.Name), userID))
			continue
		}
		conds = append(conds, fmt.Sprintf("%s.%s = %s.%s", b, compiler.QuoteIdent(m.Remote.Name), a, compiler.QuoteIdent(m.Local.Name)))
	}
	var pk []string
	for _, k := range remote.PrimaryKey {
		pk = append(pk, b+"."+compiler.QuoteIdent(k))
	}
	many := r.Kind == policies.ArrayRel
	limit := ""
	next := seg + 1
	for ; next < len(segs) && segs[next].Kind != Field; next++ {
		s := segs[next]
		if !many {
			return value{}, w.errorf(next, "%s is an object relationship (one row of %s): brackets apply to array relationships; remove them", r.Name, remote.Name)
		}
		if limit != "" {
			return value{}, w.errorf(next, "nothing may follow [N] after a relationship; write the filter before the index")
		}
		switch s.Kind {
		case Index:
			limit = fmt.Sprintf(" OFFSET %d LIMIT 1", s.N)
		case Filter:
			c := remote.Column(s.Name)
			if c == nil {
				return value{}, w.errorf(next, "%s has no column %q to filter on%s", remote.Name, s.Name, suggestColumn(s.Name, remote))
			}
			conds = append(conds, fmt.Sprintf("%s.%s = %s::%s", b, compiler.QuoteIdent(c.Name), compiler.QuoteLiteral(fmt.Sprint(s.Value)), c.Type))
		}
	}
	order := ""
	if limit != "" && len(pk) > 0 {
		order = " ORDER BY " + strings.Join(pk, ", ")
	}
	join := "CROSS JOIN LATERAL "
	if a == "" {
		join = ""
	}
	w.from = append(w.from, fmt.Sprintf("%s(SELECT * FROM %s %s WHERE %s%s%s) %s",
		join, compiler.QuoteTable(remote.Name), b, strings.Join(conds, " AND "), order, limit, b))
	w.reads = append(w.reads, remote.Name)
	if many && limit == "" {
		w.array = true
		w.order = append(w.order, pk...)
	}
	return w.table(remote, b, next)
}

// isJSONish tells the columns a path may go into: json, jsonb and
// PostgreSQL arrays (read as JSON arrays).
func isJSONish(c *compiler.Column) bool {
	return c.Type == "json" || c.Type == "jsonb" || strings.HasSuffix(c.Type, "[]")
}

// column ends the path on c, or goes on into its JSON value with a
// jsonpath in lax mode (a missing key or index is no value, a field of an
// array is the field of each element).
func (w *walker) column(c *compiler.Column, a string, seg int) (value, error) {
	segs := w.claim.Path.Segments
	col := a + "." + compiler.QuoteIdent(c.Name)
	whole := value{json: "to_jsonb(" + col + ")", col: c, expr: col}
	rest := segs[seg+1:]
	if len(rest) == 0 {
		return whole, nil
	}
	if !isJSONish(c) {
		onlyEach := true
		for _, s := range rest {
			onlyEach = onlyEach && s.Kind == Each
		}
		if onlyEach {
			// Nhost's trailing []: the claim is an array.
			return whole, nil
		}
		return value{}, w.errorf(seg+1, "column %s.%s is %s, not json or jsonb: the path must end at it", w.reads[len(w.reads)-1], c.Name, c.Type)
	}
	j := w.alias()
	w.from = append(w.from, fmt.Sprintf("CROSS JOIN LATERAL jsonb_path_query(to_jsonb(%s), %s::jsonpath) WITH ORDINALITY AS %s(v, o)",
		col, compiler.QuoteLiteral(JSONPath(rest)), j))
	w.order = append(w.order, j+".o")
	return value{json: j + ".v"}, nil
}

// Column types whose text needs no jsonb detour: their ::text is the text
// Encode gives their JSON value (to_jsonb of a bigint is its digits, of a
// uuid its string, of a boolean true or false), and, for plainTypes, holds
// no " or \ to escape.
var (
	plainTypes = map[string]bool{"smallint": true, "integer": true, "bigint": true, "uuid": true, "boolean": true}
	textTypes  = map[string]bool{"text": true, "character varying": true, "name": true}
)

func isTextType(typ string) bool {
	base, _, _ := strings.Cut(typ, "(")
	return textTypes[base]
}

// escapeSQL renders the escaping of an array element: \ and " with a
// backslash.
func escapeSQL(s string) string {
	return `replace(replace(` + s + `, '\', '\\'), '"', '\"')`
}

// scalarText renders v as a scalar claim's text: NULL when there is no
// value.
func (w *walker) scalarText(v value) string {
	if v.col != nil && (plainTypes[v.col.Type] || isTextType(v.col.Type)) {
		return v.expr + "::text"
	}
	return fmt.Sprintf("rowguard.rg_claim_text(%s, %s)", v.json, compiler.QuoteLiteral(w.claim.Var))
}

// elementText renders v as one element of an array literal: double-quoted
// and escaped, NULL unquoted, an object as its JSON text; an array raises
// an error naming the claim (rowguard.rg_claim_nested), as Encode refuses
// it.
func (w *walker) elementText(v value) string {
	if v.col != nil && plainTypes[v.col.Type] {
		return fmt.Sprintf(`COALESCE('"' || %s::text || '"', 'NULL')`, v.expr)
	}
	if v.col != nil && isTextType(v.col.Type) {
		return fmt.Sprintf(`COALESCE('"' || %s || '"', 'NULL')`, escapeSQL(v.expr+"::text"))
	}
	j := v.json
	return fmt.Sprintf(`CASE COALESCE(jsonb_typeof(%[1]s), 'null') WHEN 'null' THEN 'NULL' WHEN 'string' THEN '"' || %[2]s || '"' `+
		`WHEN 'object' THEN '"' || %[3]s || '"' WHEN 'array' THEN rowguard.rg_claim_nested(%[1]s, %[4]s) ELSE '"' || %[1]s::text || '"' END`,
		j, escapeSQL(j+" #>> '{}'"), escapeSQL("rowguard.rg_claim_json("+j+")"), compiler.QuoteLiteral(w.claim.Var))
}

// JSONPath renders path steps as a PostgreSQL jsonpath (lax mode) from $:
// a.b[].c as $."a"."b"[*]."c", [?(@.f == 'x')] as [*] ? (@."f" == "x").
func JSONPath(segs []Segment) string {
	var b strings.Builder
	b.WriteString("$")
	for _, s := range segs {
		switch s.Kind {
		case Field:
			b.WriteString("." + jsonString(s.Name))
		case Each:
			b.WriteString("[*]")
		case Index:
			fmt.Fprintf(&b, "[%d]", s.N)
		case Filter:
			lit := fmt.Sprint(s.Value)
			if str, ok := s.Value.(string); ok {
				lit = jsonString(str)
			}
			fmt.Fprintf(&b, "[*] ? (@.%s == %s)", jsonString(s.Name), lit)
		}
	}
	return b.String()
}

func jsonString(s string) string {
	j, _ := compactJSON(s)
	return j
}

func columnNames(t *compiler.Table) []string {
	var out []string
	for _, c := range t.Columns {
		out = append(out, c.Name)
	}
	return out
}

func columnList(t *compiler.Table) string {
	names := columnNames(t)
	if len(names) > 6 {
		names = append(names[:6], "…")
	}
	return strings.Join(names, ", ")
}

func suggestColumn(name string, t *compiler.Table) string {
	if n := closest(name, columnNames(t)); n != "" {
		return fmt.Sprintf(" (did you mean %q?)", n)
	}
	return ""
}

func suggestTable(q policies.QualifiedTable, cat *compiler.Catalog) string {
	var names []string
	for _, t := range cat.SortedTables() {
		names = append(names, t.Name.String())
	}
	if n := closest(q.String(), names); n != "" {
		return fmt.Sprintf(" (did you mean %s?)", n)
	}
	return ""
}

// userIDParam renders $1 (the user id, text) cast to the key's type. For
// uuid and integer keys, an id that is not one is no user (NULL) rather
// than an error: with fresh claims every request computes them, and a
// token whose x-hasura-user-id is not a key must not fail requests whose
// permissions never read a claim.
func userIDParam(typ string) string {
	switch typ {
	case "uuid":
		return `CASE WHEN $1 ~ '^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$' THEN $1::uuid END`
	case "smallint":
		return `CASE WHEN $1 ~ '^-?[0-9]{1,4}$' THEN $1::smallint END`
	case "integer":
		return `CASE WHEN $1 ~ '^-?[0-9]{1,9}$' THEN $1::integer END`
	case "bigint":
		return `CASE WHEN $1 ~ '^-?[0-9]{1,18}$' THEN $1::bigint END`
	}
	return "$1::" + typ
}
