package ws

import (
	"encoding/json"
)

// protocol is what differs between the two subprotocols: the names of the
// messages and how failures end a connection.
type protocol interface {
	kind(typ string) (kind, bool)
	// keepalive is sent every Config.KeepAlive once acknowledged.
	keepalive() []byte
	// data carries one result ({"data":…} or {"errors":[…]}).
	data(id string, body []byte) []byte
	// opError reports an operation that could not start; errorsBody is
	// {"errors":[…]}.
	opError(id string, errorsBody []byte) []byte
	// badMessage ends (or not) the connection after a message that could
	// not be parsed: a message to send first (nil for none) and the close
	// (code 0: stay open).
	badMessage(text string) (msg []byte, code int, reason string)
	// initFailed is the answer to a connection_init whose credentials
	// are refused.
	initFailed(text string) (msg []byte, code int, reason string)
	// initTimeout is the close of a connection that sent no
	// connection_init in time.
	initTimeout() (code int, reason string)
}

// apollo is subscriptions-transport-ws's protocol, "graphql-ws".
type apollo struct{}

func (apollo) kind(typ string) (kind, bool) {
	switch typ {
	case "connection_init":
		return kindInit, true
	case "start":
		return kindStart, true
	case "stop":
		return kindStop, true
	case "connection_terminate":
		return kindTerminate, true
	}
	return 0, false
}

func (apollo) keepalive() []byte { return []byte(`{"type":"ka"}`) }

func (apollo) data(id string, body []byte) []byte { return message("data", id, body) }

func (apollo) opError(id string, errorsBody []byte) []byte { return message("error", id, errorsBody) }

func (apollo) badMessage(text string) ([]byte, int, string) {
	return message("connection_error", "", jsonText(text)), 0, ""
}

func (apollo) initFailed(text string) ([]byte, int, string) {
	return message("connection_error", "", jsonText(text)), 4400, serverErrorMsg("4400: Connection initialization failed: " + text)
}

func (apollo) initTimeout() (int, string) {
	return CloseInternalError, "Connection initialisation timeout"
}

// transportWS is the graphql-ws npm package's protocol,
// "graphql-transport-ws".
type transportWS struct{}

func (transportWS) kind(typ string) (kind, bool) {
	switch typ {
	case "connection_init":
		return kindInit, true
	case "subscribe":
		return kindStart, true
	case "complete":
		return kindStop, true
	case "ping":
		return kindPing, true
	case "pong":
		return kindPong, true
	}
	return 0, false
}

func (transportWS) keepalive() []byte {
	return []byte(`{"type":"ping","payload":{"message":"keepalive"}}`)
}

func (transportWS) data(id string, body []byte) []byte { return message("next", id, body) }

func (transportWS) opError(id string, errorsBody []byte) []byte {
	var e struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(errorsBody, &e) != nil || e.Errors == nil {
		e.Errors = []byte("[]")
	}
	return message("error", id, e.Errors)
}

func (transportWS) badMessage(text string) ([]byte, int, string) {
	return nil, 4400, serverErrorMsg("4400: " + text)
}

func (transportWS) initFailed(string) ([]byte, int, string) {
	return nil, 4403, serverErrorMsg("4403: Forbidden")
}

func (transportWS) initTimeout() (int, string) { return 4408, "Connection initialisation timeout" }

// serverErrorMsg is the close reason Hasura sends: {"server_error_msg":…}.
func serverErrorMsg(text string) string {
	b, _ := json.Marshal(map[string]string{"server_error_msg": text})
	return string(b)
}

func jsonText(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
