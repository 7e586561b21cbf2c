package rls

import (
	"fmt"
	"strings"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// presetTrigger renders the BEFORE INSERT OR UPDATE trigger that applies the
// column presets (`set`) of every role that has them on t. It runs before
// the RLS checks, as Hasura applies presets before its check. A preset from
// a session variable that is not set raises an error instead of writing
// NULL, as Hasura refuses the request.
func (e *emitter) presetTrigger(t *compiler.TableInfo) string {
	var ins, upd []*compiler.Permission
	for _, p := range t.Permissions {
		if len(p.Presets) == 0 {
			continue
		}
		switch p.Op {
		case policies.Insert:
			ins = append(ins, p)
		case policies.Update:
			upd = append(upd, p)
		}
	}
	if len(ins) == 0 && len(upd) == 0 {
		return ""
	}
	fn := "rowguard." + compiler.QuoteIdent(compiler.ShortName("rg_presets_"+t.Name().Schema+"_"+t.Name().Name))
	trigger := compiler.QuoteIdent(compiler.ShortName("rg_presets_" + t.Name().Name))
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE FUNCTION %s() RETURNS trigger\n  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp\n  AS $rg$\nDECLARE\n  v text;\nBEGIN\n", fn)
	block := func(op string, perms []*compiler.Permission) {
		if len(perms) == 0 {
			return
		}
		fmt.Fprintf(&b, "  IF TG_OP = '%s' THEN\n", op)
		for i, p := range perms {
			kw := "ELSIF"
			if i == 0 {
				kw = "IF"
			}
			fmt.Fprintf(&b, "    %s current_user = %s THEN\n", kw, compiler.QuoteLiteral(p.Role.PGName))
			for _, s := range p.Presets {
				col := "NEW." + compiler.QuoteIdent(s.Column.Name)
				switch v := s.Value.(type) {
				case *compiler.SessionValue:
					fmt.Fprintf(&b, "      v := NULLIF(current_setting(%s, true), '');\n", compiler.QuoteLiteral(v.Setting))
					fmt.Fprintf(&b, "      IF v IS NULL THEN\n        RAISE EXCEPTION USING ERRCODE = 'P0002', MESSAGE = %s, HINT = %s;\n      END IF;\n",
						compiler.QuoteLiteral(fmt.Sprintf("missing session variable: %q", v.Name)),
						compiler.QuoteLiteral("set "+v.Setting+" in this transaction (set_config(name, value, true))"))
					fmt.Fprintf(&b, "      %s := v::%s;\n", col, v.Type)
				case *compiler.Const:
					fmt.Fprintf(&b, "      %s := %s::%s;\n", col, compiler.QuoteLiteral(v.Text), v.Type)
				}
			}
		}
		b.WriteString("    END IF;\n  END IF;\n")
	}
	block("INSERT", ins)
	block("UPDATE", upd)
	b.WriteString("  RETURN NEW;\nEND\n$rg$;\n")
	fmt.Fprintf(&b, "COMMENT ON FUNCTION %s() IS %s;\n", fn, compiler.QuoteLiteral("rowguard: column presets of "+t.Name().String()))
	fmt.Fprintf(&b, "CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s();\n",
		trigger, compiler.QuoteTable(t.Name()), fn)
	return b.String()
}
