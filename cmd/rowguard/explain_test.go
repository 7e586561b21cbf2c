package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeExplain: `rowguard serve` as its unprivileged login role
// answers the explain API. As user 1 the plan has the article policy's
// filter and the entry names the policy; as admin (hasura_admin,
// BYPASSRLS) the plan has neither.
func TestServeExplain(t *testing.T) {
	_, db, prefix := blogDatabaseWithLogin(t)
	url := startServe(t, "--database-url", db, "--role-prefix", prefix, "--admin-secret", "s3cret")
	explainURL := strings.TrimSuffix(url, "/v1/graphql") + "/v1/graphql/explain"
	explain := func(t *testing.T, body string) []map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, explainURL, strings.NewReader(body))
		req.Header.Set("X-Hasura-Admin-Secret", "s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("explain: status %d: %s", resp.StatusCode, out)
		}
		var plans []map[string]any
		if err := json.Unmarshal(out, &plans); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return plans
	}
	text := func(entry map[string]any) string {
		var lines []string
		for _, l := range entry["plan"].([]any) {
			lines = append(lines, l.(string))
		}
		return strings.Join(lines, "\n")
	}
	const query = `{"query":{"query":"{ article { id } }"}`

	asUser := explain(t, query+`,"user":{"x-hasura-role":"user","x-hasura-user-id":"1"}}`)[0]
	if plan := text(asUser); !strings.Contains(plan, "Filter: ((user_id = ") || !strings.Contains(plan, "OR published") {
		t.Errorf("as user: the plan lacks the policy's filter:\n%s", plan)
	}
	pols, _ := asUser["policies"].([]any)
	if len(pols) != 1 || pols[0].(map[string]any)["name"] != "rg_article_select_user" {
		t.Errorf("as user: policies %v, want rg_article_select_user", asUser["policies"])
	}

	asAdmin := explain(t, query+`}`)[0]
	if plan := text(asAdmin); strings.Contains(plan, "Filter:") {
		t.Errorf("as admin: the plan has a filter:\n%s", plan)
	}
	if pols, _ := asAdmin["policies"].([]any); len(pols) != 0 {
		t.Errorf("as admin (BYPASSRLS): policies %v", pols)
	}
}
