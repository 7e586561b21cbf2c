package console

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

// withoutPositions zeroes every policies.Pos in v (a pointer), so two
// loads of the same metadata from different files compare equal.
func withoutPositions(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			withoutPositions(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(policies.Pos{}) {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				withoutPositions(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			withoutPositions(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			withoutPositions(e)
			v.SetMapIndex(k, e)
		}
	}
}

// comparable returns md's permissions without positions or warnings,
// as JSON.
func comparable(t *testing.T, md *policies.Metadata) string {
	t.Helper()
	md.Warnings = nil
	md.Source = ""
	withoutPositions(reflect.ValueOf(md))
	b, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// comments are the metadata positions in generated SQL (comments and
// warnings).
var comments = regexp.MustCompile(`'rowguard: [^']*'|metadata\.(json|yaml):\d+:\d+`)

// TestRoundTripGolden: every golden case that compiles means the same
// through the console's three forms: the export JSON it edits
// (ReadDocument), the YAML it writes back (jsonToYAML), and the
// compile request with each permission spliced in as the editor's text
// (Compile): the same metadata model and byte-identical SQL, comments'
// positions aside.
func TestRoundTripGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*"))
	if err != nil || len(dirs) < 20 {
		t.Fatalf("golden cases: %v (%d)", err, len(dirs))
	}
	n := 0
	for _, dir := range dirs {
		name := filepath.Base(dir)
		if strings.HasPrefix(name, "err_") {
			continue
		}
		mdText, err := os.ReadFile(filepath.Join(dir, "metadata.yaml"))
		if err != nil {
			continue
		}
		schema, err := os.ReadFile(filepath.Join(dir, "schema.sql"))
		if err != nil {
			if schema, err = os.ReadFile(filepath.Join("..", "testdata", "golden", "schema.sql")); err != nil {
				t.Fatal(err)
			}
		}
		n++
		t.Run(name, func(t *testing.T) {
			cat, err := compiler.ParseDDL([]compiler.DDLFile{{Name: "schema.sql", SQL: string(schema)}})
			if err != nil {
				t.Fatal(err)
			}
			orig, err := policies.Load(filepath.Join(dir, "metadata.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			prog, errs := compiler.Compile(cat, orig, compiler.Options{})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			want := comments.ReplaceAllString(rls.Emit(prog, rls.Options{}), "''")
			wantModel := comparable(t, orig)

			doc, err := ReadDocument(map[string]string{"metadata.yaml": string(mdText)}, "metadata.yaml")
			if err != nil {
				t.Fatal(err)
			}
			yamlText, err := jsonToYAML(doc.Export)
			if err != nil {
				t.Fatal(err)
			}
			for form, text := range map[string][]byte{"export JSON": doc.Export, "written YAML": yamlText} {
				md, err := policies.Parse("metadata.yaml", text)
				if err != nil {
					t.Fatalf("%s: %v\n%s", form, err, text)
				}
				if got := comparable(t, md); got != wantModel {
					t.Errorf("%s loads differently:\n got %s\nwant %s", form, got, wantModel)
				}
			}

			// Each permission as the editor sends it, keys in their order
			// (the order of a rule's keys is the order of its conditions).
			var root yaml.Node
			if err := yaml.Unmarshal(doc.Export, &root); err != nil {
				t.Fatal(err)
			}
			decoded, err := (&docReader{origins: map[string]string{}}).node(root.Content[0], "export")
			if err != nil {
				t.Fatal(err)
			}
			export := decoded.(orderedMap)
			src := export.get("sources").([]any)[0].(orderedMap)
			list, _ := src.get("tables").([]any)
			for _, tm := range list {
				tm := tm.(orderedMap)
				for _, op := range []string{"insert", "select", "update", "delete"} {
					perms, _ := tm.get(op + "_permissions").([]any)
					for _, p := range perms {
						p := p.(orderedMap)
						i := slices.IndexFunc(p, func(e kv) bool { return e.k == "permission" })
						saved := p[i].v
						text, err := json.MarshalIndent(saved, "", "  ")
						if err != nil {
							t.Fatal(err)
						}
						p[i].v = CellMarker
						body, err := json.Marshal(export)
						p[i].v = saved
						if err != nil {
							t.Fatal(err)
						}
						res, prog := Compile(cat, &CompileRequest{Metadata: body, Permission: string(text)}, compiler.Options{}, rls.Options{})
						if len(res.Errors) > 0 {
							t.Fatalf("%s permission of %s as the editor's text: %v", op, p.get("role"), res.Errors)
						}
						if got := comments.ReplaceAllString(rls.Emit(prog, rls.Options{}), "''"); got != want {
							t.Fatalf("%s permission of %s as the editor's text compiles differently (-want +got):\n%s", op, p.get("role"), strings.Join(lineDiff(strings.Split(want, "\n"), strings.Split(got, "\n"), "@@"), "\n"))
						}
					}
				}
			}
		})
	}
	t.Logf("%d golden cases round-trip", n)
}

// TestRoundTripRealProjects reads the shared real projects' metadata
// directories (Hasura CLI layout, !include) into the console's export and
// back: the same permissions, relationships and configuration as the
// loader reads from the directory.
func TestRoundTripRealProjects(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "real-projects")
	manifest, err := os.ReadFile(filepath.Join(root, "MANIFEST.yaml"))
	if err != nil {
		t.Skipf("no real projects: %v", err)
	}
	re := regexp.MustCompile(`(?m)^\s+metadata: (\S+)`)
	found := re.FindAllStringSubmatch(string(manifest), -1)
	if len(found) == 0 {
		t.Fatal("MANIFEST.yaml lists no metadata")
	}
	for _, m := range found {
		dir := filepath.Join(root, m[1])
		t.Run(m[1], func(t *testing.T) {
			orig, err := policies.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			files, rootName, err := readTree(dir)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := ReadDocument(files, rootName)
			if err != nil {
				t.Fatal(err)
			}
			md, err := policies.Parse("metadata.json", doc.Export)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := comparable(t, md), comparable(t, orig); got != want {
				t.Errorf("the export loads differently from the directory")
			}
			if len(doc.Origins) != len(orig.Tables) {
				t.Errorf("%d tables have a file to write back to, want %d", len(doc.Origins), len(orig.Tables))
			}
		})
	}
}
