// Package ws serves GraphQL over WebSocket on /v1/graphql, as Hasura
// does: queries, mutations and live-query subscriptions, in both
// protocols Hasura speaks.
//
// The protocol is chosen as Hasura chooses it: a handshake offering
// exactly one subprotocol, graphql-transport-ws, speaks that one (the
// graphql-ws npm client's); anything else speaks Apollo's graphql-ws
// (subscriptions-transport-ws). The WebSocket framing itself (RFC 6455) is
// implemented here on the standard library: frame.go and handshake.go.
//
// A connection authenticates once, at connection_init: the headers of
// payload.headers over the handshake's own headers. Queries and mutations
// answer once and complete; subscriptions run as live queries of the
// graphql.Server (refetched, pushed when their result changes) until the
// client stops them. A connection is closed when its credentials expire
// (CloseExpired) and when the server installs a new program (1012).
package ws
