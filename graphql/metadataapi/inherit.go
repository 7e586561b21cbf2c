package metadataapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// inconsistency is one entry of get_inconsistent_metadata.
type inconsistency struct {
	Reason string          `json:"reason"`
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Entity json.RawMessage `json:"entity,omitempty"`
}

// expand returns the document the compiler sees: every inherited role
// becomes an ordinary role whose permissions are derived from its members'
// (Hasura's semantics). The inherited_roles list is kept, so the compiled
// program still records each inherited role's members. A role's
// own permission on a table overrides the derived one. Select permissions
// are combined (union of columns, OR of filters); insert, update and
// delete are inherited only when every member that has one has the same
// one, otherwise the permission is left out and reported as inconsistent,
// as Hasura does.
func expand(d *document) (*document, []inconsistency) {
	d = withInsertColumns(d)
	out := d.clone()
	if len(d.InheritedRoles) == 0 {
		return out, nil
	}
	byName := map[string]*inheritedRole{}
	for _, r := range d.InheritedRoles {
		byName[r.RoleName] = r
	}
	var incons []inconsistency
	for _, t := range out.Tables {
		orig := d.table(t.Table)
		for _, kind := range permissionKinds {
			memo := map[string]json.RawMessage{}
			var derive func(role string, seen map[string]bool) json.RawMessage
			derive = func(role string, seen map[string]bool) json.RawMessage {
				if p := findPermission(orig, kind, role); p != nil {
					return p.Permission
				}
				ir := byName[role]
				if ir == nil || seen[role] {
					return nil
				}
				if v, ok := memo[role]; ok {
					return v
				}
				seen[role] = true
				defer delete(seen, role)
				var members []json.RawMessage
				for _, m := range ir.RoleSet {
					if p := derive(m, seen); p != nil {
						members = append(members, p)
					}
				}
				var v json.RawMessage
				switch {
				case len(members) == 0:
				case kind == "select":
					v = combineSelect(members)
				default:
					v = members[0]
					for _, m := range members[1:] {
						if !sameJSON(v, m) {
							v = nil
							break
						}
					}
					if v == nil {
						entity, _ := json.Marshal(map[string]string{"permission_type": kind, "source": "default", "table": t.Table.hasuraString()})
						incons = append(incons, inconsistency{
							Reason: fmt.Sprintf("Could not inherit permission for the role '%s' for the entity: '%s permission, table: %s, source: 'default''", role, kind, t.Table.hasuraString()),
							Name:   role,
							Type:   "inherited role permission inconsistency",
							Entity: entity,
						})
					}
				}
				memo[role] = v
				return v
			}
			for _, r := range d.InheritedRoles {
				if findPermission(orig, kind, r.RoleName) != nil {
					continue
				}
				if p := derive(r.RoleName, map[string]bool{}); p != nil {
					list := t.permissions(kind)
					*list = append(*list, &permission{Role: r.RoleName, Permission: p})
				}
			}
		}
	}
	return out, dedupe(incons)
}

func dedupe(in []inconsistency) []inconsistency {
	seen := map[string]bool{}
	var out []inconsistency
	for _, i := range in {
		if !seen[i.Reason] {
			seen[i.Reason] = true
			out = append(out, i)
		}
	}
	return out
}

func findPermission(t *tableMeta, kind, role string) *permission {
	if t == nil {
		return nil
	}
	for _, p := range *t.permissions(kind) {
		if p.Role == role {
			return p
		}
	}
	return nil
}

// sameJSON compares two JSON values by meaning (key order aside).
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	ca, _ := json.Marshal(x)
	cb, _ := json.Marshal(y)
	return bytes.Equal(ca, cb)
}

// combineSelect unions select permissions: the columns of any member, the
// rows any member's filter admits, the largest limit (none if a member has
// none), aggregations if any member allows them.
func combineSelect(members []json.RawMessage) json.RawMessage {
	type sel struct {
		Columns                json.RawMessage `json:"columns"`
		Filter                 json.RawMessage `json:"filter"`
		Limit                  *int            `json:"limit"`
		AllowAggregations      bool            `json:"allow_aggregations"`
		ComputedFields         []string        `json:"computed_fields"`
		QueryRootFields        *[]string       `json:"query_root_fields"`
		SubscriptionRootFields *[]string       `json:"subscription_root_fields"`
	}
	out := map[string]any{}
	var columns []string
	colSeen := map[string]bool{}
	allColumns := false
	var filters []json.RawMessage
	anyEmptyFilter := false
	var limit *int
	noLimit := false
	aggs := false
	computed := []string{}
	compSeen := map[string]bool{}
	rootFields := map[string]*[]string{}
	rootAbsent := map[string]bool{}
	for _, raw := range members {
		var s sel
		if err := json.Unmarshal(raw, &s); err != nil {
			continue
		}
		var cols []string
		if json.Unmarshal(s.Columns, &cols) != nil {
			var star string
			if json.Unmarshal(s.Columns, &star) == nil && star == "*" {
				allColumns = true
			}
		}
		for _, c := range cols {
			if !colSeen[c] {
				colSeen[c] = true
				columns = append(columns, c)
			}
		}
		if len(s.Filter) == 0 || sameJSON(s.Filter, json.RawMessage(`{}`)) {
			anyEmptyFilter = true
		} else {
			filters = append(filters, s.Filter)
		}
		if s.Limit == nil {
			noLimit = true
		} else if limit == nil || *s.Limit > *limit {
			limit = s.Limit
		}
		aggs = aggs || s.AllowAggregations
		for _, c := range s.ComputedFields {
			if !compSeen[c] {
				compSeen[c] = true
				computed = append(computed, c)
			}
		}
		for key, list := range map[string]*[]string{"query_root_fields": s.QueryRootFields, "subscription_root_fields": s.SubscriptionRootFields} {
			if list == nil {
				rootAbsent[key] = true
				continue
			}
			acc := rootFields[key]
			if acc == nil {
				acc = &[]string{}
				rootFields[key] = acc
			}
			for _, f := range *list {
				if !contains(*acc, f) {
					*acc = append(*acc, f)
				}
			}
		}
	}
	if allColumns {
		out["columns"] = "*"
	} else {
		if columns == nil {
			columns = []string{}
		}
		out["columns"] = columns
	}
	switch {
	case anyEmptyFilter || len(filters) == 0:
		out["filter"] = map[string]any{}
	case len(filters) == 1:
		out["filter"] = filters[0]
	default:
		out["filter"] = map[string]any{"_or": filters}
	}
	if limit != nil && !noLimit {
		out["limit"] = *limit
	}
	if aggs {
		out["allow_aggregations"] = true
	}
	if len(computed) > 0 {
		out["computed_fields"] = computed
	}
	keys := make([]string, 0, len(rootFields))
	for k := range rootFields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !rootAbsent[k] {
			out[k] = *rootFields[k]
		}
	}
	data, _ := json.Marshal(out)
	return data
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// withInsertColumns returns d with every insert permission that has no
// `columns` given all of them: Hasura reads a missing insert column list
// as every column (policies reads a missing list as none).
func withInsertColumns(d *document) *document {
	out := d.clone()
	for _, t := range out.Tables {
		for _, p := range t.InsertPermissions {
			var body map[string]json.RawMessage
			if json.Unmarshal(p.Permission, &body) != nil {
				continue
			}
			if _, ok := body["columns"]; ok {
				continue
			}
			body["columns"] = json.RawMessage(`"*"`)
			if data, err := json.Marshal(body); err == nil {
				p.Permission = data
			}
		}
	}
	return out
}
