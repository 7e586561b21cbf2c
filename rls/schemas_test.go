package rls

import "testing"

func TestTypeSchema(t *testing.T) {
	cases := []struct{ typ, want string }{
		{"integer", ""},
		{"character varying(20)", ""},
		{"numeric(10,2)", ""},
		{"timestamp with time zone", ""},
		{"public.mood", "public"},
		{"auth.email[]", "auth"},
		{`"My Schema".t`, "My Schema"},
		{`"a""b".t`, `a"b`},
		{`"no.schema"`, ""},
		{"public.citext(3)", "public"},
	}
	for _, c := range cases {
		if got := typeSchema(c.typ); got != c.want {
			t.Errorf("typeSchema(%q) = %q, want %q", c.typ, got, c.want)
		}
	}
}
