package rls

import (
	"strings"
	"testing"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// TestExprMatchesPolicies renders every select filter of the golden cases
// through Expr and finds it, character for character, in the policy Emit
// wrote (for a view, in the WHERE of the role's per-role view or of its
// source function): the
// planner's copy calls the helpers the install created.
func TestExprMatchesPolicies(t *testing.T) {
	checked := 0
	for _, c := range goldenCases(t) {
		if strings.HasPrefix(c.name, "err_") {
			continue
		}
		prog := c.program(t)
		sql := Emit(prog, Options{})
		for _, ti := range prog.Tables {
			for _, p := range ti.Permissions {
				if p.Op != policies.Select || p.Filter == nil {
					continue
				}
				alias := compiler.QuoteIdent(ti.Name().Name)
				want := "FOR SELECT TO " + compiler.QuoteIdent(p.Role.PGName) + "\n  USING (" + Expr(p.Filter, alias, nil) + ");"
				if ti.Table.IsView {
					want = "FROM " + compiler.QuoteTable(ti.Name()) + " AS " + alias + "\n  WHERE " + Expr(p.Filter, alias, nil) + ";"
					if ti.Source {
						// In the body of the role's view source.
						want = "FROM " + compiler.QuoteTable(ti.Name()) + " AS " + alias + " WHERE " + Expr(p.Filter, alias, nil) + " $rg$;"
					}
				}
				if !strings.Contains(sql, want) {
					t.Errorf("%s: %s on %s: Expr's rendering is not the policy's:\n%s", c.name, p.Role.Name, ti.Name(), want)
				}
				checked++
			}
		}
	}
	if checked < 40 {
		t.Fatalf("only %d select filters checked", checked)
	}
}

// TestExprPin: a membership test on a pinned column tests the pinned value
// with the same helper; other columns and other nodes are unchanged.
func TestExprPin(t *testing.T) {
	prog := goldenCase{"rel_membership_chain", goldenDir + "/rel_membership_chain"}.program(t)
	pinned := 0
	for _, ti := range prog.Tables {
		for _, p := range ti.Permissions {
			if p.Op != policies.Select || p.Filter == nil {
				continue
			}
			plain := Expr(p.Filter, "_t1", nil)
			var cols []string
			got := Expr(p.Filter, "_t1", func(col *compiler.Column) string {
				cols = append(cols, col.Name)
				return "$9::" + col.Type
			})
			if len(cols) == 0 {
				if got != plain {
					t.Errorf("%s: nothing pinned, yet %q != %q", ti.Name(), got, plain)
				}
				continue
			}
			pinned++
			want := plain
			for _, col := range cols {
				want = strings.Replace(want, "_t1."+compiler.QuoteIdent(col)+" = ANY", "$9::"+ti.Table.Column(col).Type+" = ANY", 1)
			}
			if want == plain || got != want {
				t.Errorf("%s: pinned rendering\n got %s\nwant %s", ti.Name(), got, want)
			}
		}
	}
	if pinned == 0 {
		t.Fatal("no membership test was pinned in rel_membership_chain")
	}
}
