package ws

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"
)

// Opcodes of RFC 6455 section 5.2.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close codes of RFC 6455 section 7.4.1 that this package sends.
const (
	CloseNormal          = 1000
	CloseProtocolError   = 1002
	ClosePolicyViolation = 1008
	CloseTooBig          = 1009
	CloseInternalError   = 1011
	CloseServiceRestart  = 1012
)

// closeError is a peer's close frame, or a reason to send one.
type closeError struct {
	code   int
	reason string
}

func (e *closeError) Error() string { return fmt.Sprintf("websocket closed: %d %s", e.code, e.reason) }

// frameConn reads and writes the frames of one server-side connection:
// client frames must be masked, server frames are not (RFC 6455 5.1).
type frameConn struct {
	r       *bufio.Reader
	w       io.Writer
	wmu     sync.Mutex
	maxSize int64
	closed  bool // a close frame was sent
}

// readMessage returns the next text or binary message, reassembling
// fragments; it answers pings with pongs and ignores pongs on the way. A
// close frame from the peer is returned as a *closeError after it is
// echoed.
func (c *frameConn) readMessage() ([]byte, error) {
	var msg []byte
	started := false
	for {
		fin, op, payload, err := c.readFrame()
		if err != nil {
			return nil, err
		}
		switch op {
		case opPing:
			if err := c.writeFrame(opPong, payload); err != nil {
				return nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			ce := &closeError{code: 1005}
			if len(payload) >= 2 {
				ce.code = int(binary.BigEndian.Uint16(payload))
				ce.reason = string(payload[2:])
			}
			code := ce.code
			if code == 1005 {
				code = CloseNormal
			}
			c.writeClose(code, "")
			return nil, ce
		case opText, opBinary:
			if started {
				return nil, &closeError{CloseProtocolError, "a new message began before the fragmented one ended"}
			}
			started = true
		case opContinuation:
			if !started {
				return nil, &closeError{CloseProtocolError, "continuation frame without a message"}
			}
		default:
			return nil, &closeError{CloseProtocolError, fmt.Sprintf("unknown opcode %d", op)}
		}
		if int64(len(msg)+len(payload)) > c.maxSize {
			return nil, &closeError{CloseTooBig, fmt.Sprintf("message larger than %d bytes", c.maxSize)}
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}

// readFrame reads one frame and unmasks its payload.
func (c *frameConn) readFrame() (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(c.r, h[:]); err != nil {
		return
	}
	fin = h[0]&0x80 != 0
	if h[0]&0x70 != 0 {
		return false, 0, nil, &closeError{CloseProtocolError, "reserved bits set without an extension"}
	}
	op = h[0] & 0x0F
	masked := h[1]&0x80 != 0
	if !masked {
		return false, 0, nil, &closeError{CloseProtocolError, "client frames must be masked"}
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(c.r, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(c.r, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if op >= opClose && (n > 125 || !fin) {
		return false, 0, nil, &closeError{CloseProtocolError, "control frames must be short and unfragmented"}
	}
	if n > uint64(c.maxSize) {
		return false, 0, nil, &closeError{CloseTooBig, fmt.Sprintf("message larger than %d bytes", c.maxSize)}
	}
	var mask [4]byte
	if _, err = io.ReadFull(c.r, mask[:]); err != nil {
		return
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(c.r, payload); err != nil {
		return
	}
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return fin, op, payload, nil
}

// writeFrame writes one unfragmented, unmasked frame.
func (c *frameConn) writeFrame(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return errors.New("websocket: close already sent")
	}
	if op == opClose {
		c.closed = true
	}
	hdr := make([]byte, 0, 10)
	hdr = append(hdr, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, byte(n))
	case n <= 0xFFFF:
		hdr = append(hdr, 126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	if _, err := c.w.Write(append(hdr, payload...)); err != nil {
		return err
	}
	if f, ok := c.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// writeText sends one text message.
func (c *frameConn) writeText(msg []byte) error { return c.writeFrame(opText, msg) }

// writeClose sends a close frame with code and reason (cut to the 123
// bytes a control frame leaves, on a rune boundary).
func (c *frameConn) writeClose(code int, reason string) error {
	for len(reason) > 123 {
		_, size := utf8.DecodeLastRuneInString(reason)
		reason = reason[:len(reason)-size]
	}
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	return c.writeFrame(opClose, append(p, reason...))
}
