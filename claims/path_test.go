package claims

import (
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in, want string // want: the path printed back, or "error: …"
	}{
		{"m.k", "m.k"},
		{"m.l[2]", "m.l[2]"},
		{"m.l[]", "m.l[]"},
		{"m.l[*]", "m.l[]"},
		{"m.lm.id[]", "m.lm.id[]"},
		{"profile.organisation[].id", "profile.organisation[].id"},
		{"m.d[?(@.v == 'a')].id", "m.d[?(@.v == 'a')].id"},
		{`m.d[?( @.v=="a\"b" )].id`, `m.d[?(@.v == 'a"b')].id`},
		{"m.d[?(@.n == 12345678901234567890)]", "m.d[?(@.n == 12345678901234567890)]"},
		{"m.d[?(@.b == true)]", "m.d[?(@.b == true)]"},
		{"", "error: empty path"},
		{"a..b", "error: expected a name"},
		{"a.", "error: found the end"},
		{"a[x]", "error: a bracket is"},
		{"a[1", "error: a bracket is"},
		{"a[?(@.v = 'x')]", `error: expected "=="`},
		{"a[?(@.v == 'x)]", "error: unterminated string"},
		{"a[?(@.v == x)]", "error: expected a quoted string"},
		{"a b", "error: unexpected"},
		{"[]", "error: expected a name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePath(tt.in)
			got := ""
			if err != nil {
				got = "error: " + err.Error()
				if !strings.HasPrefix(tt.want, "error: ") || !strings.Contains(got, strings.TrimPrefix(tt.want, "error: ")) {
					t.Fatalf("ParsePath(%q) = %s, want %s", tt.in, got, tt.want)
				}
				return
			}
			if got = p.String(); got != tt.want {
				t.Fatalf("ParsePath(%q) printed = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzParsePath checks that the path parser never panics, and that a path
// it accepts prints to a text that parses to the same path.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"m.k", "m.l[2]", "m.lm[*].id", "m.lm.id[]", "m.d[?(@.v == 'a')].id", `a[?(@.x=="\"")]`, "a[?(@.n == -1.5e3)]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		again, err := ParsePath(p.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, p.String(), err)
		}
		if again.String() != p.String() {
			t.Fatalf("%q printed as %q, then as %q", s, p.String(), again.String())
		}
	})
}
