package metadataapi

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// inconsistency is one entry of get_inconsistent_metadata.
type inconsistency struct {
	Reason string          `json:"reason"`
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Entity json.RawMessage `json:"entity,omitempty"`
}

// expand returns the document the compiler sees: every inherited role
// gets the insert, update and delete permissions derived from its
// members' (Hasura's semantics): a permission is inherited only when every
// member that has one has the same one, otherwise it is left out and
// reported as inconsistent, as Hasura does. A role's own permission on a
// table overrides the derived one. Select permissions are left to the
// compiler, which derives them from the inherited_roles list (kept here)
// with the per-column conditions the GraphQL planner needs.
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
			if kind == "select" {
				// The compiler derives select permissions itself: it
				// keeps, per column, the members' rows on which the
				// column may be read.
				continue
			}
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
