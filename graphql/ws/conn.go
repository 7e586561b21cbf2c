package ws

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/graphql/observe"
)

// CloseExpired is the close code of a connection whose credentials
// expired (a JWT's exp, a webhook's Expires): 4403, Forbidden, with a
// reason naming the expiry. Hasura drops such a socket without a close
// frame (clients see 1006); a client seeing 4403 should reconnect with
// fresh credentials.
const CloseExpired = 4403

// outQueue bounds the messages waiting for a slow client; a connection
// whose queue is full is closed rather than let it hold the server up.
const outQueue = 1024

// conn is one WebSocket connection and its operations.
type conn struct {
	h     *Handler
	nc    net.Conn
	fc    *frameConn
	proto protocol
	req   *http.Request // the handshake

	out       chan []byte
	closing   chan struct{}
	closeOnce sync.Once
	code      int
	reason    string

	mu    sync.Mutex
	sess  *auth.Session
	acked bool
	ops   map[string]func() // running operations by id: their stop
	timer []*time.Timer
	ctx   context.Context
	stop  context.CancelFunc
}

func newConn(h *Handler, nc net.Conn, rw *bufio.ReadWriter, proto string, r *http.Request) *conn {
	var p protocol = apollo{}
	if proto == ProtocolTransportWS {
		p = transportWS{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		h: h, nc: nc, proto: p, req: r,
		fc:      &frameConn{r: rw.Reader, w: rw.Writer, maxSize: h.cfg.MaxMessageBytes},
		out:     make(chan []byte, outQueue),
		closing: make(chan struct{}),
		ops:     map[string]func(){},
		ctx:     ctx, stop: cancel,
	}
}

// serve reads messages until the connection ends, then stops every
// operation.
func (c *conn) serve() {
	defer c.nc.Close()
	defer c.stopAll()
	go c.writeLoop()
	c.after(c.h.cfg.InitTimeout, func() {
		c.mu.Lock()
		acked := c.acked
		c.mu.Unlock()
		if !acked {
			c.close(c.proto.initTimeout())
		}
	})
	for {
		data, err := c.fc.readMessage()
		if err != nil {
			var ce *closeError
			if errors.As(err, &ce) && ce.code >= 1002 && ce.code < 2000 && ce.code != 1005 {
				c.close(ce.code, ce.reason) // a protocol error of ours to report
			}
			return
		}
		c.handle(data)
	}
}

// handle answers one client message.
func (c *conn) handle(data []byte) {
	m, k, err := parseMessage(c.proto, data)
	if err != nil {
		msg, code, reason := c.proto.badMessage(err.Error())
		if msg != nil {
			c.send(msg)
		}
		if code != 0 {
			c.close(code, reason)
		}
		return
	}
	switch k {
	case kindInit:
		c.init(m.Payload)
	case kindStart:
		c.start(*m.ID, m.Payload)
	case kindStop:
		c.mu.Lock()
		stop := c.ops[*m.ID]
		delete(c.ops, *m.ID)
		c.mu.Unlock()
		if stop != nil {
			stop()
		}
	case kindTerminate:
		c.close(CloseNormal, "")
	case kindPing:
		if len(m.Payload) > 0 {
			c.send(message("pong", "", m.Payload))
		} else {
			c.send([]byte(`{"type":"pong"}`))
		}
	case kindPong:
	}
}

// init authenticates the connection: payload.headers over the
// handshake's headers.
func (c *conn) init(payload json.RawMessage) {
	c.mu.Lock()
	acked := c.acked
	c.mu.Unlock()
	if acked {
		if _, ok := c.proto.(transportWS); ok {
			c.close(4429, "Too many initialisation requests")
			return
		}
	}
	r := c.req.Clone(c.ctx)
	var p initPayload
	if len(payload) > 0 && string(payload) != "null" {
		if err := json.Unmarshal(payload, &p); err != nil {
			c.initFailed("the connection_init payload is not an object: " + err.Error())
			return
		}
	}
	for k, v := range p.Headers {
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		r.Header.Set(k, s)
	}
	rec := observe.FromContext(c.req.Context())
	span := rec.InitSpan()
	sess, err := c.h.cfg.Auth.Authenticate(r.Context(), r)
	if err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) {
			rec.AuthFailed(ae.Code, "$", ae.Message)
			span.End(ae.Code, ae.Message)
			c.initFailed(ae.Message)
			return
		}
		span.End("unexpected", "authentication failed")
		c.h.cfg.Log.Error("graphql/ws: authentication", "error", err)
		c.initFailed("authentication failed")
		return
	}
	span.SetAttribute("rowguard.role", sess.Role)
	span.End("", "")
	c.mu.Lock()
	c.sess, c.acked = sess, true
	c.mu.Unlock()
	known := sess.IsAdmin || c.h.cfg.Server.PGRole(sess.Role) != ""
	rec.WebSocketInit(sess.Role, known, sess.Vars)
	c.send([]byte(`{"type":"connection_ack"}`))
	if _, ok := c.proto.(apollo); ok {
		c.send(c.proto.keepalive())
	}
	if !acked {
		go c.keepalive()
	}
	if !sess.Expires.IsZero() {
		c.after(time.Until(sess.Expires), func() {
			at := sess.Expires.UTC().Format(time.RFC3339)
			text := "4403: Forbidden: the credentials expired at " + at + "; reconnect with fresh ones"
			if _, ok := c.proto.(apollo); ok {
				c.send(message("connection_error", "", jsonText("the credentials expired at "+at)))
			}
			c.close(CloseExpired, serverErrorMsg(text))
		})
	}
}

func (c *conn) initFailed(text string) {
	msg, code, reason := c.proto.initFailed(text)
	if msg != nil {
		c.send(msg)
	}
	c.close(code, reason)
}

// start runs one operation: a query or mutation answers once and
// completes, a subscription pushes results until it is stopped.
func (c *conn) start(id string, payload json.RawMessage) {
	c.mu.Lock()
	sess, acked, n := c.sess, c.acked, len(c.ops)
	_, exists := c.ops[id]
	c.mu.Unlock()
	_, gtw := c.proto.(transportWS)
	if !acked {
		if gtw {
			c.close(4401, "Unauthorized")
			return
		}
		c.opError(id, graphql.ErrorBody("start-failed", "the connection is not initialised: send connection_init first"))
		return
	}
	if exists {
		if gtw {
			c.close(4409, fmt.Sprintf("Subscriber for %s already exists", id))
			return
		}
		c.opError(id, graphql.ErrorBody("start-failed", fmt.Sprintf("an operation with id %q is already running", id)))
		return
	}
	if max := c.h.cfg.MaxSubscriptions; max > 0 && n >= max {
		c.opError(id, graphql.ErrorBody("start-failed", fmt.Sprintf("too many operations on this connection: the limit is %d", max)))
		return
	}
	var sp startPayload
	dec := json.NewDecoder(bytesReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&sp); err != nil || sp.Query == "" {
		c.opError(id, graphql.ErrorBody("bad-request", "the start payload needs a query"))
		return
	}
	req := &graphql.Request{Query: sp.Query, Variables: sp.Variables, OperationName: sp.OperationName}
	rec := observe.FromContext(c.req.Context())
	rec.WebSocketOperation(id, "started", sp.OperationName, sp.Query, "")
	span := rec.OperationSpan(id, sp.OperationName)
	octx := rec.OperationContext(c.ctx, span)
	srv := c.h.cfg.Server
	prep, errBody := srv.PrepareContext(octx, sess, req)
	if errBody != nil {
		code, msg := c.opError(id, errBody)
		span.End(code, msg)
		return
	}
	span.SetKind(string(prep.Kind()))
	if prep.Kind() != graphql.KindSubscription {
		ctx, cancel := context.WithCancel(octx)
		c.mu.Lock()
		c.ops[id] = cancel
		c.mu.Unlock()
		go func() {
			defer cancel()
			body := srv.Run(ctx, prep)
			code, msg := errorCode(body)
			if code != "" {
				observe.FromContext(ctx).Error(code, "$", msg)
			}
			span.End(code, msg)
			c.mu.Lock()
			_, running := c.ops[id]
			delete(c.ops, id)
			c.mu.Unlock()
			if running {
				c.send(c.proto.data(id, body))
				c.send(message("complete", id, nil))
			}
		}()
		return
	}
	c.mu.Lock()
	c.ops[id] = func() {} // reserved while Subscribe runs
	c.mu.Unlock()
	stop, err := srv.Subscribe(prep, func(body []byte) { c.send(c.proto.data(id, body)) })
	if err != nil {
		c.mu.Lock()
		delete(c.ops, id)
		c.mu.Unlock()
		code, msg := c.opError(id, graphql.ErrorBody("start-failed", err.Error()))
		span.End(code, msg)
		return
	}
	span.End("", "")
	stop = rec.TrackSubscription(stop)
	c.mu.Lock()
	if _, ok := c.ops[id]; ok && c.ctx.Err() == nil {
		c.ops[id] = stop
		stop = nil
	}
	c.mu.Unlock()
	if stop != nil { // stopped meanwhile
		stop()
	}
}

// opError reports an operation that could not start: error (then, in
// Apollo's protocol, complete); it is counted and logged, and its code
// and message returned.
func (c *conn) opError(id string, errorsBody []byte) (code, msg string) {
	c.send(c.proto.opError(id, errorsBody))
	if _, ok := c.proto.(apollo); ok {
		c.send(message("complete", id, nil))
	}
	code, msg = errorCode(errorsBody)
	rec := observe.FromContext(c.req.Context())
	rec.OperationFailed(code)
	rec.WebSocketOperation(id, "error", "", "", code+": "+msg)
	return code, msg
}

// errorCode is the code and message of the first error of a response
// body ({"errors":[…]}); empty for data.
func errorCode(body []byte) (code, msg string) {
	var r struct {
		Errors []struct {
			Message    string `json:"message"`
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if !bytes.HasPrefix(body, []byte(`{"errors"`)) || json.Unmarshal(body, &r) != nil || len(r.Errors) == 0 {
		return "", ""
	}
	return r.Errors[0].Extensions.Code, r.Errors[0].Message
}

// keepalive sends the protocol's keepalive every KeepAlive until the
// connection ends.
func (c *conn) keepalive() {
	t := time.NewTicker(c.h.cfg.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.send(c.proto.keepalive())
		case <-c.closing:
			return
		}
	}
}

// after runs f after d unless the connection ended.
func (c *conn) after(d time.Duration, f func()) {
	t := time.AfterFunc(max(d, 0), f)
	c.mu.Lock()
	c.timer = append(c.timer, t)
	c.mu.Unlock()
}

// send queues a message; a client too slow to take it is disconnected.
func (c *conn) send(msg []byte) {
	select {
	case <-c.closing:
	case c.out <- msg:
	default:
		c.close(ClosePolicyViolation, "the client does not read its messages fast enough")
	}
}

// close ends the connection with code and reason, after the messages
// already queued.
func (c *conn) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.code, c.reason = code, reason
		close(c.closing)
	})
}

// writeTimeout bounds one write: a client that stops reading (a zero TCP
// window) must not hold the connection, and its live queries, forever.
const writeTimeout = 10 * time.Second

// writeLoop writes queued messages, then the close frame.
func (c *conn) writeLoop() {
	for {
		select {
		case msg := <-c.out:
			c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.fc.writeText(msg); err != nil {
				c.close(0, "")
				c.nc.Close()
				return
			}
		case <-c.closing:
			for {
				select {
				case msg := <-c.out:
					c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
					if c.fc.writeText(msg) != nil {
						c.nc.Close()
						return
					}
					continue
				default:
				}
				break
			}
			if c.code != 0 {
				c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
				c.fc.writeClose(c.code, c.reason)
			}
			// The client answers with its own close frame, which ends
			// the read loop; do not wait for it long.
			c.nc.SetReadDeadline(time.Now().Add(time.Second))
			return
		}
	}
}

// stopAll stops every operation and timer once the connection ended.
func (c *conn) stopAll() {
	c.close(0, "")
	c.stop()
	c.mu.Lock()
	ops := c.ops
	c.ops = map[string]func(){}
	timers := c.timer
	c.mu.Unlock()
	for _, stop := range ops {
		stop()
	}
	for _, t := range timers {
		t.Stop()
	}
}
