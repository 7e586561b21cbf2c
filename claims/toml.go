package claims

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// nhostClaimsTable is the TOML array-of-tables header of Nhost's claims.
const nhostClaimsTable = "auth.session.accessToken.customClaims"

// ParseNhostTOML reads the [[auth.session.accessToken.customClaims]]
// tables of an nhost.toml:
//
//	[[auth.session.accessToken.customClaims]]
//	key = 'organisation-id'
//	value = 'profile.organisation[].id'
//	default = '00000000-0000-0000-0000-000000000000'
//
// Only that small subset of TOML is read, by hand: table headers, comments,
// and key = value lines whose value is a basic ("…") or literal ('…')
// string, a number or a boolean. Lines of other tables are skipped without
// being checked. A value may start with "user." as Nhost's dashboard
// writes it. name is used in messages (name:line).
func ParseNhostTOML(text, name string) (*Config, error) {
	b := &builder{cfg: newConfig(name)}
	type entry struct {
		line               int
		key, value         string
		keyLine, valueLine int
		defLine            int
		defRaw             json.RawMessage
	}
	var entries []*entry
	var cur *entry
	for i, raw := range strings.Split(text, "\n") {
		line := i + 1
		s := strings.TrimSpace(raw)
		if s == "" || s[0] == '#' {
			continue
		}
		if strings.HasPrefix(s, "[") {
			cur = nil
			header := strings.TrimSpace(stripComment(s))
			if strings.HasPrefix(header, "[[") && strings.HasSuffix(header, "]]") &&
				tomlKeyPath(header[2:len(header)-2]) == nhostClaimsTable {
				cur = &entry{line: line}
				entries = append(entries, cur)
			}
			continue
		}
		if cur == nil {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			b.errorf(fmt.Sprintf("%s:%d", name, line), "expected key = value in [[%s]]", nhostClaimsTable)
			continue
		}
		k = strings.Trim(strings.TrimSpace(k), `"'`)
		val, isString, err := tomlValue(strings.TrimSpace(v))
		if err != nil {
			b.errorf(fmt.Sprintf("%s:%d", name, line), "%s: %v", k, err)
			continue
		}
		switch k {
		case "key":
			cur.key, cur.keyLine = val, line
		case "value":
			cur.value, cur.valueLine = val, line
		case "default":
			cur.defLine = line
			if isString {
				cur.defRaw, _ = json.Marshal(val)
			} else {
				cur.defRaw = json.RawMessage(val)
			}
		default:
			b.errorf(fmt.Sprintf("%s:%d", name, line), "unknown field %q in [[%s]]: use key, value and default", k, nhostClaimsTable)
		}
	}
	for _, e := range entries {
		src := fmt.Sprintf("%s:%d", name, e.line)
		if e.key == "" || e.value == "" {
			b.errorf(src, "[[%s]] needs both key and value", nhostClaimsTable)
			continue
		}
		n := len(b.cfg.Claims)
		b.add(e.key, strings.TrimPrefix(e.value, "user."), fmt.Sprintf("%s:%d", name, e.valueLine))
		if e.defRaw != nil && len(b.cfg.Claims) > n {
			b.setDefault(e.key, e.defRaw, fmt.Sprintf("%s:%d", name, e.defLine))
		}
	}
	return b.done()
}

// tomlKeyPath normalises a dotted TOML key (spaces around dots, quoted
// parts) to a.b.c.
func tomlKeyPath(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// stripComment removes a trailing # comment outside quotes.
func stripComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case q != 0 && c == '\\' && q == '"':
			i++
		case q != 0 && c == q:
			q = 0
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case q == 0 && c == '#':
			return s[:i]
		}
	}
	return s
}

// tomlValue reads a one-line TOML value: a basic or literal string (its
// text, isString), or a bare number or boolean (its JSON text).
func tomlValue(s string) (val string, isString bool, err error) {
	s = strings.TrimSpace(stripComment(s))
	switch {
	case strings.HasPrefix(s, "'''") || strings.HasPrefix(s, `"""`):
		return "", false, fmt.Errorf("multi-line strings are not read here: write the value on one line")
	case strings.HasPrefix(s, "'"):
		if len(s) < 2 || !strings.HasSuffix(s, "'") || strings.Contains(s[1:len(s)-1], "'") {
			return "", false, fmt.Errorf("unterminated literal string %s", s)
		}
		return s[1 : len(s)-1], true, nil
	case strings.HasPrefix(s, `"`):
		return tomlBasicString(s)
	case s == "true" || s == "false":
		return s, false, nil
	}
	if _, perr := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64); perr == nil {
		return strings.ReplaceAll(s, "_", ""), false, nil
	}
	return "", false, fmt.Errorf("expected a quoted string, a number or a boolean, found %s", s)
}

func tomlBasicString(s string) (string, bool, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			if strings.TrimSpace(s[i+1:]) != "" {
				return "", false, fmt.Errorf("unexpected text after the string: %s", s[i+1:])
			}
			return b.String(), true, nil
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case '"', '\\':
				b.WriteByte(e)
			case 'u', 'U':
				n := 4
				if e == 'U' {
					n = 8
				}
				if i+n >= len(s) {
					return "", false, fmt.Errorf("short \\%c escape", e)
				}
				r, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", false, fmt.Errorf("invalid \\%c escape", e)
				}
				b.WriteRune(rune(r))
				i += n
			default:
				return "", false, fmt.Errorf("invalid escape \\%c", e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", false, fmt.Errorf("unterminated string %s", s)
}
