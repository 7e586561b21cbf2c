package claims

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Encode renders a claim's JSON value (decoded with json.Decoder.UseNumber,
// so numbers keep every digit) as the string a token carries:
//
//   - a string as it is;
//   - a number exactly as its JSON text (a bigint id stays exact);
//   - a boolean or an object as compact JSON text;
//   - an array as a PostgreSQL array literal built element by element:
//     every element double-quoted with \ and " escaped, JSON null as an
//     unquoted NULL, an object as its JSON text; [] is {};
//   - nil (the value is missing) is not a value: ok is false, and the
//     claim takes its default or is left out, never the text "null".
//
// A nested array is refused: hasura-auth would render it as a literal
// PostgreSQL reads as a two-dimensional array, or not at all.
func Encode(v any) (text string, ok bool, err error) {
	switch x := v.(type) {
	case nil:
		return "", false, nil
	case string:
		text = x
	case json.Number:
		text = x.String()
	case bool:
		text = fmt.Sprint(x)
	case []any:
		var b strings.Builder
		b.WriteByte('{')
		for i, el := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			var s string
			switch e := el.(type) {
			case nil:
				b.WriteString("NULL")
				continue
			case []any:
				return "", false, fmt.Errorf("element %d is an array: a claim may be an array of values, not of arrays (a PostgreSQL array literal cannot carry it); end the path on a value inside, e.g. with [] or [N]", i)
			case string:
				s = e
			case json.Number:
				s = e.String()
			case bool:
				s = fmt.Sprint(e)
			default:
				j, err := compactJSON(e)
				if err != nil {
					return "", false, err
				}
				s = j
			}
			b.WriteByte('"')
			b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s))
			b.WriteByte('"')
		}
		b.WriteByte('}')
		text = b.String()
	default:
		j, err := compactJSON(x)
		if err != nil {
			return "", false, err
		}
		text = j
	}
	if strings.IndexByte(text, 0) >= 0 {
		return "", false, errors.New("the value contains a NUL byte, which a PostgreSQL setting cannot hold")
	}
	return text, true, nil
}

// compactJSON renders a decoded JSON value (strings, json.Number, bool,
// nil, []any, map[string]any) as compact JSON, object keys in byte order,
// strings escaped exactly as PostgreSQL's jsonb output escapes them (", \,
// \b \f \n \r \t, other control characters as \u00XX, everything else as
// it is: <, > and & too), so that the token's text and the text
// rowguard.rg_claims sets in the database are the same bytes.
func compactJSON(v any) (string, error) {
	var b strings.Builder
	if err := writeJSON(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeJSON(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		fmt.Fprint(b, x)
	case json.Number:
		b.WriteString(x.String())
	case string:
		writeJSONString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			if err := writeJSON(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("%T is not a JSON value", v)
	}
	return nil
}

func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				fmt.Fprintf(b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// decodeJSON decodes one JSON value keeping numbers as json.Number.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}
