package policies

import (
	"strings"
	"testing"
)

func TestLoadTableConfiguration(t *testing.T) {
	md, err := Parse("tables.yaml", []byte(`
- table: {schema: auth, name: users}
  configuration:
    custom_name: users
    comment: accounts
    custom_root_fields:
      select: allUsers
      select_by_pk: {name: user, comment: one user}
      insert: null
    column_config:
      display_name: {custom_name: displayName, comment: shown to others}
      email: {comment: only a comment}
    custom_column_names:
      avatar_url: avatarUrl
      display_name: ignored
      email: mail
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := md.Tables[0].Config
	got := []string{cfg.CustomName.Name + "@" + cfg.CustomName.Pos.String(), cfg.Comment}
	for _, k := range RootFieldKinds {
		if cn := cfg.RootFields[k]; cn != nil {
			got = append(got, k+"="+cn.Name+"/"+cn.Comment+"@"+cn.Pos.String())
		}
	}
	for _, col := range []string{"avatar_url", "display_name", "email"} {
		cn := cfg.Columns[col]
		got = append(got, col+"="+cn.Name+"/"+cn.Comment+"@"+cn.Pos.String())
	}
	want := []string{
		"users@tables.yaml:4:18", "accounts",
		"select=allUsers/@tables.yaml:7:15",
		"select_by_pk=user/one user@tables.yaml:8:28",
		"avatar_url=avatarUrl/@tables.yaml:14:19",
		// column_config wins over custom_column_names, and keeps the older
		// name where it sets only a comment.
		"display_name=displayName/shown to others@tables.yaml:11:35",
		"email=mail/only a comment@tables.yaml:16:14",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("configuration (-want +got):\n-%s\n+%s", strings.Join(want, "\n-"), strings.Join(got, "\n+"))
	}
}

func TestLoadTableConfigurationErrors(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"custom_name not a GraphQL name", `{custom_name: my-users}`, `tables.yaml:3:32: custom_name "my-users" is not a GraphQL name`},
		{"reserved prefix", `{custom_name: __users}`, `custom_name "__users" is not a GraphQL name`},
		{"root field", `{custom_root_fields: {select: 1users}}`, `tables.yaml:3:48: custom_root_fields.select "1users" is not a GraphQL name`},
		{"root field object", `{custom_root_fields: {select_by_pk: {name: "a b"}}}`, `custom_root_fields.select_by_pk.name "a b" is not a GraphQL name`},
		{"unknown root field", `{custom_root_fields: {selectt: x}}`, `unknown key "selectt" in custom_root_fields`},
		{"column", `{column_config: {id: {custom_name: "x.y"}}}`, `custom_name of column id "x.y" is not a GraphQL name`},
		{"legacy column", `{custom_column_names: {id: "-"}}`, `custom name of column id "-" is not a GraphQL name`},
		{"two columns one name", `{column_config: {a: {custom_name: x}, b: {custom_name: x}}}`, `columns "a" and "b" both have the GraphQL name "x"`},
		{"unknown key", `{custom_nam: x}`, `unknown key "custom_nam" in table configuration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("tables.yaml", []byte("\n- table: t\n  configuration: "+tt.config+"\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant one containing:\n%s", err, tt.want)
			}
		})
	}
}

func TestLoadFunctionRootFieldObject(t *testing.T) {
	md, err := Parse("m.yaml", []byte(`
version: 3
sources:
- name: default
  kind: postgres
  tables: []
  functions:
  - function: search
    configuration:
      custom_name: find
      custom_root_fields:
        function: {name: findAll, comment: c}
        function_aggregate: findCount
`))
	if err != nil {
		t.Fatal(err)
	}
	f := md.Functions[0]
	if f.CustomName != "find" || f.CustomRootFields["function"] != "findAll" || f.CustomRootFields["function_aggregate"] != "findCount" {
		t.Errorf("function configuration = %q %v", f.CustomName, f.CustomRootFields)
	}
}
