package console

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/rls"
)

// DiffResult is what saving shows before it applies: the metadata that
// changes (per table, as indented JSON) and the DDL that changes (the
// install scripts of both documents, line by line). Lines start with
// "  " (context), "- " or "+ "; "@@ " lines name the table or section.
type DiffResult struct {
	Metadata []string  `json:"metadata"`
	DDL      []string  `json:"ddl"`
	Errors   []Problem `json:"errors"`
}

// Diff compiles both documents and compares them.
func Diff(cat *compiler.Catalog, old, new json.RawMessage, copts compiler.Options, ropts rls.Options) *DiffResult {
	res := &DiffResult{Metadata: []string{}, DDL: []string{}, Errors: []Problem{}}
	res.Metadata = metadataDiff(old, new)
	oldRes, oldProg := Compile(cat, &CompileRequest{Metadata: old}, copts, ropts)
	newRes, newProg := Compile(cat, &CompileRequest{Metadata: new}, copts, ropts)
	if len(newRes.Errors) > 0 {
		res.Errors = newRes.Errors
		return res
	}
	oldScript := rls.Teardown()
	if oldProg != nil {
		oldScript = rls.Emit(oldProg, ropts)
	} else if len(oldRes.Errors) > 0 {
		res.Errors = append(res.Errors, Problem{Message: "the current metadata does not compile; the DDL diff is against an empty install", Where: "current"})
	}
	res.DDL = scriptDiff(oldScript, rls.Emit(newProg, ropts))
	return res
}

// metadataDiff compares the documents table by table.
func metadataDiff(old, new json.RawMessage) []string {
	oldNames, oldTables, err1 := tablesOf(old)
	newNames, newTables, err2 := tablesOf(new)
	if err1 != nil || err2 != nil {
		return lineDiff(indentLines(old), indentLines(new), "@@ metadata")
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range append(oldNames, newNames...) {
		if seen[n] {
			continue
		}
		seen[n] = true
		a, b := indentLines(oldTables[n]), indentLines(newTables[n])
		out = append(out, lineDiff(a, b, "@@ "+n)...)
	}
	var o, n struct {
		InheritedRoles json.RawMessage `json:"inherited_roles"`
	}
	_ = json.Unmarshal(old, &o)
	_ = json.Unmarshal(new, &n)
	return append(out, lineDiff(indentLines(o.InheritedRoles), indentLines(n.InheritedRoles), "@@ inherited_roles")...)
}

func indentLines(raw json.RawMessage) []string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return strings.Split(string(raw), "\n")
	}
	return strings.Split(buf.String(), "\n")
}

// positions are the metadata positions in generated comments, which move
// whenever an earlier table changes: the diff ignores them.
var positions = regexp.MustCompile(`metadata\.json:\d+:\d+`)

// scriptDiff compares two install scripts section by section (the
// preamble, then one section per table).
func scriptDiff(old, new string) []string {
	a, b := sections(old), sections(new)
	var names []string
	seen := map[string]bool{}
	for _, s := range append(a.order, b.order...) {
		if !seen[s] {
			seen[s] = true
			names = append(names, s)
		}
	}
	var out []string
	for _, n := range names {
		out = append(out, lineDiff(a.lines[n], b.lines[n], "@@ "+n)...)
	}
	return out
}

type sectioned struct {
	order []string
	lines map[string][]string
}

func sections(script string) sectioned {
	s := sectioned{lines: map[string][]string{}}
	cur := "roles, grants and helpers"
	s.order = append(s.order, cur)
	lines := strings.Split(script, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "-- ") && i > 0 && lines[i-1] == "" && strings.Count(l, " ") == 1 {
			cur = strings.TrimPrefix(l, "-- ")
			s.order = append(s.order, cur)
			continue
		}
		s.lines[cur] = append(s.lines[cur], l)
	}
	return s
}

// lineDiff returns a unified-style diff of a and b with two lines of
// context, under a header line, or nothing when they are equal (generated
// positions aside).
func lineDiff(a, b []string, header string) []string {
	key := func(s string) string { return positions.ReplaceAllString(s, "metadata.json") }
	// Common prefix and suffix first: edits are small.
	p := 0
	for p < len(a) && p < len(b) && key(a[p]) == key(b[p]) {
		p++
	}
	if p == len(a) && p == len(b) {
		return nil
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && key(a[len(a)-1-s]) == key(b[len(b)-1-s]) {
		s++
	}
	am, bm := a[p:len(a)-s], b[p:len(b)-s]
	var mid []string
	if len(am)*len(bm) > 4_000_000 {
		for _, l := range am {
			mid = append(mid, "- "+l)
		}
		for _, l := range bm {
			mid = append(mid, "+ "+l)
		}
	} else {
		mid = lcsDiff(am, bm, key)
	}
	out := []string{header}
	for i := max(0, p-2); i < p; i++ {
		out = append(out, "  "+a[i])
	}
	out = append(out, mid...)
	for i := len(a) - s; i < len(a) && i < len(a)-s+2; i++ {
		out = append(out, "  "+a[i])
	}
	return out
}

func lcsDiff(a, b []string, key func(string) string) []string {
	n, m := len(a), len(b)
	ka, kb := make([]string, n), make([]string, m)
	for i := range a {
		ka[i] = key(a[i])
	}
	for j := range b {
		kb[j] = key(b[j])
	}
	// l[i][j]: length of the LCS of a[i:] and b[j:].
	l := make([][]int32, n+1)
	for i := range l {
		l[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if ka[i] == kb[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && ka[i] == kb[j]:
			out = append(out, "  "+b[j])
			i++
			j++
		case j < m && (i == n || l[i][j+1] >= l[i+1][j]):
			out = append(out, "+ "+b[j])
			j++
		default:
			out = append(out, "- "+a[i])
			i++
		}
	}
	return out
}
