package metadataapi_test

import (
	"strings"
	"testing"
)

// TestSetTableCustomization: pg_set_table_customization renames the
// table's type, root fields and columns in the served schema, a name that
// is not a GraphQL name is refused with nothing changed, and v1's
// set_table_custom_fields sets root fields and columns.
func TestSetTableCustomization(t *testing.T) {
	a := newAPI(t)
	a.mustPost(t, "/v1/query", blogSetup)
	a.mustPost(t, "/v1/metadata", `{"type":"pg_set_table_customization","args":{"source":"default","table":"author","configuration":{
		"custom_name":"writer","custom_root_fields":{"select":"writers","select_by_pk":{"name":"writer","comment":"one writer"}},
		"column_config":{"name":{"custom_name":"fullName"}}}}}`)
	got := a.mustPost(t, "/v1/graphql", `{"query":"{ writers(order_by: {fullName: desc}) { __typename fullName } writer(id: 1) { fullName articles { title } } }"}`, "X-Hasura-Role: anonymous")
	want := `{"data":{"writers":[{"__typename":"writer","fullName":"Bob"},{"__typename":"writer","fullName":"Ann"}],"writer":{"fullName":"Ann","articles":[{"title":"a1"}]}}}`
	if got != want {
		t.Errorf("customized author:\n got %s\nwant %s", got, want)
	}
	status, body := a.post(t, "/v1/metadata", `{"type":"pg_set_table_customization","args":{"table":"author","configuration":{"custom_name":"my-writer"}}}`)
	if status != 400 || !strings.Contains(body, "invalid-configuration") || !strings.Contains(body, `custom_name \"my-writer\" is not a GraphQL name`) {
		t.Errorf("invalid custom_name: status %d: %s", status, body)
	}
	a.mustPost(t, "/v1/query", `{"type":"set_table_custom_fields","args":{"table":"article","custom_root_fields":{"select":"posts"},"custom_column_names":{"title":"headline"}}}`)
	got = a.mustPost(t, "/v1/graphql", `{"query":"{ posts(order_by: {id: asc}) { headline author { fullName } } }"}`, "X-Hasura-Role: anonymous")
	want = `{"data":{"posts":[{"headline":"a1","author":{"fullName":"Ann"}},{"headline":"b1","author":{"fullName":"Bob"}}]}}`
	if got != want {
		t.Errorf("custom fields of article:\n got %s\nwant %s", got, want)
	}
}
