// Package observe makes a rowguard server operable: a request id for every
// request (the client's x-request-id, or one made here, echoed in the
// response), JSON logs in Hasura's shapes (startup, http-log, query-log,
// websocket-log, webhook-log) chosen as Hasura chooses them
// (HASURA_GRAPHQL_ENABLED_LOG_TYPES, HASURA_GRAPHQL_LOG_LEVEL), Prometheus
// metrics and OpenTelemetry traces.
//
// An Observer wraps the server's handler (Observer.Handler). Each request
// then carries a *Request in its context, which the GraphQL server fills
// at a few hook points (FromContext: the session, the operation, the SQL
// it ran, its error); when the handler returns, the Observer writes the
// http-log line and the metrics from it. Every method of a nil *Request
// does nothing, so code that runs without an Observer (tests, the demo)
// needs no checks.
//
// Secrets never reach a log: the token and the admin secret are never
// read, and session variables are logged by name (their values as
// "<redacted>", the role excepted) unless LogConfig.SessionValues asks for
// them.
package observe
