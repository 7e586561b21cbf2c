package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
)

// wireStatement is one statement a client ran through the extended query
// protocol: its SQL text and the text of its bound parameters.
type wireStatement struct {
	SQL    string
	Params []string
}

// capture is a loopback TCP proxy in front of PostgreSQL that records the
// statements its clients run (Parse + Bind messages), so the benchmark can
// replay with pgbench exactly the transaction rowguard sends, without any
// hook in the server. It understands plaintext connections only
// (sslmode=disable), which is what the benchmark uses on loopback.
type capture struct {
	ln     net.Listener
	target string

	mu         sync.Mutex
	statements []wireStatement
}

// startCapture listens on a free loopback port and forwards every
// connection to target (host:port).
func startCapture(target string) (*capture, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("capture proxy: %w", err)
	}
	c := &capture{ln: ln, target: target}
	go c.accept()
	return c, nil
}

// Addr returns the proxy's host:port.
func (c *capture) Addr() string { return c.ln.Addr().String() }

// Close stops accepting connections.
func (c *capture) Close() error { return c.ln.Close() }

// Reset forgets what was recorded so far.
func (c *capture) Reset() {
	c.mu.Lock()
	c.statements = nil
	c.mu.Unlock()
}

// Statements returns what was recorded since the last Reset.
func (c *capture) Statements() []wireStatement {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wireStatement(nil), c.statements...)
}

func (c *capture) accept() {
	for {
		client, err := c.ln.Accept()
		if err != nil {
			return
		}
		go c.proxy(client)
	}
}

func (c *capture) proxy(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", c.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		io.Copy(client, server)
		client.Close()
	}()
	if err := c.forwardStartup(client, server); err != nil {
		return
	}
	named := map[string]string{} // prepared statement name → SQL
	for {
		typ, body, err := readMessage(client)
		if err != nil {
			return
		}
		if err := c.record(typ, body, named); err != nil {
			return
		}
		if err := writeMessage(server, typ, body); err != nil {
			return
		}
	}
}

// forwardStartup passes the untyped startup message on, refusing an SSL or
// GSS encryption request first so the client continues in plaintext.
func (c *capture) forwardStartup(client, server net.Conn) error {
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(client, hdr[:]); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint32(hdr[:4]))
		if n < 8 || n > 1<<20 {
			return fmt.Errorf("startup message of %d bytes", n)
		}
		code := binary.BigEndian.Uint32(hdr[4:])
		if n == 8 && (code == 80877103 || code == 80877104) { // SSLRequest, GSSENCRequest
			if _, err := client.Write([]byte{'N'}); err != nil {
				return err
			}
			continue
		}
		rest := make([]byte, n-8)
		if _, err := io.ReadFull(client, rest); err != nil {
			return err
		}
		_, err := server.Write(append(hdr[:], rest...))
		return err
	}
}

// record notes Parse messages (SQL text, by statement name) and, at each
// Bind, the statement run with its parameters.
func (c *capture) record(typ byte, body []byte, named map[string]string) error {
	switch typ {
	case 'P':
		r := msgReader{b: body}
		name, sql := r.cstring(), r.cstring()
		if r.err != nil {
			return r.err
		}
		named[name] = sql
	case 'B':
		r := msgReader{b: body}
		r.cstring() // portal
		stmt := r.cstring()
		nfmt := r.int16()
		for i := 0; i < nfmt; i++ {
			if r.int16() != 0 {
				// A binary parameter cannot be replayed as text: record
				// nothing rather than a wrong value.
				return nil
			}
		}
		n := r.int16()
		params := make([]string, 0, n)
		for i := 0; i < n; i++ {
			l := r.int32()
			if l < 0 {
				params = append(params, "")
				continue
			}
			params = append(params, string(r.bytes(l)))
		}
		if r.err != nil {
			return r.err
		}
		c.mu.Lock()
		c.statements = append(c.statements, wireStatement{SQL: named[stmt], Params: params})
		c.mu.Unlock()
	}
	return nil
}

func readMessage(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[1:]))
	if n < 4 || n > 1<<30 {
		return 0, nil, fmt.Errorf("message %q of %d bytes", hdr[0], n)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	return hdr[0], body, nil
}

func writeMessage(w io.Writer, typ byte, body []byte) error {
	msg := make([]byte, 5, 5+len(body))
	msg[0] = typ
	binary.BigEndian.PutUint32(msg[1:], uint32(len(body)+4))
	_, err := w.Write(append(msg, body...))
	return err
}

// msgReader reads the fields of one protocol message; the first error
// sticks.
type msgReader struct {
	b   []byte
	err error
}

var errShort = errors.New("protocol message too short")

func (r *msgReader) cstring() string {
	i := bytes.IndexByte(r.b, 0)
	if i < 0 {
		r.err = errShort
		return ""
	}
	s := string(r.b[:i])
	r.b = r.b[i+1:]
	return s
}

func (r *msgReader) int16() int {
	if len(r.b) < 2 {
		r.err = errShort
		return 0
	}
	v := int(int16(binary.BigEndian.Uint16(r.b)))
	r.b = r.b[2:]
	return v
}

func (r *msgReader) int32() int {
	if len(r.b) < 4 {
		r.err = errShort
		return 0
	}
	v := int(int32(binary.BigEndian.Uint32(r.b)))
	r.b = r.b[4:]
	return v
}

func (r *msgReader) bytes(n int) []byte {
	if len(r.b) < n {
		r.err = errShort
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// lastTransaction returns the statements from the last BEGIN through the
// COMMIT that ends it.
func lastTransaction(sts []wireStatement) ([]wireStatement, error) {
	begin := -1
	for i := len(sts) - 1; i >= 0; i-- {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(sts[i].SQL)), "BEGIN") {
			begin = i
			break
		}
	}
	if begin < 0 {
		return nil, errors.New("no transaction recorded: the server sent no BEGIN")
	}
	for i := begin + 1; i < len(sts); i++ {
		if strings.EqualFold(strings.TrimSpace(sts[i].SQL), "COMMIT") {
			return sts[begin : i+1], nil
		}
	}
	return nil, errors.New("the recorded transaction has no COMMIT")
}
