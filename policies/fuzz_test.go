package policies

import "testing"

// FuzzParse feeds arbitrary text to the metadata loader: it must never
// panic, and whatever it accepts it must accept with every error
// positioned.
func FuzzParse(f *testing.F) {
	seeds := []string{
		`[{table: {schema: public, name: a}, select_permissions: [{role: user, permission: {columns: "*", filter: {id: {_eq: X-Hasura-User-Id}}}}]}]`,
		`{"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": []}]}`,
		`- table: t
  object_relationships: [{name: r, using: {manual_configuration: {remote_table: u, column_mapping: {a: b}}}}]
  insert_permissions: [{role: r, permission: {check: {_exists: {_table: u, _where: {}}}, set: {a: x-hasura-a}}}]`,
		`{_or: [{a: {_in: [1, 2]}}, {_not: {b: {$ceq: ["$", c]}}}]}`,
		`- "!include x.yaml"`,
		"- table: {name: [1]}\n  delete_permissions: 3",
		`- table: {schema: auth, name: users}
  configuration: {custom_name: users, custom_root_fields: {select: a, select_by_pk: {name: b, comment: c}}, column_config: {x: {custom_name: y}}, custom_column_names: {x: z}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse("fuzz.yaml", data)
		if list, ok := err.(ErrorList); ok {
			for _, e := range list {
				if e.Pos.File == "" {
					t.Fatalf("error without a file: %v", e)
				}
			}
		}
		_, _ = ParseBoolExp("rule.yaml", data)
	})
}
