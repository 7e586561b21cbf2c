package ws

import (
	"fmt"
	"strconv"
	"time"

	"github.com/rowguard/rowguard/graphql"
)

// FromEnv reads Hasura's environment variables for subscriptions (getenv
// is os.Getenv): HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL
// (milliseconds) and _BATCH_SIZE, the STREAMING_QUERIES pair (accepted;
// streams are refetched on the live-query interval),
// HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE and
// HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT (seconds), and
// rowguard's ROWGUARD_MAX_SUBSCRIPTIONS (whole server),
// ROWGUARD_MAX_SUBSCRIPTIONS_PER_CONNECTION and
// ROWGUARD_LIVE_QUERIES_SKIP_UNCHANGED (true: see
// graphql.LiveConfig.SkipUnchanged). Unset means the default.
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
	num("HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL")
	num("HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE")
	live.MaxSubscriptions = num("ROWGUARD_MAX_SUBSCRIPTIONS")
	switch v := getenv("ROWGUARD_LIVE_QUERIES_SKIP_UNCHANGED"); v {
	case "", "false":
	case "true":
		live.SkipUnchanged = true
	default:
		errs = append(errs, fmt.Errorf("ROWGUARD_LIVE_QUERIES_SKIP_UNCHANGED: %q is not true or false", v))
	}
	cfg.KeepAlive = time.Duration(num("HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE")) * time.Second
	cfg.InitTimeout = time.Duration(num("HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT")) * time.Second
	cfg.MaxSubscriptions = num("ROWGUARD_MAX_SUBSCRIPTIONS_PER_CONNECTION")
	if len(errs) > 0 {
		return cfg, live, fmt.Errorf("%v (fix the environment variable: a number, or unset for the default)", errs)
	}
	return cfg, live, nil
}
