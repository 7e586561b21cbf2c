package metadataapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// txn is one request's work: the metadata being edited and the database
// transaction it is applied in.
type txn struct {
	ctx     context.Context
	tx      pgx.Tx
	doc     *document
	changed bool // the metadata changed
	ddl     bool // some SQL may have changed the schema
	cascade bool // the request asked to drop dependent metadata
	dropped bool // the request removed a table, relationship or computed field
	cat     *compiler.Catalog
	incons  []inconsistency // current, for get_inconsistent_metadata
}

// catalog returns the live catalog as the transaction sees it.
func (t *txn) catalog() (*compiler.Catalog, *apiError) {
	if t.cat == nil {
		cat, err := compiler.LoadCatalog(t.ctx, t.tx, nil)
		if err != nil {
			return nil, unexpected(err)
		}
		t.cat = cat
	}
	return t.cat, nil
}

var success = json.RawMessage(`{"message":"success"}`)

// endpoint says which operations an endpoint accepts.
type endpoint int

const (
	v1Query endpoint = iota
	v1Metadata
	v2Query
)

// run applies one operation; path is its JSON path for errors.
func (t *txn) run(ep endpoint, typ string, args json.RawMessage, path string) (json.RawMessage, *apiError) {
	name := typ
	if ep == v1Metadata {
		name = strings.TrimPrefix(typ, "pg_")
	}
	if ep == v2Query && name != "run_sql" && name != "bulk" {
		return nil, apiErr(400, "not-supported", "$.type", "unknown type %q for /v2/query: only run_sql and bulk are served", typ)
	}
	argPath := path + ".args"
	if name != "bulk" && name != "add_source" {
		var src struct {
			Source *string `json:"source"`
		}
		if json.Unmarshal(args, &src) == nil && src.Source != nil && len(t.doc.Sources) > 0 && *src.Source != t.doc.Sources[0] {
			return nil, apiErr(400, "not-exists", argPath+".source", "source with name %q does not exist", *src.Source)
		}
	}
	switch name {
	case "bulk":
		var items []struct {
			Type string          `json:"type"`
			Args json.RawMessage `json:"args"`
		}
		if err := strictDecode(args, &items); err != nil {
			return nil, parseFailed(argPath, err)
		}
		var out bytes.Buffer
		out.WriteByte('[')
		for i, it := range items {
			res, err := t.run(ep, it.Type, it.Args, fmt.Sprintf("%s[%d]", argPath, i))
			if err != nil {
				return nil, err
			}
			if i > 0 {
				out.WriteByte(',')
			}
			out.Write(res)
		}
		out.WriteByte(']')
		return out.Bytes(), nil
	case "run_sql":
		return t.runSQL(args, argPath)
	case "insert":
		return t.insert(args, argPath)
	case "track_table", "add_existing_table_or_view":
		return t.trackTable(args, argPath)
	case "untrack_table":
		return t.untrackTable(args, argPath)
	case "set_table_customization":
		return t.setTableCustomization(args, argPath)
	case "set_table_custom_fields":
		return t.setTableCustomFields(args, argPath)
	case "create_object_relationship", "create_array_relationship":
		return t.createRelationship(strings.TrimSuffix(strings.TrimPrefix(name, "create_"), "_relationship"), args, argPath)
	case "drop_relationship":
		return t.dropRelationship(args, argPath)
	case "add_computed_field":
		return t.addComputedField(args, argPath)
	case "drop_computed_field":
		return t.dropComputedField(args, argPath)
	case "track_function":
		return t.trackFunction(args, argPath)
	case "untrack_function":
		return t.untrackFunction(args, argPath)
	case "add_inherited_role":
		return t.addInheritedRole(args, argPath)
	case "drop_inherited_role":
		return t.dropInheritedRole(args, argPath)
	case "export_metadata":
		data, err := json.Marshal(t.doc.export())
		if err != nil {
			return nil, unexpected(err)
		}
		return data, nil
	case "replace_metadata":
		return t.replaceMetadata(args, argPath)
	case "clear_metadata":
		t.doc = &document{Sources: t.doc.Sources, Tables: []*tableMeta{}}
		t.changed = true
		return success, nil
	case "reload_metadata":
		// The schema may have changed behind the API's back: recompile.
		t.ddl = true
		return success, nil
	case "get_inconsistent_metadata":
		list := t.incons
		if list == nil {
			list = []inconsistency{}
		}
		data, _ := json.Marshal(struct {
			IsConsistent        bool            `json:"is_consistent"`
			InconsistentObjects []inconsistency `json:"inconsistent_objects"`
		}{len(list) == 0, list})
		return data, nil
	case "add_source":
		return t.addSource(args, argPath)
	}
	for _, kind := range permissionKinds {
		switch name {
		case "create_" + kind + "_permission":
			return t.createPermission(kind, args, argPath)
		case "drop_" + kind + "_permission":
			return t.dropPermission(kind, args, argPath)
		}
	}
	return nil, apiErr(400, "parse-failed", path+".type", "unknown metadata operation %q", typ)
}

// strictDecode decodes JSON keeping numbers exact.
func strictDecode(data json.RawMessage, v any) error {
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// tableArg reads the table an operation names: `table` (a name or
// {schema, name}), or, in the oldest form, the args themselves.
func tableArg(args json.RawMessage, path string) (tableName, *apiError) {
	var v struct {
		Table *tableName `json:"table"`
	}
	if err := strictDecode(args, &v); err != nil {
		return tableName{}, parseFailed(path, err)
	}
	if v.Table != nil {
		return *v.Table, nil
	}
	var n tableName
	if err := strictDecode(args, &n); err != nil || n.Name == "" {
		return tableName{}, apiErr(400, "parse-failed", path, "key \"table\" not found")
	}
	return n, nil
}

// trackedTable returns the metadata of a tracked table, or Hasura's error.
func (t *txn) trackedTable(n tableName, path string) (*tableMeta, *apiError) {
	if tm := t.doc.table(n); tm != nil {
		return tm, nil
	}
	return nil, apiErr(400, "not-exists", path+".table", "table %q does not exist in source: default", n.hasuraString())
}

func (t *txn) trackTable(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	n, aerr := tableArg(args, path)
	if aerr != nil {
		return nil, aerr
	}
	var v struct {
		Configuration json.RawMessage `json:"configuration"`
	}
	_ = strictDecode(args, &v)
	cat, aerr := t.catalog()
	if aerr != nil {
		return nil, aerr
	}
	if cat.Table(policies.QualifiedTable{Schema: n.Schema, Name: n.Name}) == nil {
		return nil, apiErr(400, "not-exists", path+".table", "no such table/view exists in source: %q", n.hasuraString())
	}
	if t.doc.table(n) != nil {
		return nil, apiErr(400, "already-tracked", path+".table", "view/table already tracked: %q", n.hasuraString())
	}
	t.doc.Tables = append(t.doc.Tables, &tableMeta{Table: n, Configuration: v.Configuration})
	t.changed = true
	return success, nil
}

// setTableCustomization replaces a tracked table's configuration (its
// GraphQL names): Hasura's pg_set_table_customization. The compile that
// follows checks the names, as for a table tracked with a configuration.
func (t *txn) setTableCustomization(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	n, aerr := tableArg(args, path)
	if aerr != nil {
		return nil, aerr
	}
	var v struct {
		Configuration json.RawMessage `json:"configuration"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	tm, aerr := t.trackedTable(n, path)
	if aerr != nil {
		return nil, aerr
	}
	tm.Configuration = v.Configuration
	t.changed = true
	return success, nil
}

// setTableCustomFields is v1's deprecated set_table_custom_fields: root
// field and column names given at the top level of its arguments, which
// replace the configuration's (a custom_name it had is kept).
func (t *txn) setTableCustomFields(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	n, aerr := tableArg(args, path)
	if aerr != nil {
		return nil, aerr
	}
	var v struct {
		CustomRootFields  json.RawMessage `json:"custom_root_fields"`
		CustomColumnNames json.RawMessage `json:"custom_column_names"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	tm, aerr := t.trackedTable(n, path)
	if aerr != nil {
		return nil, aerr
	}
	cfg := map[string]json.RawMessage{}
	if len(tm.Configuration) > 0 {
		if err := json.Unmarshal(tm.Configuration, &cfg); err != nil {
			return nil, unexpected(err)
		}
	}
	delete(cfg, "column_config")
	delete(cfg, "custom_root_fields")
	delete(cfg, "custom_column_names")
	if len(v.CustomRootFields) > 0 {
		cfg["custom_root_fields"] = v.CustomRootFields
	}
	if len(v.CustomColumnNames) > 0 {
		cfg["custom_column_names"] = v.CustomColumnNames
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, unexpected(err)
	}
	tm.Configuration = data
	t.changed = true
	return success, nil
}

func (t *txn) untrackTable(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	n, aerr := tableArg(args, path)
	if aerr != nil {
		return nil, aerr
	}
	var v struct {
		Cascade bool `json:"cascade"`
	}
	_ = strictDecode(args, &v)
	if t.doc.table(n) == nil {
		return nil, apiErr(400, "already-untracked", path+".table", "view/table already untracked: %q", n.hasuraString())
	}
	if deps := t.dependents(n); len(deps) > 0 && !v.Cascade {
		return nil, apiErr(400, "dependency-error", path, "cannot drop due to the following dependent objects : %s", strings.Join(deps, ", "))
	}
	t.removeTable(n)
	t.dropped = true
	// Permissions whose rules go through the removed relationships are
	// dropped at compile time (see install).
	t.cascade = t.cascade || v.Cascade
	t.changed = true
	return success, nil
}

// dependents lists the relationships of other tables that lead to n.
func (t *txn) dependents(n tableName) []string {
	var out []string
	for _, tm := range t.doc.Tables {
		if tm.Table == n {
			continue
		}
		for _, r := range append(append([]*relationship{}, tm.ObjectRelationships...), tm.ArrayRelationships...) {
			if relationshipTarget(r) == n {
				out = append(out, fmt.Sprintf("relationship %s.%s in source \"default\"", tm.Table.hasuraString(), r.Name))
			}
		}
	}
	return out
}

// relationshipTarget reads the remote table of a relationship definition
// when it names one (array relationships by foreign key and manual ones).
func relationshipTarget(r *relationship) tableName {
	var u struct {
		FK     json.RawMessage `json:"foreign_key_constraint_on"`
		Manual *struct {
			RemoteTable tableName `json:"remote_table"`
		} `json:"manual_configuration"`
	}
	if json.Unmarshal(r.Using, &u) != nil {
		return tableName{}
	}
	if u.Manual != nil {
		return u.Manual.RemoteTable
	}
	var fk struct {
		Table tableName `json:"table"`
	}
	if len(u.FK) > 0 && u.FK[0] == '{' && json.Unmarshal(u.FK, &fk) == nil {
		return fk.Table
	}
	return tableName{}
}

// removeTable untracks n and drops the relationships that lead to it.
func (t *txn) removeTable(n tableName) {
	var kept []*tableMeta
	for _, tm := range t.doc.Tables {
		if tm.Table == n {
			continue
		}
		for _, list := range []*[]*relationship{&tm.ObjectRelationships, &tm.ArrayRelationships} {
			var rels []*relationship
			for _, r := range *list {
				if relationshipTarget(r) != n {
					rels = append(rels, r)
				}
			}
			*list = rels
		}
		kept = append(kept, tm)
	}
	if kept == nil {
		kept = []*tableMeta{}
	}
	t.doc.Tables = kept
}

func (t *txn) createRelationship(kind string, args json.RawMessage, path string) (json.RawMessage, *apiError) {
	n, aerr := tableArg(args, path)
	if aerr != nil {
		return nil, aerr
	}
	var v struct {
		Name    string          `json:"name"`
		Using   json.RawMessage `json:"using"`
		Comment *string         `json:"comment"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	if v.Name == "" || len(v.Using) == 0 {
		return nil, apiErr(400, "parse-failed", path, "a relationship needs `name` and `using`")
	}
	tm, aerr := t.trackedTable(n, path)
	if aerr != nil {
		return nil, aerr
	}
	if list, _ := tm.relationship(v.Name); list != nil {
		return nil, apiErr(400, "already-exists", path, "field with name %q already exists in table %q", v.Name, n.hasuraString())
	}
	r := &relationship{Name: v.Name, Using: v.Using, Comment: v.Comment}
	if kind == "object" {
		tm.ObjectRelationships = append(tm.ObjectRelationships, r)
	} else {
		tm.ArrayRelationships = append(tm.ArrayRelationships, r)
	}
	t.changed = true
	return success, nil
}

func (t *txn) dropRelationship(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	n, aerr := tableArg(args, path)
	if aerr != nil {
		return nil, aerr
	}
	var v struct {
		Relationship string `json:"relationship"`
		Cascade      bool   `json:"cascade"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	tm, aerr := t.trackedTable(n, path)
	if aerr != nil {
		return nil, aerr
	}
	list, i := tm.relationship(v.Relationship)
	if list == nil {
		return nil, apiErr(400, "not-exists", path+".relationship", "relationship %q does not exist in table %q", v.Relationship, n.hasuraString())
	}
	*list = append((*list)[:i], (*list)[i+1:]...)
	t.cascade = t.cascade || v.Cascade
	t.dropped = true
	t.changed = true
	return success, nil
}

func (t *txn) createPermission(kind string, args json.RawMessage, path string) (json.RawMessage, *apiError) {
	n, aerr := tableArg(args, path)
	if aerr != nil {
		return nil, aerr
	}
	var v struct {
		Role       string          `json:"role"`
		Permission json.RawMessage `json:"permission"`
		Comment    *string         `json:"comment"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	if v.Role == "" || len(v.Permission) == 0 {
		return nil, apiErr(400, "parse-failed", path, "a permission needs `role` and `permission`")
	}
	if v.Role == "admin" {
		return nil, apiErr(400, "constraint-violation", path+".role", "cannot define permission for admin role")
	}
	tm, aerr := t.trackedTable(n, path)
	if aerr != nil {
		return nil, aerr
	}
	if findPermission(tm, kind, v.Role) != nil {
		return nil, apiErr(400, "already-exists", path, "%s permission already defined on table %q with role %q", kind, n.hasuraString(), v.Role)
	}
	list := tm.permissions(kind)
	*list = append(*list, &permission{Role: v.Role, Permission: v.Permission, Comment: v.Comment})
	t.changed = true
	return success, nil
}

func (t *txn) dropPermission(kind string, args json.RawMessage, path string) (json.RawMessage, *apiError) {
	n, aerr := tableArg(args, path)
	if aerr != nil {
		return nil, aerr
	}
	var v struct {
		Role string `json:"role"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	tm, aerr := t.trackedTable(n, path)
	if aerr != nil {
		return nil, aerr
	}
	list := tm.permissions(kind)
	for i, p := range *list {
		if p.Role == v.Role {
			*list = append((*list)[:i], (*list)[i+1:]...)
			t.changed = true
			return success, nil
		}
	}
	return nil, apiErr(400, "not-exists", path+".role", "permission %q does not exist for %s on table %q", v.Role, kind, n.hasuraString())
}

func (t *txn) addComputedField(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	n, aerr := tableArg(args, path)
	if aerr != nil {
		return nil, aerr
	}
	var v struct {
		Name       string          `json:"name"`
		Definition json.RawMessage `json:"definition"`
		Comment    *string         `json:"comment"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	tm, aerr := t.trackedTable(n, path)
	if aerr != nil {
		return nil, aerr
	}
	if list, _ := tm.relationship(v.Name); list != nil || computedFieldIndex(tm, v.Name) >= 0 {
		return nil, apiErr(400, "already-exists", path+".name", "field with name %q already exists in table %q", v.Name, n.hasuraString())
	}
	var def struct {
		Function tableName `json:"function"`
	}
	if err := strictDecode(v.Definition, &def); err != nil || def.Function.Name == "" {
		return nil, apiErr(400, "parse-failed", path+".definition", "a computed field needs definition.function")
	}
	if ok, aerr := t.functionExists(def.Function); aerr != nil {
		return nil, aerr
	} else if !ok {
		return nil, apiErr(400, "not-exists", path+".definition.function", "no such function exists: %q", def.Function.hasuraString())
	}
	tm.ComputedFields = append(tm.ComputedFields, &computedField{Name: v.Name, Definition: v.Definition, Comment: v.Comment})
	t.changed = true
	return success, nil
}

func computedFieldIndex(tm *tableMeta, name string) int {
	for i, c := range tm.ComputedFields {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func (t *txn) dropComputedField(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	n, aerr := tableArg(args, path)
	if aerr != nil {
		return nil, aerr
	}
	var v struct {
		Name string `json:"name"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	tm, aerr := t.trackedTable(n, path)
	if aerr != nil {
		return nil, aerr
	}
	i := computedFieldIndex(tm, v.Name)
	if i < 0 {
		return nil, apiErr(400, "not-exists", path+".name", "computed field %q does not exist", v.Name)
	}
	tm.ComputedFields = append(tm.ComputedFields[:i], tm.ComputedFields[i+1:]...)
	t.dropped = true
	t.changed = true
	return success, nil
}

func (t *txn) functionExists(f tableName) (bool, *apiError) {
	var ok bool
	err := t.tx.QueryRow(t.ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname = $2)`, f.Schema, f.Name).Scan(&ok)
	if err != nil {
		return false, unexpected(err)
	}
	return ok, nil
}

func (t *txn) trackFunction(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	var v struct {
		Function      *tableName      `json:"function"`
		Configuration json.RawMessage `json:"configuration"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	var f tableName
	if v.Function != nil {
		f = *v.Function
	} else if err := strictDecode(args, &f); err != nil || f.Name == "" {
		return nil, apiErr(400, "parse-failed", path, "key \"function\" not found")
	}
	if ok, aerr := t.functionExists(f); aerr != nil {
		return nil, aerr
	} else if !ok {
		return nil, apiErr(400, "not-exists", path+".function", "function %q does not exist in the database", f.hasuraString())
	}
	for _, fm := range t.doc.Functions {
		if fm.Function == f {
			return nil, apiErr(400, "already-tracked", path+".function", "function already tracked: %q", f.hasuraString())
		}
	}
	t.doc.Functions = append(t.doc.Functions, &functionMeta{Function: f, Configuration: v.Configuration})
	t.changed = true
	return success, nil
}

func (t *txn) untrackFunction(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	var v struct {
		Function *tableName `json:"function"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	var f tableName
	if v.Function != nil {
		f = *v.Function
	} else if err := strictDecode(args, &f); err != nil {
		return nil, parseFailed(path, err)
	}
	for i, fm := range t.doc.Functions {
		if fm.Function == f {
			t.doc.Functions = append(t.doc.Functions[:i], t.doc.Functions[i+1:]...)
			t.changed = true
			return success, nil
		}
	}
	return nil, apiErr(400, "already-untracked", path+".function", "function already untracked: %q", f.hasuraString())
}

func (t *txn) addInheritedRole(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	var v inheritedRole
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	if v.RoleName == "" || len(v.RoleSet) == 0 {
		return nil, apiErr(400, "parse-failed", path, "an inherited role needs `role_name` and a non-empty `role_set`")
	}
	if v.RoleName == "admin" {
		return nil, apiErr(400, "constraint-violation", path+".role_name", "an inherited role cannot be named admin")
	}
	if r, _ := t.doc.inheritedRole(v.RoleName); r != nil {
		return nil, apiErr(400, "already-exists", path+".role_name", "the inherited role %q already exists", v.RoleName)
	}
	t.doc.InheritedRoles = append(t.doc.InheritedRoles, &v)
	if cycle := inheritanceCycle(t.doc, v.RoleName); cycle != "" {
		return nil, apiErr(400, "invalid-configuration", path, "found cycle(s) in roles: %s", cycle)
	}
	t.changed = true
	return success, nil
}

// inheritanceCycle finds a cycle through role in the inherited roles and
// renders it as "a->b->a", or returns "".
func inheritanceCycle(d *document, role string) string {
	var walk func(r string, trail []string) string
	walk = func(r string, trail []string) string {
		for i, x := range trail {
			if x == r {
				return strings.Join(append(append([]string{}, trail[i:]...), r), "->")
			}
		}
		ir, _ := d.inheritedRole(r)
		if ir == nil {
			return ""
		}
		for _, m := range ir.RoleSet {
			if c := walk(m, append(trail, r)); c != "" {
				return c
			}
		}
		return ""
	}
	return walk(role, nil)
}

func (t *txn) dropInheritedRole(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	var v struct {
		RoleName string `json:"role_name"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	_, i := t.doc.inheritedRole(v.RoleName)
	if i < 0 {
		return nil, apiErr(400, "not-exists", path+".role_name", "inherited role %q does not exist", v.RoleName)
	}
	t.doc.InheritedRoles = append(t.doc.InheritedRoles[:i], t.doc.InheritedRoles[i+1:]...)
	t.changed = true
	return success, nil
}

func (t *txn) replaceMetadata(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	var wrapped struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	body := args
	if strictDecode(args, &wrapped) == nil && len(wrapped.Metadata) > 0 {
		body = wrapped.Metadata
	}
	d, err := parseExport(body)
	if err != nil {
		return nil, apiErr(400, "parse-failed", path, "%v", err)
	}
	if len(d.Sources) == 0 {
		d.Sources = []string{"default"}
	}
	for _, r := range d.InheritedRoles {
		if c := inheritanceCycle(d, r.RoleName); c != "" {
			return nil, apiErr(400, "invalid-configuration", path, "found cycle(s) in roles: %s", c)
		}
	}
	t.doc = d
	t.changed = true
	return success, nil
}

func (t *txn) addSource(args json.RawMessage, path string) (json.RawMessage, *apiError) {
	var v struct {
		Name    string `json:"name"`
		Replace bool   `json:"replace_configuration"`
	}
	if err := strictDecode(args, &v); err != nil {
		return nil, parseFailed(path, err)
	}
	if len(t.doc.Sources) > 0 && v.Name == t.doc.Sources[0] {
		if v.Replace {
			// The connection is the server's own; there is nothing else
			// to configure.
			return success, nil
		}
		return nil, apiErr(400, "already-exists", path, "source with name %q already exists", v.Name)
	}
	return nil, apiErr(400, "not-supported", path+".name",
		"rowguard serves the one database it connects to, as source %q; a second source %q is not supported", t.doc.Sources[0], v.Name)
}
