package policies

import (
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Hasura metadata holds much that rowguard does not serve: actions, remote
// schemas, event and cron triggers, REST endpoints, allow lists… A project
// that uses them still loads (Hasura would load it), and each such part is
// one warning naming the file and what will not be served, so that nothing
// is dropped in silence.

// unservedPart says what a metadata key holds and what rowguard does not do
// with it, as the end of a warning: "<what> will not be served: <why>".
type unservedPart struct {
	what, why string
}

// unservedTopLevel are the top-level keys of an export (and, as <key>.yaml,
// the files of a metadata directory) that rowguard does not serve.
var unservedTopLevel = map[string]unservedPart{
	"actions":                      {"actions", "rowguard does not run actions"},
	"custom_types":                 {"the actions' custom types", "rowguard does not run actions"},
	"remote_schemas":               {"remote schemas", "rowguard serves its database only"},
	"cron_triggers":                {"cron triggers", "rowguard does not schedule events"},
	"rest_endpoints":               {"REST endpoints", "rowguard serves GraphQL only"},
	"query_collections":            {"query collections", "rowguard has no allow list"},
	"allowlist":                    {"the allow list", "every valid query is accepted"},
	"allow_list":                   {"the allow list", "every valid query is accepted"},
	"api_limits":                   {"API limits", "use serve's --depth-limit, --node-limit and --time-limit, which apply to every role"},
	"network":                      {"network settings", "rowguard makes no outbound calls for the API"},
	"graphql_schema_introspection": {"disabled introspection", "every role may introspect its schema"},
	"metrics_config":               {"the metrics configuration", "rowguard's /metrics is configured by serve's flags (--metrics-addr)"},
	"backend_configs":              {"backend configurations", "rowguard serves PostgreSQL only"},
}

// unservedSourceKeys are keys of a source rowguard does not serve.
var unservedSourceKeys = map[string]unservedPart{
	"customization":     {"the source's root field and type name customization", "names are the table's own"},
	"native_queries":    {"native queries", "rowguard serves tracked tables and functions"},
	"logical_models":    {"logical models", "rowguard serves tracked tables and functions"},
	"stored_procedures": {"stored procedures", "rowguard serves tracked tables and functions"},
}

// unservedTableKeys are keys of a table entry rowguard does not serve.
var unservedTableKeys = map[string]unservedPart{
	"remote_relationships":     {"remote relationships", "rowguard serves its database only"},
	"event_triggers":           {"event triggers", "rowguard does not deliver events"},
	"apollo_federation_config": {"Apollo federation", "rowguard serves a plain GraphQL schema"},
}

// unserved warns about n (the value of key in file, under owner when
// not empty) when it holds anything.
func (l *loader) unserved(parts map[string]unservedPart, key string, n *yaml.Node, file, owner string) {
	part, ok := parts[key]
	if !ok {
		return
	}
	n, file = l.include(n, file)
	if n == nil || empty(n) || key == "customization" && defaultCustomization(n) {
		return
	}
	what := part.what
	if names := itemNames(n); names != "" {
		what += " (" + names + ")"
	}
	if owner != "" {
		what += " of " + owner
	}
	l.warnf(l.pos(file, n), "%s will not be served: %s", what, part.why)
}

// unservedFiles warns about the top-level files of a metadata directory
// that hold parts rowguard does not serve.
func (l *loader) unservedFiles(dir string) {
	for key := range unservedTopLevel {
		f := filepath.Join(dir, key+".yaml")
		if !exists(f) {
			continue
		}
		root := l.readFile(f)
		if root == nil {
			continue
		}
		if root.Kind == yaml.MappingNode && key == "actions" {
			// actions.yaml holds `actions` and `custom_types`.
			for _, e := range l.mapping(root, f, "actions.yaml") {
				l.unserved(unservedTopLevel, e.key, e.val, f, "")
			}
			continue
		}
		l.unserved(unservedTopLevel, key, root, f, "")
	}
}

// defaultCustomization reports whether a source's customization asks for
// nothing but Hasura's default naming (`naming_convention: hasura-default`),
// which is what rowguard serves.
func defaultCustomization(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "naming_convention" && v.Kind == yaml.ScalarNode && v.Value == "hasura-default" {
			continue
		}
		if !empty(v) {
			return false
		}
	}
	return true
}

// empty reports whether n holds nothing: null, an empty list or string, or
// an object whose values are all empty (`custom_types: {enums: []}`).
func empty(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return isNull(n) || n.Value == ""
	case yaml.SequenceNode:
		return len(n.Content) == 0
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if !empty(n.Content[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// itemNames lists the `name`s of a list's items (at most five), for a
// warning that says which actions or triggers are meant.
func itemNames(n *yaml.Node) string {
	if n.Kind != yaml.SequenceNode {
		return ""
	}
	var names []string
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(item.Content); i += 2 {
			if item.Content[i].Value == "name" && item.Content[i+1].Kind == yaml.ScalarNode {
				names = append(names, item.Content[i+1].Value)
			}
		}
	}
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
	}
	return strings.Join(names, ", ")
}
