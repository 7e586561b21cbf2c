package metadataapi

import (
	"encoding/json"
	"fmt"
	"strings"
)

// document is the metadata the API manages, kept as Hasura writes it:
// permission bodies and relationship definitions stay raw JSON, so export
// returns what was given and policies.Parse reads it back with positions.
type document struct {
	Sources        []string // the one source's name ("default")
	Tables         []*tableMeta
	Functions      []*functionMeta
	InheritedRoles []*inheritedRole
}

// tableName is a qualified table or function name.
type tableName struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

func (n tableName) String() string { return n.Schema + "." + n.Name }

// hasuraString renders the name as Hasura does in messages: bare in
// public, schema-qualified elsewhere.
func (n tableName) hasuraString() string {
	if n.Schema == "public" {
		return n.Name
	}
	return n.Schema + "." + n.Name
}

// UnmarshalJSON accepts `"name"` or `{"schema": …, "name": …}`.
func (n *tableName) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*n = tableName{Schema: "public", Name: s}
		return nil
	}
	var v struct {
		Schema *string `json:"schema"`
		Name   string  `json:"name"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	n.Name = v.Name
	n.Schema = "public"
	if v.Schema != nil && *v.Schema != "" {
		n.Schema = *v.Schema
	}
	return nil
}

type tableMeta struct {
	Table               tableName        `json:"table"`
	Configuration       json.RawMessage  `json:"configuration,omitempty"`
	ObjectRelationships []*relationship  `json:"object_relationships,omitempty"`
	ArrayRelationships  []*relationship  `json:"array_relationships,omitempty"`
	ComputedFields      []*computedField `json:"computed_fields,omitempty"`
	InsertPermissions   []*permission    `json:"insert_permissions,omitempty"`
	SelectPermissions   []*permission    `json:"select_permissions,omitempty"`
	UpdatePermissions   []*permission    `json:"update_permissions,omitempty"`
	DeletePermissions   []*permission    `json:"delete_permissions,omitempty"`
}

type relationship struct {
	Name    string          `json:"name"`
	Using   json.RawMessage `json:"using"`
	Comment *string         `json:"comment,omitempty"`
}

type computedField struct {
	Name       string          `json:"name"`
	Definition json.RawMessage `json:"definition"`
	Comment    *string         `json:"comment,omitempty"`
}

type permission struct {
	Role       string          `json:"role"`
	Permission json.RawMessage `json:"permission"`
	Comment    *string         `json:"comment,omitempty"`
}

type functionMeta struct {
	Function      tableName       `json:"function"`
	Configuration json.RawMessage `json:"configuration,omitempty"`
}

type inheritedRole struct {
	RoleName string   `json:"role_name"`
	RoleSet  []string `json:"role_set"`
}

// permissionKinds are the four operations, in Hasura's export order.
var permissionKinds = []string{"insert", "select", "update", "delete"}

// permissions returns the table's permission list of one kind.
func (t *tableMeta) permissions(kind string) *[]*permission {
	switch kind {
	case "insert":
		return &t.InsertPermissions
	case "select":
		return &t.SelectPermissions
	case "update":
		return &t.UpdatePermissions
	case "delete":
		return &t.DeletePermissions
	}
	panic("metadataapi: unknown permission kind " + kind)
}

func (t *tableMeta) relationship(name string) (*[]*relationship, int) {
	for _, list := range []*[]*relationship{&t.ObjectRelationships, &t.ArrayRelationships} {
		for i, r := range *list {
			if r.Name == name {
				return list, i
			}
		}
	}
	return nil, -1
}

func (d *document) table(n tableName) *tableMeta {
	for _, t := range d.Tables {
		if t.Table == n {
			return t
		}
	}
	return nil
}

func (d *document) inheritedRole(name string) (*inheritedRole, int) {
	for i, r := range d.InheritedRoles {
		if r.RoleName == name {
			return r, i
		}
	}
	return nil, -1
}

// clone deep-copies d through JSON, so a failed request leaves the
// document it started from untouched.
func (d *document) clone() *document {
	data, err := json.Marshal(d.export())
	if err != nil {
		panic(fmt.Sprintf("metadataapi: clone: %v", err))
	}
	out, err := parseExport(data)
	if err != nil {
		panic(fmt.Sprintf("metadataapi: clone: %v", err))
	}
	return out
}

// exportDoc is Hasura's metadata export, version 3.
type exportDoc struct {
	Version        int              `json:"version"`
	Sources        []exportSource   `json:"sources"`
	InheritedRoles []*inheritedRole `json:"inherited_roles,omitempty"`
}

type exportSource struct {
	Name          string          `json:"name"`
	Kind          string          `json:"kind"`
	Tables        []*tableMeta    `json:"tables"`
	Functions     []*functionMeta `json:"functions,omitempty"`
	Configuration json.RawMessage `json:"configuration"`
}

var defaultSourceConfig = json.RawMessage(`{"connection_info":{"database_url":{"from_env":"HASURA_GRAPHQL_DATABASE_URL"},"isolation_level":"read-committed","use_prepared_statements":false}}`)

// export renders d as export_metadata returns it.
func (d *document) export() *exportDoc {
	out := &exportDoc{Version: 3, Sources: []exportSource{}, InheritedRoles: d.InheritedRoles}
	for i, name := range d.Sources {
		src := exportSource{Name: name, Kind: "postgres", Tables: []*tableMeta{}, Configuration: defaultSourceConfig}
		if i == 0 {
			src.Tables = d.Tables
			src.Functions = d.Functions
		}
		out.Sources = append(out.Sources, src)
	}
	return out
}

// parseExport reads a metadata export (version 3, or a version 2 document
// with top-level tables) as replace_metadata receives it.
func parseExport(data []byte) (*document, error) {
	var raw struct {
		Version        int               `json:"version"`
		Sources        []exportSource    `json:"sources"`
		Tables         []*tableMeta      `json:"tables"`
		Functions      []json.RawMessage `json:"functions"`
		InheritedRoles []*inheritedRole  `json:"inherited_roles"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	d := &document{InheritedRoles: raw.InheritedRoles}
	if raw.Sources != nil {
		for i, s := range raw.Sources {
			if s.Kind != "" && s.Kind != "postgres" && s.Kind != "pg" && s.Kind != "citus" {
				return nil, fmt.Errorf("source %q of kind %q: rowguard serves PostgreSQL sources only", s.Name, s.Kind)
			}
			if i > 0 {
				return nil, fmt.Errorf("a second source %q: rowguard serves one PostgreSQL database", s.Name)
			}
			d.Sources = []string{s.Name}
			d.Tables = s.Tables
			d.Functions = s.Functions
		}
	} else {
		d.Sources = []string{"default"}
		d.Tables = raw.Tables
		for _, f := range raw.Functions {
			var fm functionMeta
			// Version 2 lists functions as bare names or {function: …}.
			if err := json.Unmarshal(f, &fm.Function); err != nil || fm.Function.Name == "" {
				if err := json.Unmarshal(f, &fm); err != nil {
					return nil, err
				}
			}
			d.Functions = append(d.Functions, &fm)
		}
	}
	if d.Tables == nil {
		d.Tables = []*tableMeta{}
	}
	return d, nil
}
