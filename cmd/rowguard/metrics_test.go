package main

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// scrape returns the metrics text at url, with headers.
func scrape(t *testing.T, url string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue returns the value of the sample whose name and labels
// start with series (`name{a="b"`), or -1.
func metricValue(text, series string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + `[^ ]* ([0-9.e+-]+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestServeMetrics: /metrics on its own listener counts requests by
// operation type and role, errors by code, auth failures by reason,
// statements and the pool; on the main listener it is the admin's only.
func TestServeMetrics(t *testing.T) {
	_, db, prefix := blogDatabaseWithLogin(t)
	const key = "0123456789abcdef0123456789abcdef"
	url, logs := startServeLogs(t, "--database-url", db, "--role-prefix", prefix, "--admin-secret", "s3cret",
		"--unauthorized-role", "anonymous", "--jwt-secret", `{"type":"HS256","key":"`+key+`"}`, "--metrics-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`serving metrics on (http://\S+/metrics)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no metrics listener announced:\n%s", logs.String())
	}
	metricsURL := m[1]
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, userClaims("1", time.Now().Add(time.Hour))).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		post(t, url, articlesQuery, "Authorization", "Bearer "+token)
	}
	post(t, url, `{ article { nope } }`, "Authorization", "Bearer "+token)
	post(t, url, articlesQuery, "Authorization", "Bearer bad")
	post(t, url, articlesQuery, "X-Hasura-Admin-Secret", "s3cret", "X-Hasura-Role", "made-up-role")

	status, text := scrape(t, metricsURL)
	if status != 200 {
		t.Fatalf("scrape: %d %s", status, text)
	}
	for series, want := range map[string]float64{
		`rowguard_graphql_request_duration_seconds_count{operation_type="query",role="user"}`: 3,
		`rowguard_graphql_request_duration_seconds_count{operation_type="none",role="user"}`:  1,
		`rowguard_graphql_request_duration_seconds_count{operation_type="none",role="none"}`:  1,
		`rowguard_graphql_request_duration_seconds_count{operation_type="none",role="other"}`: 1,
		`rowguard_graphql_errors_total{code="validation-failed"}`:                             2,
		`rowguard_graphql_errors_total{code="invalid-jwt"}`:                                   1,
		`rowguard_auth_failures_total{reason="invalid-jwt"}`:                                  1,
		`rowguard_graphql_statements_per_request_count`:                                       6,
		`rowguard_http_requests_total{path="/v1/graphql",status="200"}`:                       6,
	} {
		if got := metricValue(text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if got := metricValue(text, `rowguard_graphql_statements_per_request_sum`); got != 3 {
		t.Errorf("statements: %v, want 3 (the user's queries; the made-up role's schema has no article)", got)
	}
	if got := metricValue(text, `rowguard_db_pool_connections{state="max"}`); got < 1 {
		t.Errorf("pool max: %v", got)
	}
	if got := metricValue(text, `rowguard_db_pool_acquires_total`); got < 4 {
		t.Errorf("pool acquires: %v, want at least 4", got)
	}
	if strings.Contains(text, "made-up-role") {
		t.Error("a role the metadata does not name became a label")
	}
	if status, _ := scrape(t, strings.TrimSuffix(url, "/v1/graphql")+"/metrics", "X-Hasura-Admin-Secret", "s3cret"); status == 200 {
		t.Error("with --metrics-addr, the main listener serves /metrics too")
	}
}

func TestServeMetricsAdminOnly(t *testing.T) {
	_, db, prefix := blogDatabaseWithLogin(t)
	url := startServe(t, "--database-url", db, "--role-prefix", prefix, "--admin-secret", "s3cret", "--unauthorized-role", "anonymous")
	metricsURL := strings.TrimSuffix(url, "/v1/graphql") + "/metrics"
	if status, body := scrape(t, metricsURL); status != 401 || !strings.Contains(body, "--metrics-addr") {
		t.Errorf("without the admin secret: %d %s", status, body)
	}
	if status, body := scrape(t, metricsURL, "X-Hasura-Admin-Secret", "s3cret"); status != 200 || !strings.Contains(body, "rowguard_db_pool_connections") {
		t.Errorf("with the admin secret: %d", status)
	}
}
