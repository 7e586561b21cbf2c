package rls

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

var update = flag.Bool("update", false, "rewrite the golden files (want.sql, want_error.txt) from the current output")

const goldenDir = "../testdata/golden"

// goldenCase is one directory of testdata/golden: metadata.yaml and an
// optional schema.sql in; want.sql, or want_error.txt for a case that must
// fail, out.
type goldenCase struct {
	name, dir string
}

func goldenCases(t *testing.T) []goldenCase {
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenCase
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, goldenCase{e.Name(), filepath.Join(goldenDir, e.Name())})
		}
	}
	if len(out) < 40 {
		t.Fatalf("only %d golden cases", len(out))
	}
	return out
}

// schemaFor returns the case's schema.sql, or the shared one.
func (c goldenCase) schema(t *testing.T) (string, string) {
	for _, p := range []string{filepath.Join(c.dir, "schema.sql"), filepath.Join(goldenDir, "schema.sql")} {
		if b, err := os.ReadFile(p); err == nil {
			return p, string(b)
		}
	}
	t.Fatal("no schema.sql")
	return "", ""
}

// compile runs the whole offline pipeline on the case: the emitted SQL, or
// the error text.
func (c goldenCase) compile(t *testing.T) (sql string, errText string) {
	prog, errText := c.tryProgram(t)
	if errText != "" {
		return "", errText
	}
	return Emit(prog, Options{}), ""
}

// program compiles a case that must compile.
func (c goldenCase) program(t *testing.T) *compiler.Program {
	prog, errText := c.tryProgram(t)
	if errText != "" {
		t.Fatalf("%s: %s", c.name, errText)
	}
	return prog
}

// tryProgram compiles the case: the program, or the error text.
func (c goldenCase) tryProgram(t *testing.T) (*compiler.Program, string) {
	name, schema := c.schema(t)
	cat, err := compiler.ParseDDL([]compiler.DDLFile{{Name: filepath.Base(name), SQL: schema}})
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	md, err := policies.Load(filepath.Join(c.dir, "metadata.yaml"))
	if err != nil {
		return nil, err.Error() + "\n"
	}
	prog, errs := compiler.Compile(cat, md, compiler.Options{})
	if len(errs) > 0 {
		return nil, errs.Error() + "\n"
	}
	return prog, ""
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			sql, errText := c.compile(t)
			wantErr := strings.HasPrefix(c.name, "err_")
			if wantErr != (errText != "") {
				t.Fatalf("case %s: error = %q; cases named err_* must fail and only they", c.name, errText)
			}
			file, got := filepath.Join(c.dir, "want.sql"), sql
			if wantErr {
				file, got = filepath.Join(c.dir, "want_error.txt"), errText
			}
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run `go test ./rls -run TestGolden -update` and review the diff)", err)
			}
			if string(want) != got {
				t.Errorf("%s differs from the output (-want +got):\n%s", file, lineDiff(string(want), got))
			}
			if wantErr {
				return
			}
			if again, _ := c.compile(t); again != sql {
				t.Error("emitting twice gave different SQL")
			}
			if _, err := pg_query.Parse(sql); err != nil {
				t.Errorf("emitted SQL does not re-parse: %v", err)
			}
		})
	}
}

// lineDiff is a small line diff, enough to read a golden mismatch.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			i++
			j++
		case j < len(g) && (i >= len(w) || !slices.Contains(w[i:], g[j])):
			b.WriteString("+ " + g[j] + "\n")
			j++
		default:
			b.WriteString("- " + w[i] + "\n")
			i++
		}
	}
	return b.String()
}
