package graphql

import "testing"

// TestAppendJSONString: the fast path writes what marshal writes.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{
		"", "articles", "__typename", "a b", "<&>", `say "hi"`, `back\slash`,
		"tab\there", "new\nline", "\x00", "é", "\u2028", "\xff", "~", "\x7f",
	} {
		t.Run(s, func(t *testing.T) {
			want := string(marshal(s))
			if got := string(appendJSONString([]byte("x"), s)); got != "x"+want {
				t.Errorf("appendJSONString(%q) = %s, want x%s", s, got, want)
			}
		})
	}
}
