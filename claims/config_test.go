package claims

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseHasuraAuth(t *testing.T) {
	cfg, err := ParseHasuraAuth(`{"organisation-id":"profile.organisation[].id","sliceEmpty":"m.l[]","k":"m.k"}`,
		`{"k":"none","sliceEmpty":[]}`, EnvClaims, EnvDefaults)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cfg.Claims {
		d := "-"
		if c.Default != nil {
			d = *c.Default
		}
		got = append(got, c.Var+" "+c.Setting+" "+c.Path.String()+" "+d)
	}
	want := []string{
		"x-hasura-k hasura.x_hasura_k m.k none",
		"x-hasura-organisation-id hasura.x_hasura_organisation_id profile.organisation[].id -",
		"x-hasura-sliceempty hasura.x_hasura_sliceempty m.l[] {}",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if cfg.UserTable != DefaultUserTable || cfg.UserKey != "id" {
		t.Fatalf("user table %v by %s, want auth.users by id", cfg.UserTable, cfg.UserKey)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct{ claims, defaults, want string }{
		{`{"user-id":"id"}`, "", `AUTH_JWT_CUSTOM_CLAIMS "user-id": claim "user-id" would replace the built-in x-hasura-user-id`},
		{`{"User-Is-Anonymous":"x"}`, "", "built-in x-hasura-user-is-anonymous"},
		{`{"a-b":"x","a_b":"y"}`, "", "are the same session variable"},
		{`{"a b":"x"}`, "", "use letters, digits"},
		{`{"a":"x[y]"}`, "", `claim "a": path "x[y]"`},
		{`[1]`, "", "expected a JSON object of key → path"},
		{`{"org":"x"}`, `{"orgg":1}`, `AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS "orgg": default for "orgg", which is not a configured claim (did you mean "org"?)`},
		{`{"org":"x"}`, `{"org":null}`, "null is no default"},
		{`{"org":"x"}`, `{"org":[[1]]}`, "element 0 is an array"},
	}
	for _, tt := range tests {
		_, err := ParseHasuraAuth(tt.claims, tt.defaults, EnvClaims, EnvDefaults)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseHasuraAuth(%s, %s) = %v, want an error containing %q", tt.claims, tt.defaults, err, tt.want)
		}
	}
}

func TestParseNhostTOML(t *testing.T) {
	const text = `[global]
[[global.environment]]
name = 'x'

[auth.session.accessToken]
expiresIn = 900

[[auth.session.accessToken.customClaims]]
key = 'organisation-ids'
value = 'user.profile.organizations.id[]'

[[ auth.session.accessToken.customClaims ]] # comment
key = "plan"
value = "profile.plan" # trailing
default = "free \"tier\""

[[auth.session.accessToken.customClaims]]
key = 'n'
value = 'profile.n'
default = 12345678901234567890
`
	cfg, err := ParseNhostTOML(text, "nhost.toml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cfg.Claims {
		d := "-"
		if c.Default != nil {
			d = *c.Default
		}
		got = append(got, c.Source+" "+c.Var+" "+c.Path.String()+" "+d)
	}
	want := []string{
		"nhost.toml:19 x-hasura-n profile.n 12345678901234567890",
		"nhost.toml:10 x-hasura-organisation-ids profile.organizations.id[] -",
		`nhost.toml:14 x-hasura-plan profile.plan free "tier"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	_, err = ParseNhostTOML("[[auth.session.accessToken.customClaims]]\nkey = 'a'\nvalue = 'x'\nkind = 'y'\n", "nhost.toml")
	if err == nil || !strings.Contains(err.Error(), `nhost.toml:4: unknown field "kind"`) {
		t.Fatalf("unknown field: got %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "metadata")
	if err := os.Mkdir(md, 0o755); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	cfg, err := Load(Sources{Metadata: md, Getenv: getenv})
	if cfg != nil || err != nil {
		t.Fatalf("nothing configured: got %v, %v", cfg, err)
	}
	file := `{
  "claims": {
    "org": "profile.org_id",
    "bad": "x["
  },
  "user_table": "public.users"
}`
	if err := os.WriteFile(filepath.Join(dir, FileJSON), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(Sources{Metadata: md, Getenv: getenv})
	if want := filepath.Join(dir, FileJSON) + `:4: claim "bad"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %s", err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, FileJSON), []byte(strings.Replace(file, `,
    "bad": "x["`, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(Sources{Metadata: md, Getenv: getenv})
	if err != nil || cfg.UserTable.String() != "public.users" || cfg.Claims[0].Source != filepath.Join(dir, FileJSON)+":3" {
		t.Fatalf("file beside the metadata: got %+v, %v", cfg, err)
	}
	env[EnvClaims] = `{"env":"a"}`
	env[EnvUserKey] = "uid"
	cfg, err = Load(Sources{Metadata: md, Getenv: getenv})
	if err != nil || cfg.Claims[0].Var != "x-hasura-env" || cfg.UserKey != "uid" {
		t.Fatalf("environment: got %+v, %v", cfg, err)
	}
	cfg, err = Load(Sources{ClaimsJSON: `{"flag":"a"}`, Metadata: md, Getenv: getenv})
	if err != nil || cfg.Claims[0].Var != "x-hasura-flag" {
		t.Fatalf("flag: got %+v, %v", cfg, err)
	}
}
