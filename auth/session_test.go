package auth

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRenderVar(t *testing.T) {
	tests := []struct {
		json string
		want string
		err  bool
	}{
		{`"abc"`, "abc", false},
		{`""`, "", false},
		{`42`, "42", false},
		{`-1.25e3`, "-1.25e3", false},
		{`12345678901234567890`, "12345678901234567890", false},
		{`true`, "true", false},
		{`false`, "false", false},
		{`[]`, "{}", false},
		{`[1,2,3]`, "{1,2,3}", false},
		{`["a","b c","d,e","f\"g","h\\i","{j}","NULL","null","", " "]`, `{a,"b c","d,e","f\"g","h\\i","{j}","NULL","null",""," "}`, false},
		{`[[1,2],[3,4]]`, "{{1,2},{3,4}}", false},
		{`[true,null,{"a":1}]`, `{true,NULL,"{\"a\":1}"}`, false},
		{`["é","日本"]`, "{é,日本}", false},
		{`[[[[[[[1]]]]]]]`, "", true},
		{`null`, "", true},
		{`{"a":1}`, "", true},
		{`"a\u0000b"`, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.json, func(t *testing.T) {
			var v any
			if err := decodeJSON([]byte(tc.json), &v); err != nil {
				t.Fatal(err)
			}
			got, err := renderVar(v)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestValidRoleName(t *testing.T) {
	for _, tc := range []struct {
		role string
		ok   bool
	}{
		{"user", true}, {"Team-Lead_2", true}, {"org:admin@acme.io", true}, {"a b", true}, {strings.Repeat("r", 128), true},
		{"", false}, {strings.Repeat("r", 129), false}, {"a'b", false}, {`a"b`, false}, {"a;b", false}, {"a\\b", false},
		{"a\nb", false}, {"a\x00b", false}, {"rôle", false}, {"a/b", false}, {"a$b", false},
	} {
		if got := validRoleName(tc.role); got != tc.ok {
			t.Errorf("validRoleName(%q) = %v, want %v", tc.role, got, tc.ok)
		}
	}
}

func TestJSONPath(t *testing.T) {
	doc := map[string]any{}
	if err := json.Unmarshal([]byte(`{"a":{"b":[10,{"c":"x"}]},"d.e":{"f":1},"it's":2}`), &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path  string
		want  any
		found bool
		bad   bool
	}{
		{path: "$.a.b[1].c", want: "x", found: true},
		{path: "$['a']['b'][0]", want: 10.0, found: true},
		{path: `$["d.e"].f`, want: 1.0, found: true},
		{path: `$['it\'s']`, want: 2.0, found: true},
		{path: "a.b[0]", want: 10.0, found: true},
		{path: "$.a.b[5]"},
		{path: "$.a.x"},
		{path: "$.a.b.c"},
		{path: "$..a", bad: true},
		{path: "$.a[", bad: true},
		{path: "$['a'", bad: true},
		{path: "$.a[x]", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			p, err := parseJSONPath(tc.path)
			if (err != nil) != tc.bad {
				t.Fatalf("parse err = %v, want error %v", err, tc.bad)
			}
			if tc.bad {
				return
			}
			got, found := p.lookup(doc)
			if found != tc.found || (found && got != tc.want) {
				t.Fatalf("lookup = %v, %v; want %v, %v", got, found, tc.want, tc.found)
			}
		})
	}
	if p, err := parseJSONPath("$"); err != nil || len(p) != 0 {
		t.Fatalf("root path = %v, %v", p, err)
	}
}

func TestErrorShape(t *testing.T) {
	e := invalidJWT("JWTExpired")
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"extensions":{"path":"$","code":"invalid-jwt"},"message":"Could not verify JWT: JWTExpired"}`; string(b) != want {
		t.Fatalf("json = %s, want %s", b, want)
	}
	if e.Status != 400 || e.Error() != "invalid-jwt: Could not verify JWT: JWTExpired" {
		t.Fatalf("error = %+v / %q", e, e.Error())
	}
	var asErr error = e
	if asErr.Error() == "" {
		t.Fatal("empty message")
	}
}

func TestSessionVar(t *testing.T) {
	s := &Session{Vars: map[string]string{"x-hasura-user-id": "1"}}
	if v, ok := s.Var("X-Hasura-User-Id"); !ok || v != "1" {
		t.Fatalf("Var = %q, %v", v, ok)
	}
	if _, ok := s.Var("x-hasura-org-id"); ok {
		t.Fatal("found a missing variable")
	}
}
