package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

// Store is where the console reads the metadata it edits and, when it
// can, applies a changed document.
type Store interface {
	// Load returns the metadata as it is now.
	Load(ctx context.Context) (*Document, error)
	// Apply installs export all-or-nothing; ErrReadOnly when the store
	// cannot.
	Apply(ctx context.Context, export json.RawMessage) error
}

// ErrReadOnly is Apply's answer from a store that cannot install.
var ErrReadOnly = errors.New("this console cannot apply changes: start `rowguard serve` with --metadata-api-database-url (the page then applies through /v1/metadata), or use `rowguard console --metadata DIR`")

// apiSourceFile is where the metadata API stores its own document in the
// installed policies.Source (package metadataapi).
const apiSourceFile = "rowguard_metadata_api.json"

// InstalledStore reads the metadata the database has installed
// (rowguard.policy_history). It cannot apply: with the metadata API
// mounted, the page applies through /v1/metadata, which installs and
// records the change, and the next Load reads it back.
type InstalledStore struct {
	Querier compiler.Querier
}

// Load reads the newest install.
func (s InstalledStore) Load(ctx context.Context) (*Document, error) {
	in, err := migrations.Current(ctx, s.Querier)
	if err != nil {
		return nil, err
	}
	if in == nil || in.Source == nil {
		return &Document{Export: json.RawMessage(`{"version":3,"sources":[{"name":"default","kind":"postgres","tables":[]}]}`), Origins: map[string]string{}}, nil
	}
	return sourceDocument(in.Source)
}

// Apply refuses: see ErrReadOnly.
func (InstalledStore) Apply(context.Context, json.RawMessage) error { return ErrReadOnly }

func sourceDocument(src *policies.Source) (*Document, error) {
	if text, ok := src.Files[apiSourceFile]; ok {
		return &Document{Export: json.RawMessage(text), Origins: map[string]string{}}, nil
	}
	return ReadDocument(src.Files, src.Root)
}

// DirStore is a metadata directory (or one exported file) over a
// database: Apply writes the changed tables back to the files they came
// from and runs the install (migrations.Up), restoring the files when the
// install fails.
type DirStore struct {
	// Path is the metadata directory or file.
	Path string
	// DatabaseURL connects as a role that may install (owner or
	// superuser), as for `rowguard migrate up`.
	DatabaseURL string
	Compile     compiler.Options
	RLS         rls.Options
	// Extend renders what installs with the policies (the custom claims'
	// functions), as migrations.Config.Extend: without it an install
	// would drop them.
	Extend func(prog *compiler.Program) (string, error)
	// Installed runs after a successful install (the server switches to
	// the new program).
	Installed func(ctx context.Context) error

	mu sync.Mutex
}

// Load reads the files.
func (s *DirStore) Load(context.Context) (*Document, error) {
	files, root, err := readTree(s.Path)
	if err != nil {
		return nil, err
	}
	return ReadDocument(files, root)
}

func readTree(p string) (map[string]string, string, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, "", fmt.Errorf("metadata: %w", err)
	}
	files := map[string]string{}
	if !info.IsDir() {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, "", err
		}
		files[filepath.Base(p)] = string(data)
		return files, filepath.Base(p), nil
	}
	err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := filepath.Ext(f)
		if ext != ".yaml" && ext != ".yml" && ext != ".json" && ext != ".graphql" {
			return nil
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(p, f)
		files[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	return files, ".", err
}

// Apply writes export's changed tables and installs.
func (s *DirStore) Apply(ctx context.Context, export json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.Load(ctx)
	if err != nil {
		return err
	}
	writes, err := changedFiles(cur, export)
	if err != nil {
		return err
	}
	if len(writes) == 0 {
		return nil
	}
	base := s.Path
	if cur.Root != "" {
		base = filepath.Dir(s.Path)
	}
	// Keep the originals to restore on failure.
	saved := map[string][]byte{}
	for name := range writes {
		full := filepath.Join(base, filepath.FromSlash(name))
		if data, err := os.ReadFile(full); err == nil {
			saved[full] = data
		} else {
			saved[full] = nil
		}
	}
	restore := func() {
		for full, data := range saved {
			if data == nil {
				os.Remove(full)
			} else {
				_ = os.WriteFile(full, data, 0o644)
			}
		}
	}
	for name, data := range writes {
		full := filepath.Join(base, filepath.FromSlash(name))
		if err := os.WriteFile(full, data, 0o644); err != nil {
			restore()
			return fmt.Errorf("write %s: %w", full, err)
		}
	}
	err = migrations.Up(ctx, migrations.Config{DatabaseURL: s.DatabaseURL, Metadata: s.Path, Compile: s.Compile, RLS: s.RLS, Extend: s.Extend})
	if err != nil {
		restore()
		return fmt.Errorf("install (the metadata files were restored): %w", err)
	}
	if s.Installed != nil {
		return s.Installed(ctx)
	}
	return nil
}

// ClaimsApplier is a Store that can also change the custom-claims
// configuration.
type ClaimsApplier interface {
	// ApplyClaims writes text to file and installs, all-or-nothing.
	ApplyClaims(ctx context.Context, file string, text []byte) error
}

// ApplyClaims writes the claims configuration file and installs (the
// install reads it through Extend), restoring the file when the install
// fails.
func (s *DirStore) ApplyClaims(ctx context.Context, file string, text []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := os.ReadFile(file)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if existed && bytes.Equal(old, text) {
		return nil
	}
	restore := func() {
		if existed {
			_ = os.WriteFile(file, old, 0o644)
		} else {
			os.Remove(file)
		}
	}
	if err := os.WriteFile(file, text, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	err = migrations.Up(ctx, migrations.Config{DatabaseURL: s.DatabaseURL, Metadata: s.Path, Compile: s.Compile, RLS: s.RLS, Extend: s.Extend})
	if err != nil {
		restore()
		return fmt.Errorf("install (%s was restored): %w", file, err)
	}
	if s.Installed != nil {
		return s.Installed(ctx)
	}
	return nil
}

// changedFiles returns the files to write so that the metadata reads as
// export: each changed table's own file, or the whole export when it is
// one file.
func changedFiles(cur *Document, export json.RawMessage) (map[string][]byte, error) {
	oldNames, oldTables, err := tablesOf(cur.Export)
	if err != nil {
		return nil, err
	}
	newNames, newTables, err := tablesOf(export)
	if err != nil {
		return nil, err
	}
	if cur.Root != "" {
		if same(cur.Export, export) {
			return nil, nil
		}
		var data []byte
		if strings.HasSuffix(cur.Root, ".json") {
			var buf bytes.Buffer
			if err := json.Indent(&buf, export, "", "  "); err != nil {
				return nil, err
			}
			data = append(buf.Bytes(), '\n')
		} else if data, err = jsonToYAML(export); err != nil {
			return nil, err
		}
		return map[string][]byte{cur.Root: data}, nil
	}
	for _, n := range oldNames {
		if _, ok := newTables[n]; !ok {
			return nil, fmt.Errorf("table %s is missing from the new metadata: the console edits permissions, it does not untrack tables", n)
		}
	}
	out := map[string][]byte{}
	for _, n := range newNames {
		if same(oldTables[n], newTables[n]) {
			continue
		}
		file, ok := cur.Origins[n]
		if !ok || oldTables[n] == nil {
			return nil, fmt.Errorf("table %s is not in the metadata directory: track it with the Hasura CLI or the metadata API first", n)
		}
		data, err := jsonToYAML(newTables[n])
		if err != nil {
			return nil, err
		}
		out[file] = data
	}
	var o, n struct {
		InheritedRoles json.RawMessage `json:"inherited_roles"`
	}
	_ = json.Unmarshal(cur.Export, &o)
	_ = json.Unmarshal(export, &n)
	if !same(o.InheritedRoles, n.InheritedRoles) {
		if len(n.InheritedRoles) == 0 || string(n.InheritedRoles) == "null" {
			n.InheritedRoles = json.RawMessage("[]")
		}
		data, err := jsonToYAML(n.InheritedRoles)
		if err != nil {
			return nil, err
		}
		out[cur.InheritedRolesFile] = data
	}
	return out, nil
}

// same compares two JSON values by meaning: key order and spacing aside;
// numbers by their text, so a bigint edited beyond 2^53 is a change.
func same(a, b json.RawMessage) bool {
	var x, y any
	if len(a) == 0 {
		a = json.RawMessage("null")
	}
	if len(b) == 0 {
		b = json.RawMessage("null")
	}
	if decodeExact(a, &x) != nil || decodeExact(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

func decodeExact(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// HistoryEntry is one policy install.
type HistoryEntry struct {
	Version     int64     `json:"version"`
	Hash        string    `json:"hash"`
	InstalledAt time.Time `json:"installed_at"`
}

// History lists the newest installs first (at most 100).
func History(ctx context.Context, q compiler.Querier) ([]HistoryEntry, error) {
	rows, err := q.Query(ctx, `SELECT version, hash, installed_at FROM rowguard.policy_history ORDER BY version DESC LIMIT 100`)
	if err != nil {
		return nil, fmt.Errorf("read policy history: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (HistoryEntry, error) {
		var e HistoryEntry
		err := r.Scan(&e.Version, &e.Hash, &e.InstalledAt)
		return e, err
	})
}

// HistoryDocument returns the metadata installed as version.
func HistoryDocument(ctx context.Context, q compiler.Querier, version int64) (*Document, error) {
	rows, err := q.Query(ctx, `SELECT source FROM rowguard.policy_history WHERE version = $1`, version)
	if err != nil {
		return nil, fmt.Errorf("read policy history: %w", err)
	}
	raw, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[[]byte])
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("no policy install has version %d", version)
	}
	if err != nil {
		return nil, fmt.Errorf("read policy history: %w", err)
	}
	var src policies.Source
	if err := json.Unmarshal(raw, &src); err != nil {
		return nil, fmt.Errorf("policy history version %d: %w", version, err)
	}
	return sourceDocument(&src)
}
