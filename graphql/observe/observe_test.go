package observe

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestLogConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env       map[string]string
		wantTypes string
		wantErr   string
	}{
		{nil, "http-log,startup,webhook-log,websocket-log", ""},
		{map[string]string{"HASURA_GRAPHQL_ENABLED_LOG_TYPES": "startup, query-log"}, "query-log,startup", ""},
		{map[string]string{"HASURA_GRAPHQL_ENABLED_LOG_TYPES": "startup,sql-log"}, "", `unknown log type "sql-log"`},
		{map[string]string{"HASURA_GRAPHQL_LOG_LEVEL": "loud"}, "", `HASURA_GRAPHQL_LOG_LEVEL: "loud" is not one of`},
		{map[string]string{"ROWGUARD_LOG_SESSION_VALUES": "yes"}, "", `ROWGUARD_LOG_SESSION_VALUES: "yes"`},
	} {
		cfg, err := LogConfigFromEnv(func(k string) string { return tc.env[k] })
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: got %v, want %q", tc.env, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range []string{"http-log", "query-log", "startup", "webhook-log", "websocket-log"} {
			if cfg.Types[k] {
				got = append(got, k)
			}
		}
		if strings.Join(got, ",") != tc.wantTypes {
			t.Errorf("%v: types %v, want %s", tc.env, got, tc.wantTypes)
		}
	}
}

// TestSessionValues: values are logged only when asked; the role always.
func TestSessionValues(t *testing.T) {
	for _, values := range []bool{false, true} {
		var out bytes.Buffer
		obs := New(Config{Log: NewLogger(&out, LogConfig{Types: map[string]bool{TypeHTTP: true, TypeQuery: true}, SessionValues: values})})
		h := obs.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := FromContext(r.Context())
			rec.Session("user", true, map[string]string{"x-hasura-role": "user", "x-hasura-user-id": "user-seventy-seven"})
			rec.Operation("", "query q($v: Int) { t(id: $v) { id } }", map[string]any{"v": "secret-arg-xyzzy"})
			rec.Statement(r.Context(), "t", "SELECT $1", []string{"secret-arg-xyzzy"}, nil)
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/graphql", nil))
		// The values are words no request id, timestamp or duration can hold.
		for _, secret := range []string{"user-seventy-seven", "secret-arg-xyzzy"} {
			if got := strings.Contains(out.String(), secret); got != values {
				t.Errorf("SessionValues %v: the logs hold %s: %v\n%s", values, secret, got, out.String())
			}
		}
		if !strings.Contains(out.String(), `"x-hasura-role":"user"`) {
			t.Errorf("the role is not logged:\n%s", out.String())
		}
	}
}

// TestWebhookLog: a call of the webhook is logged without its headers;
// other URLs are not logged.
func TestWebhookLog(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer hook.Close()
	var out bytes.Buffer
	obs := New(Config{Log: NewLogger(&out, LogConfig{Types: map[string]bool{TypeWebhook: true}})})
	client := &http.Client{Transport: obs.WebhookTransport(nil, hook.URL+"/auth?x=1")}
	for _, path := range []string{"/auth", "/jwks"} {
		req, _ := http.NewRequest(http.MethodGet, hook.URL+path, nil)
		req.Header.Set("Authorization", "Bearer sekret-token")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || strings.Contains(out.String(), "sekret") {
		t.Fatalf("want one line without the token, got:\n%s", out.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	d := m["detail"].(map[string]any)
	if m["type"] != "webhook-log" || m["level"] != "error" || d["status_code"] != float64(401) || d["method"] != "GET" {
		t.Errorf("webhook-log: %s", lines[0])
	}
}

func TestRequestID(t *testing.T) {
	if got := requestID("abc-1"); got != "abc-1" {
		t.Errorf("a usable id is kept: %q", got)
	}
	for _, bad := range []string{"", "has space", strings.Repeat("x", 129), "quote\""} {
		if got := requestID(bad); got == bad || len(got) != 36 {
			t.Errorf("%q: got %q, want a new UUID", bad, got)
		}
	}
}

// TestDashboardNamesMetrics: every rowguard_ metric the Grafana dashboard
// in examples/ queries is one the server exports, and every one the
// server exports is on the dashboard.
func TestDashboardNamesMetrics(t *testing.T) {
	data, err := os.ReadFile("../../examples/grafana/rowguard-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	m := NewMetrics()
	m.request("/v1/graphql", "query", "user", 200, time.Millisecond, 1, true)
	m.error("x")
	m.authFailure("x")
	m.subsStarted.WithLabelValues("user").Inc()
	m.subsStopped.WithLabelValues("user").Inc()
	m.subErrors.WithLabelValues("user", "start").Inc()
	m.liveRound.WithLabelValues("live").Observe(0.01)
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range families {
		exported[f.GetName()] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			exported[f.GetName()+suffix] = true
		}
	}
	var ours []string
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "rowguard_") {
			ours = append(ours, f.GetName())
		}
	}
	for _, d := range []*prometheus.Desc{poolConns, poolAcquires, poolWaits, poolWaitSeconds, poolCanceled, liveQueries, liveCohorts} {
		n := regexp.MustCompile(`fqName: "([^"]+)"`).FindStringSubmatch(d.String())[1]
		exported[n] = true
		ours = append(ours, n)
	}
	name := regexp.MustCompile(`\b(rowguard_[a-z_]+|process_[a-z_]+|go_[a-z_]+)`)
	queried := 0
	onDashboard := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				queried++
				onDashboard[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")] = true
				if !exported[n] {
					t.Errorf("the dashboard queries %s, which the server does not export", n)
				}
			}
		}
	}
	if queried < 10 {
		t.Errorf("the dashboard queries %d metrics", queried)
	}
	for _, n := range ours {
		if !onDashboard[n] {
			t.Errorf("the server exports %s, which the dashboard does not show", n)
		}
	}
}
