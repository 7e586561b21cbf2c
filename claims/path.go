package claims

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// SegmentKind tells the steps of a claim path apart.
type SegmentKind int

// The steps of a claim path.
const (
	// Field is a name: a relationship or column of a table, or a key of a
	// JSON object.
	Field SegmentKind = iota
	// Each is [] or [*]: every element of an array (an array relationship,
	// a JSON array or a PostgreSQL array column). A trailing [] (Nhost's
	// a.b.c[]) means the same: the claim is an array.
	Each
	// Index is [N]: the element at N, from 0.
	Index
	// Filter is [?(@.f == 'x')]: the elements whose field f equals the
	// literal.
	Filter
)

// Segment is one step of a claim path.
type Segment struct {
	Kind SegmentKind
	// Name is the field of a Field, or the compared field of a Filter.
	Name string
	// N is the index of an Index.
	N int
	// Value is the literal of a Filter: a string, a json.Number or a bool.
	Value any
	// Offset is the byte offset of the step in the path text.
	Offset int
}

// Path is a parsed claim path.
type Path struct {
	Text     string
	Segments []Segment
}

// MaxPathLength bounds the text of a path, in bytes.
const MaxPathLength = 1024

// IsArray reports whether the path iterates ([], [*] or a filter) and so
// yields an array, whatever it crosses.
func (p *Path) IsArray() bool {
	for _, s := range p.Segments {
		if s.Kind == Each || s.Kind == Filter {
			return true
		}
	}
	return false
}

// String renders the path in hasura-auth's syntax; parsing it again gives
// the same segments.
func (p *Path) String() string {
	var b strings.Builder
	for i, s := range p.Segments {
		switch s.Kind {
		case Field:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Name)
		case Each:
			b.WriteString("[]")
		case Index:
			fmt.Fprintf(&b, "[%d]", s.N)
		case Filter:
			fmt.Fprintf(&b, "[?(@.%s == %s)]", s.Name, filterLiteral(s.Value))
		}
	}
	return b.String()
}

func filterLiteral(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(strings.ReplaceAll(x, `\`, `\\`), `'`, `\'`) + "'"
	case json.Number:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// PathError is a syntax error in a claim path.
type PathError struct {
	Path   string
	Offset int
	Msg    string
}

// Error names the offending byte and what is wrong.
func (e *PathError) Error() string {
	return fmt.Sprintf("path %q, at byte %d: %s", e.Path, e.Offset+1, e.Msg)
}

// ParsePath parses a path in hasura-auth's syntax: names joined by dots,
// with [] or [*] (every element), [N] (one element) and [?(@.f == 'x')]
// (the elements whose f is 'x'; the literal may also be "x", a number, true
// or false) after any name. The path starts at the user row: it has no
// leading "user.".
func ParsePath(text string) (*Path, error) {
	p := &pathParser{text: text}
	if len(text) > MaxPathLength {
		return nil, p.errf(0, "longer than %d bytes", MaxPathLength)
	}
	if strings.TrimSpace(text) == "" {
		return nil, p.errf(0, "empty path: write a column or relationship of the user table, e.g. profile.organisation[].id")
	}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return &Path{Text: text, Segments: p.segs}, nil
}

type pathParser struct {
	text string
	i    int
	segs []Segment
}

func (p *pathParser) errf(off int, format string, args ...any) *PathError {
	return &PathError{Path: p.text, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (p *pathParser) parse() error {
	if err := p.name(); err != nil {
		return err
	}
	for p.i < len(p.text) {
		switch p.text[p.i] {
		case '.':
			p.i++
			if err := p.name(); err != nil {
				return err
			}
		case '[':
			if err := p.bracket(); err != nil {
				return err
			}
		default:
			return p.errf(p.i, "unexpected %q: a step is .name, [], [*], [N] or [?(@.field == 'value')]", p.text[p.i])
		}
	}
	return nil
}

// nameByte reports whether c may appear in a name: anything but the
// path's own punctuation, quotes and white space.
func nameByte(c byte) bool {
	switch c {
	case '.', '[', ']', '(', ')', '?', '@', '=', '\'', '"', ' ', '\t', '\n', '\r':
		return false
	}
	return c >= 0x20 && c != 0x7f
}

func (p *pathParser) name() error {
	start := p.i
	for p.i < len(p.text) && nameByte(p.text[p.i]) {
		p.i++
	}
	if p.i == start {
		if p.i < len(p.text) {
			return p.errf(p.i, "expected a name, found %q", p.text[p.i])
		}
		return p.errf(p.i, "expected a name after the dot, found the end of the path")
	}
	p.segs = append(p.segs, Segment{Kind: Field, Name: p.text[start:p.i], Offset: start})
	return nil
}

func (p *pathParser) bracket() error {
	start := p.i
	p.i++ // [
	rest := p.text[p.i:]
	switch {
	case strings.HasPrefix(rest, "]"):
		p.i++
		p.segs = append(p.segs, Segment{Kind: Each, Offset: start})
		return nil
	case strings.HasPrefix(rest, "*]"):
		p.i += 2
		p.segs = append(p.segs, Segment{Kind: Each, Offset: start})
		return nil
	case strings.HasPrefix(rest, "?"):
		return p.filter(start)
	}
	j := p.i
	for j < len(p.text) && p.text[j] >= '0' && p.text[j] <= '9' {
		j++
	}
	if j == p.i || j >= len(p.text) || p.text[j] != ']' {
		return p.errf(start, "a bracket is [], [*], [N] with N a number from 0, or [?(@.field == 'value')]")
	}
	n, err := strconv.Atoi(p.text[p.i:j])
	if err != nil || n > 1<<20 {
		return p.errf(p.i, "index %s is too large", p.text[p.i:j])
	}
	p.i = j + 1
	p.segs = append(p.segs, Segment{Kind: Index, N: n, Offset: start})
	return nil
}

func (p *pathParser) skipSpace() {
	for p.i < len(p.text) && (p.text[p.i] == ' ' || p.text[p.i] == '\t') {
		p.i++
	}
}

func (p *pathParser) expect(s string) error {
	p.skipSpace()
	if !strings.HasPrefix(p.text[p.i:], s) {
		return p.errf(p.i, "expected %q in the filter [?(@.field == 'value')]", s)
	}
	p.i += len(s)
	return nil
}

// filter parses [?(@.field == literal)]; p.i is at the '?'.
func (p *pathParser) filter(start int) error {
	p.i++
	for _, s := range []string{"(", "@."} {
		if err := p.expect(s); err != nil {
			return err
		}
	}
	fs := p.i
	for p.i < len(p.text) && nameByte(p.text[p.i]) {
		p.i++
	}
	if p.i == fs {
		return p.errf(p.i, "expected the field name after @. in the filter")
	}
	field := p.text[fs:p.i]
	if err := p.expect("=="); err != nil {
		return err
	}
	p.skipSpace()
	v, err := p.literal()
	if err != nil {
		return err
	}
	for _, s := range []string{")", "]"} {
		if err := p.expect(s); err != nil {
			return err
		}
	}
	p.segs = append(p.segs, Segment{Kind: Filter, Name: field, Value: v, Offset: start})
	return nil
}

// literal parses a quoted string ('…' or "…", backslash escaping the quote
// and itself), a number, true or false.
func (p *pathParser) literal() (any, error) {
	if p.i >= len(p.text) {
		return nil, p.errf(p.i, "expected a value to compare with")
	}
	if q := p.text[p.i]; q == '\'' || q == '"' {
		start := p.i
		p.i++
		var b strings.Builder
		for p.i < len(p.text) {
			c := p.text[p.i]
			switch {
			case c == '\\' && p.i+1 < len(p.text):
				b.WriteByte(p.text[p.i+1])
				p.i += 2
			case c == q:
				p.i++
				return b.String(), nil
			default:
				b.WriteByte(c)
				p.i++
			}
		}
		return nil, p.errf(start, "unterminated string")
	}
	start := p.i
	for p.i < len(p.text) && strings.IndexByte("+-.eE0123456789truefals", p.text[p.i]) >= 0 {
		p.i++
	}
	word := p.text[start:p.i]
	switch word {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	var n json.Number
	if err := json.Unmarshal([]byte(word), &n); err != nil || word == "" {
		return nil, p.errf(start, "expected a quoted string, a number, true or false")
	}
	return n, nil
}
