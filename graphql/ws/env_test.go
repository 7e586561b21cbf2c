package ws_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/ws"
)

// TestFromEnv: Hasura's variables and rowguard's reach the configs, the
// streaming pair included; a bad value names its variable.
func TestFromEnv(t *testing.T) {
	env := map[string]string{
		"HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL":      "500",
		"HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE":            "50",
		"HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL": "250",
		"HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE":       "10",
		"ROWGUARD_LIVE_QUERIES_POLL_EVERY_COHORT":                       "true",
		"HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE":                            "7",
	}
	cfg, live, err := ws.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := graphql.LiveConfig{RefetchInterval: 500 * time.Millisecond, BatchSize: 50,
		StreamRefetchInterval: 250 * time.Millisecond, StreamBatchSize: 10, PollEveryCohort: true}
	if live != want {
		t.Errorf("live config %+v, want %+v", live, want)
	}
	if cfg.KeepAlive != 7*time.Second {
		t.Errorf("keepalive %s, want 7s", cfg.KeepAlive)
	}
	for name, bad := range map[string]string{
		"ROWGUARD_LIVE_QUERIES_POLL_EVERY_COHORT":                 "yes",
		"HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE": "-1",
	} {
		_, _, err := ws.FromEnv(func(k string) string {
			if k == name {
				return bad
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: error %v, want one naming the variable", name, bad, err)
		}
	}
}
