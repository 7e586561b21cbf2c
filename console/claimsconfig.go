package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/rowguard/rowguard/claims"
	"github.com/rowguard/rowguard/compiler"
)

// ClaimsFile is the custom-claims configuration as the permission
// variables page edits it: claims.FileJSON's shape.
type ClaimsFile struct {
	Claims    map[string]string          `json:"claims"`
	Defaults  map[string]json.RawMessage `json:"defaults,omitempty"`
	UserTable string                     `json:"user_table,omitempty"`
	UserKey   string                     `json:"user_key,omitempty"`
}

// Text is the file as the page writes it: indented JSON, keys sorted, so
// the same configuration is always the same bytes (and its lines are what
// the loader's errors name).
func (f *ClaimsFile) Text() ([]byte, error) {
	if f.Claims == nil {
		f.Claims = map[string]string{}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ClaimsState is what the page shows: where the configuration comes from,
// whether the page may change it, and the configuration.
type ClaimsState struct {
	// Source is where the running configuration was read ("" when none).
	Source string `json:"source"`
	// File is the JSON file an apply writes; "" when the page cannot.
	File string `json:"file"`
	// ReadOnly says why the page cannot change it ("" when it can).
	ReadOnly string     `json:"read_only"`
	Config   ClaimsFile `json:"config"`
	// DefaultsText are Config's defaults as JSON text, which the page
	// edits as typed (a number beyond 2^53 keeps every digit).
	DefaultsText map[string]string `json:"defaults_text"`
	// Vars are the session variables installed (rowguard.rg_claim_vars).
	Vars []string `json:"installed_vars"`
}

// ClaimsProblem is one error of a configuration: the loader's message,
// and the claim key and line of the file text it names, when it names
// one.
type ClaimsProblem struct {
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Key     string `json:"key,omitempty"`
}

// ClaimsCheck is a configuration checked against the catalog and the
// metadata: its errors, or each claim's session variable and the tables
// it reads; and, when a user id was given, that user's values.
type ClaimsCheck struct {
	Text   string            `json:"text"`
	Errors []ClaimsProblem   `json:"errors"`
	Claims []ClaimInfo       `json:"claims"`
	Values map[string]string `json:"values,omitempty"`
	// ValuesError is why the values could not be computed.
	ValuesError string `json:"values_error,omitempty"`
}

// ClaimInfo is one compiled claim.
type ClaimInfo struct {
	Key   string   `json:"key"`
	Var   string   `json:"var"`
	Array bool     `json:"array"`
	Reads []string `json:"reads"`
}

// claimsFile finds the JSON file the page edits, given where the
// configuration is read from (first match wins, as claims.Load): flags
// and the environment cannot be written; --claims-file can when it is
// JSON; otherwise the file beside the metadata, FileJSON (created when
// neither it nor FileNhost exists).
func claimsFile(s claims.Sources) (file, readOnly string) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	switch {
	case s.ClaimsJSON != "":
		return "", "the claims come from --custom-claims: change the flag, or drop it and use " + claims.FileJSON + " beside the metadata directory"
	case s.File != "":
		if strings.HasSuffix(s.File, ".toml") {
			return "", "the claims come from " + s.File + " (--claims-file): edit that file"
		}
		return s.File, ""
	case getenv(claims.EnvClaims) != "":
		return "", "the claims come from " + claims.EnvClaims + ": change the variable, or unset it and use " + claims.FileJSON + " beside the metadata directory"
	case s.Metadata == "":
		return "", "this console has no metadata directory to keep " + claims.FileJSON + " beside"
	}
	dir := filepath.Dir(filepath.Clean(s.Metadata))
	json := filepath.Join(dir, claims.FileJSON)
	if _, err := os.Stat(json); err == nil {
		return json, ""
	}
	if toml := filepath.Join(dir, claims.FileNhost); fileExists(toml) {
		return "", "the claims come from " + toml + ": edit its [[auth.session.accessToken.customClaims]]"
	}
	return json, ""
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// fileOf renders a loaded configuration in the page's shape (defaults as
// the JSON strings the token carries), for configurations it cannot
// write.
func fileOf(cfg *claims.Config) ClaimsFile {
	f := ClaimsFile{Claims: map[string]string{}, Defaults: map[string]json.RawMessage{}, UserTable: cfg.UserTable.String(), UserKey: cfg.UserKey}
	for _, c := range cfg.Claims {
		f.Claims[c.Key] = c.Path.Text
		if c.Default != nil {
			b, _ := json.Marshal(*c.Default)
			f.Defaults[c.Key] = b
		}
	}
	return f
}

// claimsState reads the configuration the console runs with.
func (h *Handler) claimsState(ctx context.Context) (*ClaimsState, error) {
	st := &ClaimsState{Config: ClaimsFile{Claims: map[string]string{}}, DefaultsText: map[string]string{}}
	if vars, err := claims.InstalledVars(ctx, h.cfg.Pool); err == nil {
		sort.Strings(vars)
		st.Vars = vars
	}
	if h.cfg.Claims == nil {
		st.ReadOnly = "this server reads its claims configuration at start; edit it with `rowguard console --metadata DIR`"
		return st, nil
	}
	st.File, st.ReadOnly = claimsFile(*h.cfg.Claims)
	if _, ok := h.cfg.Store.(ClaimsApplier); !ok && st.ReadOnly == "" {
		st.ReadOnly = "this console cannot install: edit the claims with `rowguard console --metadata DIR`"
	}
	if st.ReadOnly != "" {
		st.File = ""
	}
	if st.File != "" && fileExists(st.File) {
		b, err := os.ReadFile(st.File)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &st.Config); err != nil {
			return nil, fmt.Errorf("%s: %w", st.File, err)
		}
		st.Source = st.File
	} else {
		cfg, err := claims.Load(*h.cfg.Claims)
		if err != nil {
			return nil, err
		}
		if cfg != nil {
			st.Config, st.Source = fileOf(cfg), cfg.Source
		}
	}
	if st.Config.Claims == nil {
		st.Config.Claims = map[string]string{}
	}
	for k, v := range st.Config.Defaults {
		st.DefaultsText[k] = string(v)
	}
	return st, nil
}

var sourceLine = regexp.MustCompile(`^[^\n]*?:(\d+): `)

// checkClaims parses f as it would be written to file, with the user
// table and key overrides of the console's flags, and compiles it against
// the catalog and the metadata the console edits. userID, when given, is
// the user whose values are computed.
func (h *Handler) checkClaims(ctx context.Context, f *ClaimsFile, file, userID string) (*ClaimsCheck, *claims.Config, error) {
	text, err := f.Text()
	if err != nil {
		return nil, nil, err
	}
	out := &ClaimsCheck{Text: string(text), Errors: []ClaimsProblem{}, Claims: []ClaimInfo{}}
	if file == "" {
		file = claims.FileJSON
	}
	keyAt := keyLines(string(text))
	problems := func(err error) {
		for _, msg := range splitErrors(err) {
			p := ClaimsProblem{Message: msg}
			if m := sourceLine.FindStringSubmatch(msg); m != nil {
				p.Line, _ = strconv.Atoi(m[1])
				p.Key = keyAt[p.Line]
			}
			out.Errors = append(out.Errors, p)
		}
	}
	cfg, err := claims.ParseJSON(text, file)
	if err != nil {
		problems(err)
		return out, nil, nil
	}
	if h.cfg.Claims != nil {
		if err := h.cfg.Claims.Override(cfg); err != nil {
			problems(err)
			return out, nil, nil
		}
	}
	doc, err := h.cfg.Store.Load(ctx)
	if err != nil {
		return nil, nil, err
	}
	cat, err := compiler.LoadCatalog(ctx, h.cfg.Pool, nil)
	if err != nil {
		return nil, nil, err
	}
	res, prog := Compile(cat, &CompileRequest{Metadata: doc.Export}, h.cfg.Compile, h.cfg.RLS)
	if prog == nil {
		for _, p := range res.Errors {
			out.Errors = append(out.Errors, ClaimsProblem{Message: "metadata " + p.Where + ": " + p.Message})
		}
		return out, nil, nil
	}
	comp, err := claims.Compile(cfg, prog, cat)
	if err != nil {
		problems(err)
		return out, nil, nil
	}
	for _, c := range comp.Claims {
		info := ClaimInfo{Key: c.Key, Var: c.Var, Array: c.Path.IsArray(), Reads: []string{}}
		for _, t := range c.Reads {
			info.Reads = append(info.Reads, t.String())
		}
		out.Claims = append(out.Claims, info)
	}
	if userID != "" {
		vals, err := claims.Namespace(ctx, h.cfg.Pool, comp, userID)
		if err != nil {
			out.ValuesError = err.Error()
		} else {
			out.Values = vals
		}
	}
	return out, cfg, nil
}

// splitErrors lists the messages of an errors.Join.
func splitErrors(err error) []string {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

// keyLines maps each line of a ClaimsFile text that holds a key of
// "claims" or "defaults" to that key.
func keyLines(text string) map[int]string {
	out := map[int]string{}
	section := ""
	for i, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, `  "`):
			section = ""
			if strings.HasSuffix(t, "{") {
				section = t
			}
		case section != "" && strings.HasPrefix(line, `    "`):
			var k string
			if end := strings.Index(t, `": `); end > 0 && json.Unmarshal([]byte(t[:end+1]), &k) == nil {
				out[i+1] = k
			}
		}
	}
	return out
}
