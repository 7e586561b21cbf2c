package metadataapi

import (
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/rowguard/rowguard/policies"
)

// permissionSpan is where one permission entry sits in the rendered
// metadata, so compile errors (which carry lines) can be traced to it.
type permissionSpan struct {
	table      int
	kind       string
	index      int
	start, end int
}

// permissionSpans finds the line range of every permission entry in the
// JSON that export renders (JSON is YAML, and yaml.v3 keeps lines).
func permissionSpans(rendered []byte) []permissionSpan {
	var root yaml.Node
	if yaml.Unmarshal(rendered, &root) != nil || len(root.Content) == 0 {
		return nil
	}
	sources := child(root.Content[0], "sources")
	if sources == nil || len(sources.Content) == 0 {
		return nil
	}
	tables := child(sources.Content[0], "tables")
	if tables == nil {
		return nil
	}
	var out []permissionSpan
	for ti, tn := range tables.Content {
		for _, kind := range permissionKinds {
			list := child(tn, kind+"_permissions")
			if list == nil {
				continue
			}
			for pi, pn := range list.Content {
				out = append(out, permissionSpan{table: ti, kind: kind, index: pi, start: pn.Line, end: lastLine(pn)})
			}
		}
	}
	return out
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		if x := lastLine(c); x > l {
			l = x
		}
	}
	// A closing bracket sits on the line after the last value.
	return l + 1
}

// unsupportedFeature names the feature a permission uses that rowguard
// does not compile yet, or returns "": computed fields whose function the
// compiler could not resolve. Such a permission is left out (its role gets
// nothing from it) and reported as inconsistent, rather than refusing
// metadata that Hasura accepts.
func unsupportedFeature(d *document, raw json.RawMessage) string {
	computed := map[string]bool{}
	for _, t := range d.Tables {
		for _, c := range t.ComputedFields {
			computed[c.Name] = true
		}
	}
	var body struct {
		Filter json.RawMessage `json:"filter"`
		Check  json.RawMessage `json:"check"`
	}
	if json.Unmarshal(raw, &body) != nil {
		return ""
	}
	var found string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, item := range x {
				if computed[k] {
					found = fmt.Sprintf("the computed field %q in a rule", k)
				}
				walk(item)
			}
		case []any:
			for _, item := range x {
				walk(item)
			}
		}
	}
	for _, part := range []json.RawMessage{body.Filter, body.Check} {
		var v any
		if len(part) > 0 && json.Unmarshal(part, &v) == nil {
			walk(v)
		}
	}
	return found
}

// setAside removes the permissions that compile errors point at when each
// of them uses a feature rowguard does not compile yet, and returns them
// as inconsistencies. It returns ok=false when some error is anything
// else: then the change is refused.
func setAside(compiled *document, rendered []byte, errs policies.ErrorList) ([]inconsistency, bool) {
	spans := permissionSpans(rendered)
	drop := map[permissionSpan]string{}
	for _, e := range errs {
		var hit *permissionSpan
		for i := range spans {
			if e.Pos.Line >= spans[i].start && e.Pos.Line <= spans[i].end {
				hit = &spans[i]
			}
		}
		if hit == nil {
			return nil, false
		}
		tm := compiled.Tables[hit.table]
		p := (*tm.permissions(hit.kind))[hit.index]
		feature := unsupportedFeature(compiled, p.Permission)
		if feature == "" {
			return nil, false
		}
		drop[*hit] = fmt.Sprintf("rowguard does not compile %s yet: %s", feature, e.Msg)
	}
	var out []inconsistency
	for _, sp := range spans {
		reason, ok := drop[sp]
		if !ok {
			continue
		}
		tm := compiled.Tables[sp.table]
		p := (*tm.permissions(sp.kind))[sp.index]
		def, _ := json.Marshal(map[string]any{"table": tm.Table, "role": p.Role, "permission": p.Permission})
		out = append(out, inconsistency{
			Reason: reason,
			Name:   fmt.Sprintf("%s_permission %s.%s in source default", sp.kind, p.Role, tm.Table.hasuraString()),
			Type:   sp.kind + "_permission",
			Entity: def,
		})
	}
	// Remove from the end so earlier indexes stay valid.
	for i := len(spans) - 1; i >= 0; i-- {
		sp := spans[i]
		if _, ok := drop[sp]; ok {
			list := compiled.Tables[sp.table].permissions(sp.kind)
			*list = append((*list)[:sp.index], (*list)[sp.index+1:]...)
		}
	}
	return out, true
}

// dropBroken removes from t's metadata every permission a compile error
// points at, for a run_sql with cascade. It returns false, removing
// nothing, when some error is not inside a permission the metadata holds.
func (t *txn) dropBroken(compiled *document, rendered []byte, errs policies.ErrorList) bool {
	spans := permissionSpans(rendered)
	type target struct {
		table tableName
		kind  string
		role  string
	}
	var targets []target
	for _, e := range errs {
		found := false
		for _, sp := range spans {
			if e.Pos.Line < sp.start || e.Pos.Line > sp.end {
				continue
			}
			tm := compiled.Tables[sp.table]
			p := (*tm.permissions(sp.kind))[sp.index]
			if findPermission(t.doc.table(tm.Table), sp.kind, p.Role) == nil {
				continue // derived for an inherited role: goes with its source
			}
			targets = append(targets, target{tm.Table, sp.kind, p.Role})
			found = true
		}
		if !found {
			return false
		}
	}
	for _, tg := range targets {
		list := t.doc.table(tg.table).permissions(tg.kind)
		for i, p := range *list {
			if p.Role == tg.role {
				*list = append((*list)[:i], (*list)[i+1:]...)
				break
			}
		}
	}
	t.changed = true
	return len(targets) > 0
}
