package ws

import (
	"fmt"
	"strconv"
	"time"

	"github.com/rowguard/rowguard/graphql"
)

// FromEnv reads Hasura's environment variables for subscriptions (getenv
// is os.Getenv): HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL
// (milliseconds) and _BATCH_SIZE, the STREAMING_QUERIES pair (the same
// for streams; the live-query values when unset),
// HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE and
// HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT (seconds), and
// rowguard's ROWGUARD_MAX_SUBSCRIPTIONS (whole server),
// ROWGUARD_MAX_SUBSCRIPTIONS_PER_CONNECTION,
// ROWGUARD_LIVE_QUERIES_SKIP_UNCHANGED and
// ROWGUARD_LIVE_QUERIES_POLL_EVERY_COHORT (true or false: see
// graphql.LiveConfig.SkipUnchanged and PollEveryCohort). Unset means the
// default.
func FromEnv(getenv func(string) string) (Config, graphql.LiveConfig, error) {
	var cfg Config
	var live graphql.LiveConfig
	var errs []error
	num := func(name string) int {
		v := getenv(name)
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a non-negative integer", name, v))
			return 0
		}
		return n
	}
	live.RefetchInterval = time.Duration(num("HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL")) * time.Millisecond
	live.BatchSize = num("HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE")
	live.StreamRefetchInterval = time.Duration(num("HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL")) * time.Millisecond
	live.StreamBatchSize = num("HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE")
	live.MaxSubscriptions = num("ROWGUARD_MAX_SUBSCRIPTIONS")
	flag := func(name string) bool {
		switch v := getenv(name); v {
		case "", "false":
			return false
		case "true":
			return true
		default:
			errs = append(errs, fmt.Errorf("%s: %q is not true or false", name, v))
			return false
		}
	}
	live.SkipUnchanged = flag("ROWGUARD_LIVE_QUERIES_SKIP_UNCHANGED")
	live.PollEveryCohort = flag("ROWGUARD_LIVE_QUERIES_POLL_EVERY_COHORT")
	cfg.KeepAlive = time.Duration(num("HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE")) * time.Second
	cfg.InitTimeout = time.Duration(num("HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT")) * time.Second
	cfg.MaxSubscriptions = num("ROWGUARD_MAX_SUBSCRIPTIONS_PER_CONNECTION")
	if len(errs) > 0 {
		return cfg, live, fmt.Errorf("%v (fix the environment variable: a number, or unset for the default)", errs)
	}
	return cfg, live, nil
}
