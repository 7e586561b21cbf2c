// Package wsclient is a minimal graphql-transport-ws client (the protocol
// of the graphql-ws npm package) for the benchmarks and the end-to-end
// tests: dial with headers, connection_init, subscribe, read results and
// see the code the server closed with.
//
// It speaks only what those callers need, on the standard library: masked
// text frames out, the server's unmasked frames in (RFC 6455), pings of
// the protocol answered with pongs. Tests of the server's own WebSocket
// handling, which also speak Apollo's protocol and send fragmented or
// malformed frames, keep their own client in graphql/ws.
//
//	c, err := wsclient.Dial(ctx, "http://127.0.0.1:8080/v1/graphql", map[string]string{"Authorization": "Bearer " + token})
//	if err == nil {
//		err = c.Subscribe(ctx, "1", "subscription { note { id } }", nil)
//	}
//	for err == nil {
//		var m wsclient.Message
//		m, err = c.Read(ctx) // a *CloseError when the server closes
//	}
package wsclient
