package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestReplicaHealthAndMetrics: /healthz has a line for the replica and
// /metrics its gauges and reads; once the standby is promoted it leaves
// the rotation (reads see the primary's rows, which it no longer gets),
// and both say so.
func TestReplicaHealthAndMetrics(t *testing.T) {
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("last /healthz: %q", last)
		}
	}()
	rs := newReplicaSet(t)
	url := rs.serve(t, "--admin-secret", "s3cret")
	base := strings.TrimSuffix(url, "/v1/graphql")
	name := fmt.Sprintf("127.0.0.1:%d", rs.standby.Port)
	status, body, version := getHealth(t, base, "")
	if want := "OK\nread replica " + name + ": healthy, policy version " + version + ", lag 0s\n"; status != 200 || body != want {
		t.Fatalf("/healthz: %d %q, want 200 %q", status, body, want)
	}
	before := countAs(t, url, "s3cret")
	status, text := scrape(t, base+"/metrics", "X-Hasura-Admin-Secret", "s3cret")
	series := `{replica="` + name + `"}`
	if status != 200 || metricValue(text, "rowguard_read_replica_healthy"+series) != 1 ||
		metricValue(text, "rowguard_read_replica_reads_total"+series) < 1 ||
		metricValue(text, "rowguard_read_replica_lag_seconds"+series) != 0 ||
		metricValue(text, "rowguard_read_replica_policy_version"+series) != float64(atoi(t, version)) {
		t.Fatalf("/metrics %d: want the replica healthy, at version %s, with reads:\n%s", status, version, grepLines(text, "rowguard_read_replica"))
	}

	if err := rs.standby.Promote(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "/healthz says promoted", func() bool {
		_, last, _ = getHealth(t, base, "")
		return strings.Contains(last, "read replica "+name+": promoted: not in recovery (pg_is_in_recovery() is false): it no longer follows the primary")
	})
	t.Logf("/healthz once promoted:\n%s", last)
	// A row the promoted server never gets: reads see it, so they ran on
	// the primary.
	execOn(t, rs.superuser, "INSERT INTO tag (name) VALUES ('after-promotion')")
	for range 10 {
		if got := countAs(t, url, "s3cret"); got != before+1 {
			t.Fatalf("a read saw %d tags, the primary has %d: it ran on the promoted replica", got, before+1)
		}
	}
	_, text = scrape(t, base+"/metrics", "X-Hasura-Admin-Secret", "s3cret")
	if metricValue(text, "rowguard_read_replica_healthy"+series) != 0 || metricValue(text, "rowguard_read_replica_fallback_reads_total") < 10 {
		t.Fatalf("/metrics after the promotion: want the replica unhealthy and reads on the primary:\n%s", grepLines(text, "rowguard_read_replica"))
	}
}

// countAs counts the tags through url as the admin (the admin secret).
func countAs(t *testing.T, url, secret string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"query":"{ tag_aggregate { aggregate { count } } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hasura-Admin-Secret", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			TagAggregate struct {
				Aggregate struct{ Count int }
			} `json:"tag_aggregate"`
		}
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Errors) > 0 {
		t.Fatalf("count tags: status %d, %v, errors %v", resp.StatusCode, err, out.Errors)
	}
	return out.Data.TagAggregate.Aggregate.Count
}

// execOn runs sql on the database at url.
func execOn(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number: %v", s, err)
	}
	return n
}

// grepLines returns the lines of text that contain sub.
func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
