package policies

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads Hasura metadata from path: a metadata directory as written by
// `hasura metadata export` (databases/databases.yaml, or a v2 tables.yaml),
// or one exported metadata file (JSON or YAML; version 2 with `tables` or
// version 3 with `sources`). The error, when not nil, is an ErrorList with
// every problem found.
func Load(path string) (*Metadata, error) {
	md, _, err := Read(path)
	return md, err
}

// Source is metadata as files held in memory: what Read loaded, keyed by
// path relative to Root's directory. Installs store it so the server can
// load exactly the metadata that was compiled.
type Source struct {
	// Root is the path Read was given, relative to the stored files: "."
	// for a directory, the file name for a single export.
	Root string `json:"root"`
	// Name is the database source that was read ("" for the default).
	Name  string            `json:"source,omitempty"`
	Files map[string]string `json:"files"`
}

// Read is Load that also returns the files it read.
func Read(path string) (*Metadata, *Source, error) {
	return ReadSource(path, "")
}

// ReadSource is Read for the database source named source: rowguard serves
// one database, and a metadata with several sources has its others
// reported in Metadata.Warnings. An empty name means "default"; "default"
// means the only source when there is one.
func ReadSource(path, source string) (*Metadata, *Source, error) {
	clean := filepath.Clean(path)
	l := &loader{base: filepath.Dir(clean), source: source, files: map[string]string{}}
	md := l.load(clean)
	l.errs.Sort()
	l.warns.Sort()
	md.Warnings = l.warns
	src := &Source{Root: ".", Name: source, Files: map[string]string{}}
	if info, err := os.Stat(clean); err == nil && !info.IsDir() {
		src.Root = filepath.Base(clean)
	}
	for f, text := range l.files {
		rel, err := filepath.Rel(l.base, f)
		if err != nil {
			rel = f
		}
		src.Files[filepath.ToSlash(rel)] = text
	}
	return md, src, l.errs.Err()
}

// Load parses the metadata held in s.
func (s *Source) Load() (*Metadata, error) {
	dir, err := os.MkdirTemp("", "rowguard-metadata-")
	if err != nil {
		return nil, fmt.Errorf("metadata source: %w", err)
	}
	defer os.RemoveAll(dir)
	for name, text := range s.Files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return nil, fmt.Errorf("metadata source: file name %q leaves the metadata directory", name)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("metadata source: %w", err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return nil, fmt.Errorf("metadata source: %w", err)
		}
	}
	md, _, err := ReadSource(filepath.Join(dir, s.Root), s.Name)
	return md, err
}

// Parse reads one metadata document held in memory; name is used in
// positions and to resolve !include relative to its directory.
func Parse(name string, data []byte) (*Metadata, error) {
	l := &loader{base: filepath.Dir(name)}
	md := &Metadata{}
	if root := l.parseBytes(name, data); root != nil {
		l.document(md, root, name)
	}
	l.errs.Sort()
	l.warns.Sort()
	md.Warnings = l.warns
	return md, l.errs.Err()
}

type loader struct {
	base string
	// source is the source to serve ("" for "default" or the only one).
	source string
	errs   ErrorList
	// warns are parts of the metadata that are not served.
	warns ErrorList
	// files records what was read, for Read.
	files map[string]string
	// included guards against !include cycles.
	included map[string]bool
}

func (l *loader) errorf(pos Pos, format string, args ...any) {
	l.errs = append(l.errs, Errorf(pos, format, args...))
}

func (l *loader) warnf(pos Pos, format string, args ...any) {
	l.warns = append(l.warns, Errorf(pos, format, args...))
}

func (l *loader) pos(file string, n *yaml.Node) Pos {
	rel := file
	if r, err := filepath.Rel(l.base, file); err == nil && !strings.HasPrefix(r, "..") {
		rel = r
	}
	if n == nil {
		return Pos{File: rel}
	}
	return Pos{File: rel, Line: n.Line, Col: n.Column}
}

func (l *loader) load(path string) *Metadata {
	md := &Metadata{}
	info, err := os.Stat(path)
	if err != nil {
		l.errorf(Pos{File: path}, "cannot read metadata: %v", err)
		return md
	}
	if !info.IsDir() {
		l.base = filepath.Dir(path)
		if root := l.readFile(path); root != nil {
			l.document(md, root, path)
		}
		return md
	}
	l.base = path
	dbs := filepath.Join(path, "databases", "databases.yaml")
	switch {
	case exists(dbs):
		if root := l.readFile(dbs); root != nil {
			l.sources(md, root, dbs)
		}
	case exists(filepath.Join(path, "tables.yaml")):
		f := filepath.Join(path, "tables.yaml")
		if root := l.readFile(f); root != nil {
			l.tables(md, root, f)
		}
	default:
		l.errorf(Pos{File: path}, "no databases/databases.yaml or tables.yaml here: point --metadata at the metadata/ directory of a `hasura metadata export`, or at an exported metadata JSON file")
		return md
	}
	if f := filepath.Join(path, "inherited_roles.yaml"); exists(f) {
		if root := l.readFile(f); root != nil {
			l.inheritedRoles(md, root, f)
		}
	}
	l.unservedFiles(path)
	return md
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readFile parses a YAML/JSON file and returns its top node.
func (l *loader) readFile(path string) *yaml.Node {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			msg = "file does not exist"
		}
		l.errorf(Pos{File: l.pos(path, nil).File}, "cannot read: %s", msg)
		return nil
	}
	if l.files != nil {
		l.files[path] = string(data)
	}
	return l.parseBytes(path, data)
}

func (l *loader) parseBytes(path string, data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.errorf(Pos{File: l.pos(path, nil).File}, "not valid YAML/JSON: %v", err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.SequenceNode, Line: 1, Column: 1}
	}
	return doc.Content[0]
}

// include follows `!include file` (as a tag or as Hasura's quoted string
// form) and returns the node and the file it lives in; other nodes come back
// unchanged.
func (l *loader) include(n *yaml.Node, file string) (*yaml.Node, string) {
	target, ok := "", false
	switch {
	case n.Tag == "!include":
		target, ok = n.Value, true
	case n.Kind == yaml.ScalarNode && strings.HasPrefix(n.Value, "!include "):
		target, ok = strings.TrimSpace(strings.TrimPrefix(n.Value, "!include ")), true
	}
	if !ok {
		return n, file
	}
	path := filepath.Join(filepath.Dir(file), target)
	// Hasura metadata includes each file once; a second include is a cycle
	// or a copy-paste slip, and following it could recurse forever.
	if l.included[path] {
		l.errorf(l.pos(file, n), "%s is included a second time (an !include cycle?)", target)
		return nil, file
	}
	if l.included == nil {
		l.included = map[string]bool{}
	}
	l.included[path] = true
	root := l.readFile(path)
	if root == nil {
		l.errorf(l.pos(file, n), "included file %s could not be loaded", target)
		return nil, file
	}
	return root, path
}

// mapping checks that n is a mapping and returns its keys and values in
// order, reporting keys not in allowed (when allowed is not nil).
func (l *loader) mapping(n *yaml.Node, file, what string, allowed ...string) []kv {
	if n.Kind != yaml.MappingNode {
		l.errorf(l.pos(file, n), "%s must be an object, got %s", what, kindName(n))
		return nil
	}
	out := make([]kv, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			l.errorf(l.pos(file, k), "unknown key %q in %s: expected one of %s", k.Value, what, strings.Join(allowed, ", "))
			continue
		}
		out = append(out, kv{key: k.Value, keyNode: k, val: v})
	}
	return out
}

// list follows an !include and returns the items of a list and the file
// they live in. Null (an empty key, as exports write it) is an empty list;
// anything else that is not a list is an error naming what was expected.
func (l *loader) list(n *yaml.Node, file, what string) ([]*yaml.Node, string) {
	n, file = l.include(n, file)
	switch {
	case n == nil || isNull(n):
		return nil, file
	case n.Kind != yaml.SequenceNode:
		l.errorf(l.pos(file, n), "%s must be a list, got %s", what, kindName(n))
		return nil, file
	}
	return n.Content, file
}

type kv struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
}

// isNull reports whether n is YAML's null (`null`, `~` or nothing).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func (l *loader) str(n *yaml.Node, file, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errorf(l.pos(file, n), "%s must be a string, got %s", what, kindName(n))
		return ""
	}
	return n.Value
}

func (l *loader) boolean(n *yaml.Node, file, what string) bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		l.errorf(l.pos(file, n), "%s must be true or false, got %s", what, kindName(n))
	}
	return b
}

func (l *loader) strings(n *yaml.Node, file, what string) []string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(l.pos(file, n), "%s must be a list of strings, got %s", what, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, l.str(c, file, what+" item"))
	}
	return out
}

// document reads a whole exported metadata file.
func (l *loader) document(md *Metadata, n *yaml.Node, file string) {
	n, file = l.include(n, file)
	if n == nil {
		return
	}
	if n.Kind == yaml.SequenceNode {
		l.tables(md, n, file)
		return
	}
	for _, e := range l.mapping(n, file, "metadata") {
		switch e.key {
		case "tables":
			l.tables(md, e.val, file)
		case "sources":
			l.sources(md, e.val, file)
		case "inherited_roles":
			l.inheritedRoles(md, e.val, file)
		case "functions":
			l.functions(md, e.val, file)
		default:
			l.unserved(unservedTopLevel, e.key, e.val, file, "")
		}
	}
}

// sources reads databases.yaml or the `sources` of a v3 export. rowguard
// serves one PostgreSQL database, so exactly one source is expected.
func (l *loader) sources(md *Metadata, n *yaml.Node, file string) {
	items, file := l.list(n, file, "sources")
	type source struct {
		name              string
		pos               Pos
		tables, functions *yaml.Node
	}
	var all []source
	for _, s := range items {
		var name string
		var tables, functions *yaml.Node
		for _, e := range l.mapping(s, file, "source") {
			switch e.key {
			case "name":
				name = l.str(e.val, file, "source name")
			case "kind":
				if k := l.str(e.val, file, "source kind"); k != "postgres" && k != "pg" && k != "citus" {
					l.errorf(l.pos(file, e.val), "source kind %q is not supported: rowguard serves PostgreSQL sources only", k)
				}
			case "tables":
				tables = e.val
			case "functions":
				functions = e.val
			default:
				l.unserved(unservedSourceKeys, e.key, e.val, file, fmt.Sprintf("source %q", name))
			}
		}
		all = append(all, source{name, l.pos(file, s), tables, functions})
	}
	// rowguard serves one database: the source asked for; "default" (or
	// no name) is the source named so, else the only one there is.
	want := l.source
	if want == "" {
		want = "default"
	}
	if want == "default" && len(all) == 1 {
		want = all[0].name
	}
	found := false
	for _, s := range all {
		if s.name != want {
			l.warnf(s.pos, "source %q will not be served: rowguard serves one database, source %q (choose another with --source)", s.name, want)
			continue
		}
		found = true
		md.Source = s.name
		if s.tables != nil {
			l.tables(md, s.tables, file)
		}
		if s.functions != nil {
			l.functions(md, s.functions, file)
		}
	}
	if !found && len(all) > 0 {
		names := make([]string, len(all))
		for i, s := range all {
			names[i] = s.name
		}
		l.errorf(l.pos(file, n), "no source named %q; the metadata has %s: choose one with --source", want, strings.Join(names, ", "))
	}
}

func (l *loader) tables(md *Metadata, n *yaml.Node, file string) {
	items, file := l.list(n, file, "tables")
	for _, item := range items {
		tn, tfile := l.include(item, file)
		if tn == nil {
			continue
		}
		if t := l.table(tn, tfile); t != nil {
			md.Tables = append(md.Tables, t)
		}
	}
}

var tableKeys = []string{
	"table", "object_relationships", "array_relationships",
	"select_permissions", "insert_permissions", "update_permissions", "delete_permissions",
	"computed_fields", "configuration", "is_enum",
	// Accepted and ignored: they do not bear on permissions.
	"remote_relationships", "event_triggers",
	"apollo_federation_config", "logical_model",
}

func (l *loader) table(n *yaml.Node, file string) *Table {
	t := &Table{Pos: l.pos(file, n)}
	entries := l.mapping(n, file, "table entry", tableKeys...)
	if entries == nil && n.Kind != yaml.MappingNode {
		return nil
	}
	hasName := false
	for _, e := range entries {
		if e.key == "table" {
			t.Table = l.qualifiedTable(e.val, file)
			hasName = true
		}
	}
	if !hasName {
		l.errorf(t.Pos, "table entry has no `table:` name")
		return nil
	}
	for _, e := range entries {
		switch e.key {
		case "object_relationships":
			t.ObjectRelationships = l.relationships(e.val, file, ObjectRel)
		case "array_relationships":
			t.ArrayRelationships = l.relationships(e.val, file, ArrayRel)
		case "computed_fields":
			t.ComputedFields = l.computedFields(e.val, file)
		case "configuration":
			t.Config = l.tableConfiguration(e.val, file)
		case "is_enum":
			t.IsEnum = l.boolean(e.val, file, "is_enum")
		case "select_permissions":
			t.Permissions = append(t.Permissions, l.permissions(e.val, file, Select)...)
		case "insert_permissions":
			t.Permissions = append(t.Permissions, l.permissions(e.val, file, Insert)...)
		case "update_permissions":
			t.Permissions = append(t.Permissions, l.permissions(e.val, file, Update)...)
		case "delete_permissions":
			t.Permissions = append(t.Permissions, l.permissions(e.val, file, Delete)...)
		default:
			l.unserved(unservedTableKeys, e.key, e.val, file, t.Table.String())
		}
	}
	return t
}

// qualifiedTable reads `{schema, name}` or a bare name (schema public).
func (l *loader) qualifiedTable(n *yaml.Node, file string) QualifiedTable {
	q := QualifiedTable{Schema: "public"}
	if n.Kind == yaml.ScalarNode {
		q.Name = l.str(n, file, "table name")
		return q
	}
	for _, e := range l.mapping(n, file, "table name", "schema", "name") {
		switch e.key {
		case "schema":
			q.Schema = l.str(e.val, file, "schema")
		case "name":
			q.Name = l.str(e.val, file, "table name")
		}
	}
	if q.Name == "" {
		l.errorf(l.pos(file, n), "table name has no `name`")
	}
	return q
}

func (l *loader) relationships(n *yaml.Node, file string, kind RelKind) []*Relationship {
	items, file := l.list(n, file, fmt.Sprint(kind)+"_relationships")
	var out []*Relationship
	for _, item := range items {
		r := &Relationship{Pos: l.pos(file, item), Kind: kind}
		var using *yaml.Node
		for _, e := range l.mapping(item, file, "relationship", "name", "using", "comment") {
			switch e.key {
			case "name":
				r.Name = l.str(e.val, file, "relationship name")
			case "using":
				using = e.val
			}
		}
		if r.Name == "" {
			l.errorf(r.Pos, "relationship has no `name`")
			continue
		}
		if using == nil {
			l.errorf(r.Pos, "relationship %q has no `using`: give foreign_key_constraint_on or manual_configuration", r.Name)
			continue
		}
		if l.relationshipUsing(r, using, file) {
			out = append(out, r)
		}
	}
	return out
}

// relationshipUsing reads how r joins, and reports whether r is served.
func (l *loader) relationshipUsing(r *Relationship, n *yaml.Node, file string) bool {
	entries := l.mapping(n, file, "relationship `using`", "foreign_key_constraint_on", "manual_configuration")
	if len(entries) != 1 {
		if n.Kind == yaml.MappingNode {
			l.errorf(l.pos(file, n), "relationship %q: `using` needs exactly one of foreign_key_constraint_on or manual_configuration", r.Name)
		}
		return false
	}
	e := entries[0]
	switch e.key {
	case "foreign_key_constraint_on":
		if e.val.Kind == yaml.MappingNode {
			fk := &RemoteFK{}
			for _, f := range l.mapping(e.val, file, "foreign_key_constraint_on", "table", "column", "columns") {
				switch f.key {
				case "table":
					fk.Table = l.qualifiedTable(f.val, file)
				case "column", "columns":
					fk.Columns = l.strings(f.val, file, f.key)
				}
			}
			if fk.Table.Name == "" || len(fk.Columns) == 0 {
				l.errorf(l.pos(file, e.val), "relationship %q: foreign_key_constraint_on needs `table` and `column`", r.Name)
				return false
			}
			r.RemoteFK = fk
			return true
		}
		r.FKColumns = l.strings(e.val, file, "foreign_key_constraint_on")
	case "manual_configuration":
		m := &ManualConfig{}
		for _, f := range l.mapping(e.val, file, "manual_configuration", "remote_table", "column_mapping", "insertion_order", "source") {
			switch f.key {
			case "remote_table":
				m.RemoteTable = l.qualifiedTable(f.val, file)
			case "column_mapping":
				for _, c := range l.mapping(f.val, file, "column_mapping") {
					m.ColumnMapping = append(m.ColumnMapping, ColumnPair{Local: c.key, Remote: l.str(c.val, file, "mapped column")})
				}
			}
		}
		switch {
		case m.RemoteTable.Name == "":
			l.errorf(l.pos(file, e.val), "relationship %q: manual_configuration needs `remote_table`", r.Name)
			return false
		case len(m.ColumnMapping) == 0:
			// Hasura accepts it, and it relates no column to any other.
			l.warnf(l.pos(file, e.val), "relationship %q has an empty column_mapping and will not be served: map at least one column to %s", r.Name, m.RemoteTable)
			return false
		}
		r.Manual = m
	}
	return true
}

var permissionKeys = map[Op][]string{
	Select: {"columns", "filter", "limit", "allow_aggregations", "computed_fields", "query_root_fields", "subscription_root_fields"},
	// computed_fields in insert and update permissions are accepted (Hasura
	// does) and mean nothing there: computed fields are never written.
	Insert: {"check", "set", "columns", "backend_only", "validate_input", "computed_fields"},
	Update: {"columns", "filter", "check", "set", "backend_only", "validate_input", "computed_fields"},
	Delete: {"filter", "backend_only", "validate_input"},
}

func (l *loader) permissions(n *yaml.Node, file string, op Op) []*Permission {
	items, file := l.list(n, file, string(op)+"_permissions")
	var out []*Permission
	roles := map[string]bool{}
	for _, item := range items {
		p := &Permission{Pos: l.pos(file, item), Op: op}
		var body *yaml.Node
		for _, e := range l.mapping(item, file, string(op)+" permission entry", "role", "permission", "comment") {
			switch e.key {
			case "role":
				p.Role = l.str(e.val, file, "role")
			case "permission":
				body = e.val
			}
		}
		if p.Role == "" {
			l.errorf(p.Pos, "%s permission has no `role`", op)
			continue
		}
		if roles[p.Role] {
			l.errorf(p.Pos, "role %q has a second %s permission on this table: merge them into one", p.Role, op)
			continue
		}
		roles[p.Role] = true
		if body == nil {
			l.errorf(p.Pos, "%s permission for role %q has no `permission` object", op, p.Role)
			continue
		}
		l.permissionBody(p, body, file)
		out = append(out, p)
	}
	return out
}

func (l *loader) permissionBody(p *Permission, n *yaml.Node, file string) {
	for _, e := range l.mapping(n, file, string(p.Op)+" permission", permissionKeys[p.Op]...) {
		switch e.key {
		case "columns":
			p.ColumnsPos = l.pos(file, e.val)
			if e.val.Kind == yaml.ScalarNode && e.val.Value == "*" {
				p.AllColumns = true
			} else {
				p.Columns = l.strings(e.val, file, "columns")
				for _, c := range e.val.Content {
					p.ColumnPos = append(p.ColumnPos, l.pos(file, c))
				}
			}
		case "filter", "check":
			// Hasura exports an absent rule as `check: null`; it means no
			// rule, as when the key is missing.
			if isNull(e.val) {
				continue
			}
			if e.key == "filter" {
				p.Filter = l.boolExp(e.val, file)
			} else {
				p.Check = l.boolExp(e.val, file)
			}
		case "set":
			for _, s := range l.mapping(e.val, file, "set") {
				p.Set = append(p.Set, &Preset{Pos: l.pos(file, s.keyNode), Column: s.key, Value: l.value(s.val, file)})
			}
		case "limit":
			var lim int
			if e.val.Kind != yaml.ScalarNode || e.val.Decode(&lim) != nil || lim < 0 {
				l.errorf(l.pos(file, e.val), "limit must be a non-negative integer, got %s", kindName(e.val))
				continue
			}
			p.Limit = &lim
		case "allow_aggregations":
			p.AllowAggregations = l.boolean(e.val, file, "allow_aggregations")
		case "backend_only":
			p.BackendOnly = l.boolean(e.val, file, "backend_only")
		case "computed_fields":
			if p.Op != Select {
				continue
			}
			p.ComputedFields = l.strings(e.val, file, "computed_fields")
			for _, c := range e.val.Content {
				p.ComputedFieldPos = append(p.ComputedFieldPos, l.pos(file, c))
			}
		case "query_root_fields":
			p.QueryRootFields = l.strings(e.val, file, "query_root_fields")
			p.HasQueryRootFields = true
		case "subscription_root_fields":
			p.SubscriptionRootFields = l.strings(e.val, file, "subscription_root_fields")
			p.HasSubscriptionRootFields = true
		}
	}
	if p.Columns == nil && !p.AllColumns && p.Op == Insert {
		// Hasura reads an insert permission without `columns` as every
		// column (they predate the key); select and update need the list.
		p.AllColumns = true
	}
	if p.Columns == nil && !p.AllColumns && p.Op != Delete {
		p.Columns = []string{}
	}
	if (p.Op == Select || p.Op == Delete || p.Op == Update) && p.Filter == nil {
		p.Filter = &And{Pos: p.Pos}
	}
	if p.Op == Insert && p.Check == nil {
		p.Check = &And{Pos: p.Pos}
	}
}

func (l *loader) inheritedRoles(md *Metadata, n *yaml.Node, file string) {
	items, file := l.list(n, file, "inherited_roles")
	for _, item := range items {
		r := &InheritedRole{Pos: l.pos(file, item)}
		for _, e := range l.mapping(item, file, "inherited role", "role_name", "role_set", "comment") {
			switch e.key {
			case "role_name":
				r.Name = l.str(e.val, file, "role_name")
			case "role_set":
				r.RoleSet = l.strings(e.val, file, "role_set")
			}
		}
		if r.Name == "" || len(r.RoleSet) == 0 {
			l.errorf(r.Pos, "inherited role needs `role_name` and a non-empty `role_set`")
			continue
		}
		md.InheritedRoles = append(md.InheritedRoles, r)
	}
}

// Roles returns every role named by a permission or an inherited role, sorted.
func (md *Metadata) Roles() []string {
	set := map[string]bool{}
	for _, t := range md.Tables {
		for _, p := range t.Permissions {
			set[p.Role] = true
		}
	}
	for _, r := range md.InheritedRoles {
		set[r.Name] = true
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
