package graphql

import "bytes"

// maxCompactDepth is encoding/json's nesting limit: json.Compact refuses
// deeper text, and so does appendCompact.
const maxCompactDepth = 10000

// writeCompact writes PostgreSQL's JSON text v without its whitespace, as
// json.Compact would, and v unchanged when it is not valid JSON.
func writeCompact(b *bytes.Buffer, v []byte) {
	if v == nil {
		b.WriteString("null")
		return
	}
	b.Grow(len(v))
	out, ok := appendCompact(b.AvailableBuffer(), v)
	if !ok {
		out = v
	}
	b.Write(out)
}

// appendCompact appends src to dst without the whitespace outside its
// strings and reports whether src is valid JSON (RFC 8259, at most
// maxCompactDepth levels deep); when it is not, dst is returned unchanged.
// For valid JSON the bytes appended are exactly json.Compact's.
//
// It replaces json.Compact in the response path: one pass over the bytes,
// copying runs between whitespace, where encoding/json's scanner calls a
// state function per byte (6% of the server's CPU under load).
func appendCompact(dst, src []byte) ([]byte, bool) {
	c := compactor{src: src, dst: dst}
	if c.run() {
		return append(c.dst, src[c.start:]...), true
	}
	return dst, false
}

// compactor is the state of one appendCompact: src[start:] is what is not
// yet copied to dst.
type compactor struct {
	src, dst []byte
	start    int
}

// space skips whitespace from i, copying the pending run first.
func (c *compactor) space(i int) int {
	j := i
	for j < len(c.src) {
		switch c.src[j] {
		case ' ', '\t', '\n', '\r':
			j++
			continue
		}
		break
	}
	if j > i {
		c.dst = append(c.dst, c.src[c.start:i]...)
		c.start = j
	}
	return j
}

// run checks src's grammar with an explicit stack of open containers,
// dropping whitespace as it goes.
func (c *compactor) run() bool {
	src := c.src
	var buf [64]byte
	stack := buf[:0] // '{' or '[' of each open container
	i := c.space(0)
value:
	if i >= len(src) {
		return false
	}
	switch ch := src[i]; {
	case ch == '{' || ch == '[':
		if len(stack) >= maxCompactDepth {
			return false
		}
		stack = append(stack, ch)
		if i = c.space(i + 1); i >= len(src) {
			return false
		}
		if src[i] == ch+2 { // '}' is '{'+2, ']' is '['+2
			stack = stack[:len(stack)-1]
			i++
			break
		}
		if ch == '{' {
			if i = c.key(i); i < 0 {
				return false
			}
		}
		goto value
	case ch == '"':
		if i = stringEnd(src, i); i < 0 {
			return false
		}
	case ch == '-' || ch >= '0' && ch <= '9':
		if i = numberEnd(src, i); i < 0 {
			return false
		}
	case ch == 't':
		if i = literalEnd(src, i, "true"); i < 0 {
			return false
		}
	case ch == 'f':
		if i = literalEnd(src, i, "false"); i < 0 {
			return false
		}
	case ch == 'n':
		if i = literalEnd(src, i, "null"); i < 0 {
			return false
		}
	default:
		return false
	}
	// A value ended at i: what follows must close or continue its
	// container, or end the text.
	for {
		i = c.space(i)
		if len(stack) == 0 {
			return i == len(src)
		}
		if i >= len(src) {
			return false
		}
		top := stack[len(stack)-1]
		switch src[i] {
		case ',':
			i = c.space(i + 1)
			if top == '{' {
				if i = c.key(i); i < 0 {
					return false
				}
			}
			goto value
		case top + 2:
			stack = stack[:len(stack)-1]
			i++
		default:
			return false
		}
	}
}

// key reads an object key and its colon at i and returns the index of the
// value after them, or -1.
func (c *compactor) key(i int) int {
	src := c.src
	if i >= len(src) || src[i] != '"' {
		return -1
	}
	if i = stringEnd(src, i); i < 0 {
		return -1
	}
	if i = c.space(i); i >= len(src) || src[i] != ':' {
		return -1
	}
	return c.space(i + 1)
}

// stringEnd returns the index after the string starting at src[i] == '"',
// or -1. Bytes are not checked to be UTF-8, as encoding/json's scanner does
// not check them either.
func stringEnd(src []byte, i int) int {
	for i++; i < len(src); i++ {
		switch ch := src[i]; {
		case ch == '"':
			return i + 1
		case ch < 0x20:
			return -1
		case ch == '\\':
			if i++; i >= len(src) {
				return -1
			}
			switch src[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(src) {
					return -1
				}
				for _, h := range src[i+1 : i+5] {
					if !isHex(h) {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func isHex(ch byte) bool {
	return ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F'
}

// numberEnd returns the index after the number starting at src[i], or -1:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(src []byte, i int) int {
	digits := func(i int) int { // one or more
		j := i
		for j < len(src) && src[j] >= '0' && src[j] <= '9' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
	if src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	default:
		if i = digits(i); i < 0 {
			return -1
		}
	}
	if i < len(src) && src[i] == '.' {
		if i = digits(i + 1); i < 0 {
			return -1
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if i = digits(i); i < 0 {
			return -1
		}
	}
	return i
}

// literalEnd returns the index after lit at src[i], or -1.
func literalEnd(src []byte, i int, lit string) int {
	if !bytes.HasPrefix(src[i:], []byte(lit)) {
		return -1
	}
	return i + len(lit)
}
