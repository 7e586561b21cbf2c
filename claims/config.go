package claims

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/policies"
)

// Environment variables and files the configuration is read from.
const (
	// EnvClaims is hasura-auth's variable: a JSON object, key → path.
	EnvClaims = "AUTH_JWT_CUSTOM_CLAIMS"
	// EnvDefaults is hasura-auth's variable: a JSON object, key → the
	// value a claim takes when its path finds nothing.
	EnvDefaults = "AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS"
	// EnvUserTable names the user table, schema.name (default auth.users).
	EnvUserTable = "ROWGUARD_CLAIMS_USER_TABLE"
	// EnvUserKey names the user table's column the user id is compared
	// with (default id).
	EnvUserKey = "ROWGUARD_CLAIMS_USER_KEY"
	// FileJSON is read from the directory holding the metadata directory
	// (or file): {"claims": {key: path}, "defaults": {key: value},
	// "user_table": "auth.users", "user_key": "id"}.
	FileJSON = "rowguard_claims.json"
	// FileNhost is Nhost's project configuration, read from the same
	// directory (nhost/nhost.toml beside nhost/metadata): only its
	// [[auth.session.accessToken.customClaims]] tables.
	FileNhost = "nhost.toml"
)

// DefaultUserTable is the table paths start from: Nhost's users.
var DefaultUserTable = policies.QualifiedTable{Schema: "auth", Name: "users"}

// builtins are the claims Hasura and Nhost give a meaning of their own; a
// custom claim cannot replace them.
var builtins = map[string]bool{
	"x-hasura-user-id":                      true,
	"x-hasura-role":                         true,
	"x-hasura-default-role":                 true,
	"x-hasura-allowed-roles":                true,
	"x-hasura-user-is-anonymous":            true,
	"x-hasura-user-isanonymous":             true,
	"x-hasura-use-backend-only-permissions": true,
}

// Claim is one configured claim.
type Claim struct {
	// Key is the key as configured ("organisation-id").
	Key string
	// Var is the session variable: "x-hasura-" + lower-case Key.
	Var string
	// Setting is the transaction-local setting carrying Var
	// ("hasura.x_hasura_organisation_id").
	Setting string
	Path    *Path
	// Default is the encoded value used when the path finds nothing;
	// nil when there is none (the claim is then left out).
	Default *string
	// Source is where the claim was configured: "file:line" or the
	// environment variable or flag.
	Source string
}

// Config is a set of claims and the user table their paths start from.
type Config struct {
	Claims    []*Claim // sorted by Var
	UserTable policies.QualifiedTable
	UserKey   string
	// Source says where the configuration came from, for messages.
	Source string
}

// Sources are the places Load looks at, first match wins: flags
// (ClaimsJSON, File), then the environment (EnvClaims), then FileJSON and
// FileNhost beside the metadata.
type Sources struct {
	// ClaimsJSON and DefaultsJSON are the --custom-claims and
	// --custom-claims-defaults flags, in EnvClaims's form.
	ClaimsJSON, DefaultsJSON string
	// File is --claims-file: a FileJSON-shaped .json file or an nhost.toml.
	File string
	// Metadata is the metadata directory or file; the files beside it are
	// read when nothing else configures claims.
	Metadata string
	// UserTable ("schema.name") and UserKey override the configuration's.
	UserTable, UserKey string
	// Getenv reads the environment; os.Getenv when nil.
	Getenv func(string) string
}

// Load reads the claims configuration from the first source that has one.
// It returns nil, nil when none does.
func Load(s Sources) (*Config, error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var cfg *Config
	var err error
	switch {
	case s.ClaimsJSON != "":
		cfg, err = ParseHasuraAuth(s.ClaimsJSON, s.DefaultsJSON, "--custom-claims", "--custom-claims-defaults")
	case s.File != "":
		cfg, err = ReadFile(s.File)
	case getenv(EnvClaims) != "":
		cfg, err = ParseHasuraAuth(getenv(EnvClaims), getenv(EnvDefaults), EnvClaims, EnvDefaults)
	case s.Metadata != "":
		dir := filepath.Dir(filepath.Clean(s.Metadata))
		for _, name := range []string{FileJSON, FileNhost} {
			f := filepath.Join(dir, name)
			if _, serr := os.Stat(f); serr == nil {
				cfg, err = ReadFile(f)
				break
			}
		}
	}
	if err != nil || cfg == nil {
		return nil, err
	}
	if err := s.Override(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Override sets cfg's user table and key from s.UserTable and s.UserKey,
// else EnvUserTable and EnvUserKey, when they are set: they win over the
// configuration's own.
func (s Sources) Override(cfg *Config) error {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if t := firstOf(s.UserTable, getenv(EnvUserTable)); t != "" {
		q, err := parseTable(t)
		if err != nil {
			return err
		}
		cfg.UserTable = q
	}
	if k := firstOf(s.UserKey, getenv(EnvUserKey)); k != "" {
		cfg.UserKey = k
	}
	return nil
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func parseTable(s string) (policies.QualifiedTable, error) {
	schema, name, ok := strings.Cut(s, ".")
	if !ok {
		schema, name = "public", s
	}
	if schema == "" || name == "" {
		return policies.QualifiedTable{}, fmt.Errorf("user table %q: write schema.name, e.g. auth.users", s)
	}
	return policies.QualifiedTable{Schema: schema, Name: name}, nil
}

// ReadFile reads a claims file: nhost.toml (any name ending in .toml) or a
// FileJSON-shaped JSON file.
func ReadFile(name string) (*Config, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if strings.HasSuffix(name, ".toml") {
		return ParseNhostTOML(string(b), name)
	}
	return parseJSONFile(b, name)
}

// ParseJSON reads FileJSON's shape from data; name is the file the text
// is (or will be written) in, so each error names name:line.
func ParseJSON(data []byte, name string) (*Config, error) {
	return parseJSONFile(data, name)
}

// parseJSONFile reads FileJSON's shape; sources are file:line of each key.
func parseJSONFile(b []byte, name string) (*Config, error) {
	var f struct {
		Claims    map[string]string          `json:"claims"`
		Defaults  map[string]json.RawMessage `json:"defaults"`
		UserTable string                     `json:"user_table"`
		UserKey   string                     `json:"user_key"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %v; expected {\"claims\": {\"key\": \"path\"}, \"defaults\": {\"key\": value}, \"user_table\": \"auth.users\", \"user_key\": \"id\"}", name, err)
	}
	text := string(b)
	b2 := &builder{cfg: newConfig(name)}
	for _, k := range slices.Sorted(maps.Keys(f.Claims)) {
		b2.add(k, f.Claims[k], fmt.Sprintf("%s:%d", name, keyLine(text, "claims", k)))
	}
	for _, k := range slices.Sorted(maps.Keys(f.Defaults)) {
		b2.setDefault(k, f.Defaults[k], fmt.Sprintf("%s:%d", name, keyLine(text, "defaults", k)))
	}
	if f.UserTable != "" {
		q, err := parseTable(f.UserTable)
		if err != nil {
			b2.errs = append(b2.errs, fmt.Errorf("%s:%d: %w", name, keyLine(text, "", "user_table"), err))
		}
		b2.cfg.UserTable = q
	}
	if f.UserKey != "" {
		b2.cfg.UserKey = f.UserKey
	}
	return b2.done()
}

// keyLine finds the line of "key": after the "section": key, for messages;
// 1 when not found.
func keyLine(text, section, key string) int {
	from := 0
	if section != "" {
		if m := regexp.MustCompile(regexp.QuoteMeta(jsonQuote(section)) + `\s*:`).FindStringIndex(text); m != nil {
			from = m[1]
		}
	}
	m := regexp.MustCompile(regexp.QuoteMeta(jsonQuote(key)) + `\s*:`).FindStringIndex(text[from:])
	if m == nil {
		return 1
	}
	return 1 + strings.Count(text[:from+m[0]], "\n")
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ParseHasuraAuth reads hasura-auth's form: claims, a JSON object of key →
// path, and defaults (may be empty), a JSON object of key → value. The
// names say where each came from in messages (an environment variable or
// a flag).
func ParseHasuraAuth(claims, defaults, claimsName, defaultsName string) (*Config, error) {
	var paths map[string]string
	if err := json.Unmarshal([]byte(claims), &paths); err != nil {
		return nil, fmt.Errorf("%s: %v; expected a JSON object of key → path, e.g. {\"organisation-id\":\"profile.organisation[].id\"}", claimsName, err)
	}
	b := &builder{cfg: newConfig(claimsName)}
	for _, k := range slices.Sorted(maps.Keys(paths)) {
		b.add(k, paths[k], claimsName+" "+jsonQuote(k))
	}
	if defaults != "" {
		var defs map[string]json.RawMessage
		if err := json.Unmarshal([]byte(defaults), &defs); err != nil {
			return nil, fmt.Errorf("%s: %v; expected a JSON object of key → value", defaultsName, err)
		}
		for _, k := range slices.Sorted(maps.Keys(defs)) {
			b.setDefault(k, defs[k], defaultsName+" "+jsonQuote(k))
		}
	}
	return b.done()
}

func newConfig(source string) *Config {
	return &Config{UserTable: DefaultUserTable, UserKey: "id", Source: source}
}

// builder collects claims and every error of a configuration.
type builder struct {
	cfg       *Config
	errs      []error
	bySetting map[string]*Claim
}

func (b *builder) errorf(source, format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf("%s: %s", source, fmt.Sprintf(format, args...)))
}

// VarName is the session variable of a claim key: "x-hasura-" and the key
// in lower case ("sliceEmpty" → "x-hasura-sliceempty"). A key already
// starting with x-hasura- keeps a single prefix.
func VarName(key string) string {
	k := strings.ToLower(key)
	if strings.HasPrefix(k, "x-hasura-") {
		return k
	}
	return "x-hasura-" + k
}

func (b *builder) add(key, path, source string) {
	if b.bySetting == nil {
		b.bySetting = map[string]*Claim{}
	}
	v := VarName(key)
	if builtins[v] {
		b.errorf(source, "claim %q would replace the built-in %s, which the auth service sets itself; choose another key", key, v)
		return
	}
	setting, ok := compiler.SettingName(v)
	if !ok || key == "" {
		b.errorf(source, "claim key %q: use letters, digits, - and _ only (it becomes the setting hasura.x_hasura_<key>)", key)
		return
	}
	if other := b.bySetting[setting]; other != nil {
		b.errorf(source, "claim %q and %q (%s) are the same session variable %s; rename one", key, other.Key, other.Source, v)
		return
	}
	p, err := ParsePath(path)
	if err != nil {
		b.errorf(source, "claim %q: %v", key, err)
		return
	}
	c := &Claim{Key: key, Var: v, Setting: setting, Path: p, Source: source}
	b.bySetting[setting] = c
	b.cfg.Claims = append(b.cfg.Claims, c)
}

func (b *builder) setDefault(key string, raw json.RawMessage, source string) {
	var c *Claim
	for _, x := range b.cfg.Claims {
		if x.Key == key {
			c = x
		}
	}
	if c == nil {
		b.errorf(source, "default for %q, which is not a configured claim%s", key, b.suggestKey(key))
		return
	}
	v, err := decodeJSON(raw)
	if err == nil {
		var text string
		var ok bool
		text, ok, err = Encode(v)
		if err == nil && !ok {
			err = errors.New("null is no default: leave the default out, and a claim whose path finds nothing is left out")
		}
		if err == nil {
			c.Default = &text
			return
		}
	}
	b.errorf(source, "default of %q: %v", key, err)
}

func (b *builder) suggestKey(key string) string {
	var names []string
	for _, c := range b.cfg.Claims {
		names = append(names, c.Key)
	}
	if s := closest(key, names); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

func (b *builder) done() (*Config, error) {
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	sort.Slice(b.cfg.Claims, func(i, j int) bool { return b.cfg.Claims[i].Var < b.cfg.Claims[j].Var })
	return b.cfg, nil
}
