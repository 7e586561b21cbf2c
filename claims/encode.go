package claims

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// compactJSON renders v as JSON without HTML escaping (<, > and & stay as
// they are, as a token's claim should carry them).
func compactJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
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
