package ws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// clientMessage is a message a client sends, in either protocol.
type clientMessage struct {
	Type    string          `json:"type"`
	ID      *string         `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// kind is what a client message asks, whatever its protocol calls it.
type kind int

const (
	kindInit      kind = iota + 1 // connection_init
	kindStart                     // Apollo start, graphql-transport-ws subscribe
	kindStop                      // Apollo stop, graphql-transport-ws complete
	kindTerminate                 // Apollo connection_terminate
	kindPing                      // graphql-transport-ws ping
	kindPong                      // graphql-transport-ws pong
)

// startPayload is the payload of start/subscribe: a GraphQL request.
type startPayload struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

// initPayload is connection_init's payload: headers override the
// handshake's.
type initPayload struct {
	Headers map[string]any `json:"headers"`
}

// parseMessage decodes a client message and checks that the messages that
// need an id carry one; the error is the text Hasura's close or
// connection_error carries.
func parseMessage(p protocol, data []byte) (*clientMessage, kind, error) {
	var m clientMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, 0, fmt.Errorf("parsing ClientMessage failed: %v", err)
	}
	k, ok := p.kind(m.Type)
	if !ok {
		return nil, 0, fmt.Errorf("parsing ClientMessage failed: unknown message type %q", m.Type)
	}
	if (k == kindStart || k == kindStop) && (m.ID == nil || *m.ID == "") {
		return nil, 0, errors.New("parsing ClientMessage failed: the message has no id")
	}
	return &m, k, nil
}

// message renders a server message {"type":…,"id":…,"payload":…}; id and
// payload are left out when empty.
func message(typ, id string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":`)
	t, _ := json.Marshal(typ)
	b.Write(t)
	if id != "" {
		i, _ := json.Marshal(id)
		b.WriteString(`,"id":`)
		b.Write(i)
	}
	if payload != nil {
		b.WriteString(`,"payload":`)
		b.Write(payload)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
