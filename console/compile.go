package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

// CellMarker is the JSON string a compile request puts where the edited
// permission goes; Compile replaces it with the editor's text as it is,
// so errors inside the permission are reported at the editor's line and
// column.
const CellMarker = "\x00rowguard-cell\x00"

// metadataFile names the document in compile errors.
const metadataFile = "metadata.json"

// CompileRequest is an edited metadata document and the cell being
// edited.
type CompileRequest struct {
	// Metadata is the export; where Permission is set, it holds
	// CellMarker as one permission's `permission` value.
	Metadata json.RawMessage `json:"metadata"`
	// Permission is the editor's text of that permission (JSON).
	Permission string `json:"permission,omitempty"`
	// Table ("schema.name") and Role choose the SQL returned.
	Table string `json:"table"`
	Role  string `json:"role"`
}

// Problem is one compile error. Where the error lies inside the edited
// permission, InCell is set and Line/Col are the editor's (1-based).
type Problem struct {
	Message string `json:"message"`
	Where   string `json:"where"`
	InCell  bool   `json:"in_cell"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
}

// CompileResult is what the rule editor shows beside the rule.
type CompileResult struct {
	// SQL holds the statements of the install script that concern the
	// table for the role: its policies and their comments, its GRANTs,
	// the table's preset trigger, the helpers its policies call.
	SQL    string    `json:"sql"`
	Errors []Problem `json:"errors"`
}

// document splices the editor's text into the metadata and returns the
// text to parse and the line and column where the text starts.
func document(req *CompileRequest) (string, int, int, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, req.Metadata, "", "  "); err != nil {
		return "", 0, 0, fmt.Errorf("metadata is not JSON: %w", err)
	}
	text := buf.String()
	if req.Permission == "" {
		return text, 0, 0, nil
	}
	marker, _ := json.Marshal(CellMarker)
	i := strings.Index(text, string(marker))
	if i < 0 {
		return "", 0, 0, fmt.Errorf("the metadata has no edited permission (%s) for the permission text", marker)
	}
	line := strings.Count(text[:i], "\n") + 1
	col := i - strings.LastIndex(text[:i], "\n")
	return text[:i] + req.Permission + text[i+len(marker):], line, col, nil
}

// Compile compiles an edited document against the catalog and returns the
// SQL of one table and role, or every error with its place.
func Compile(cat *compiler.Catalog, req *CompileRequest, copts compiler.Options, ropts rls.Options) (*CompileResult, *compiler.Program) {
	res := &CompileResult{Errors: []Problem{}}
	text, line, col, err := document(req)
	if err != nil {
		res.Errors = append(res.Errors, Problem{Message: err.Error(), Where: "request"})
		return res, nil
	}
	cellLines := strings.Count(req.Permission, "\n") + 1
	place := func(e *policies.Error) Problem {
		p := Problem{Message: e.Msg, Where: e.Pos.String()}
		if req.Permission != "" && e.Pos.Line >= line && e.Pos.Line < line+cellLines {
			p.InCell, p.Line, p.Col = true, e.Pos.Line-line+1, e.Pos.Col
			if e.Pos.Line == line {
				p.Col = e.Pos.Col - col + 1
			}
			p.Where = fmt.Sprintf("permission %d:%d", p.Line, p.Col)
		}
		return p
	}
	md, err := policies.Parse(metadataFile, []byte(text))
	if err != nil {
		res.Errors = append(res.Errors, problems(err, place)...)
		return res, nil
	}
	prog, errs := compiler.Compile(cat, md, copts)
	if len(errs) > 0 {
		res.Errors = append(res.Errors, problems(errs, place)...)
		return res, nil
	}
	if r := prog.Role(req.Role); r != nil && req.Table != "" {
		res.SQL = Pick(rls.Emit(prog, ropts), req.Table, r.PGName)
	}
	return res, prog
}

func problems(err error, place func(*policies.Error) Problem) []Problem {
	var list policies.ErrorList
	switch e := err.(type) {
	case policies.ErrorList:
		list = e
	case *policies.Error:
		list = policies.ErrorList{e}
	default:
		return []Problem{{Message: err.Error(), Where: metadataFile}}
	}
	out := make([]Problem, 0, len(list))
	for _, e := range list {
		out = append(out, place(e))
	}
	return out
}

// statement is one statement of an install script.
type statement struct {
	text string
}

// statements splits a section of the script into statements: a
// statement starts at column 0 and ends at a line ending in ";" outside
// a $rg$ body.
func statements(lines []string) []statement {
	var out []statement
	var cur []string
	inBody := false
	for _, l := range lines {
		if len(cur) == 0 && (strings.TrimSpace(l) == "" || strings.HasPrefix(l, "--")) {
			continue
		}
		cur = append(cur, l)
		if strings.Count(l, "$rg$")%2 == 1 {
			inBody = !inBody
		}
		if !inBody && strings.HasSuffix(strings.TrimSpace(l), ";") {
			out = append(out, statement{strings.Join(cur, "\n")})
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, statement{strings.Join(cur, "\n")})
	}
	return out
}

var (
	helperRef  = regexp.MustCompile(`rowguard\."(rg_[a-z0-9_]+)"`)
	policyName = regexp.MustCompile(`^CREATE POLICY ("(?:[^"]|"")+")`)
)

// Pick returns the statements of script (rls.Emit's output) that concern
// table ("schema.name") for the PostgreSQL role pgRole: the table's
// row-level security switches, the role's policies with their comments,
// the GRANTs to the role, the table's preset trigger when it acts for
// the role, and the helper functions those statements call.
func Pick(script, table, pgRole string) string {
	lines := strings.Split(script, "\n")
	header := "-- " + table
	start, end := -1, len(lines)
	for i, l := range lines {
		if start < 0 && l == header {
			start = i + 1
			continue
		}
		if start >= 0 && strings.HasPrefix(l, "-- ") && i > start && lines[i-1] == "" {
			end = i
			break
		}
	}
	if start < 0 {
		return ""
	}
	role := `"` + strings.ReplaceAll(pgRole, `"`, `""`) + `"`
	lit := "'" + strings.ReplaceAll(pgRole, "'", "''") + "'"
	var picked []string
	policies := map[string]bool{}
	helpers := map[string]bool{}
	presets := false
	for _, st := range statements(lines[start:end]) {
		t := st.text
		keep := false
		switch {
		case strings.HasPrefix(t, "CREATE POLICY"):
			if strings.Contains(t, " TO "+role+"\n") || strings.HasSuffix(strings.SplitN(t, "\n", 2)[0], " TO "+role) {
				keep = true
				if m := policyName.FindStringSubmatch(t); m != nil {
					policies[m[1]] = true
				}
			}
		case strings.HasPrefix(t, "COMMENT ON POLICY"):
			for p := range policies {
				if strings.HasPrefix(t, "COMMENT ON POLICY "+p+" ") {
					keep = true
				}
			}
		case strings.HasPrefix(t, "CREATE FUNCTION"):
			if strings.Contains(t, "current_user = "+lit) {
				keep, presets = true, true
			}
		case strings.HasPrefix(t, "COMMENT ON FUNCTION"), strings.HasPrefix(t, "CREATE TRIGGER"):
			keep = presets
		case strings.HasPrefix(t, "ALTER TABLE"):
			keep = !strings.Contains(t, "DISABLE ROW LEVEL SECURITY")
		case strings.HasPrefix(t, "GRANT"):
			keep = strings.Contains(t, " TO "+role+";") || strings.Contains(t, " TO "+role+",") || strings.Contains(t, ", "+role)
		}
		if keep {
			picked = append(picked, t)
			for _, m := range helperRef.FindAllStringSubmatch(t, -1) {
				helpers[m[1]] = true
			}
		}
	}
	if len(picked) == 0 {
		return ""
	}
	var pre []string
	if len(helpers) > 0 {
		first := start - 1
		for _, st := range statements(lines[:first]) {
			m := helperRef.FindStringSubmatch(st.text)
			if m == nil || !helpers[m[1]] {
				continue
			}
			if strings.HasPrefix(st.text, "GRANT EXECUTE") && !strings.Contains(st.text, " TO "+role+";") {
				continue
			}
			pre = append(pre, st.text)
		}
	}
	return strings.Join(append(pre, picked...), "\n") + "\n"
}
