package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/claims"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/rls"
)

//go:embed static
var static embed.FS

// Config configures a Handler.
type Config struct {
	// Server is the GraphQL server the console queries (role names).
	Server *graphql.Server
	// Pool connects as the server's login role: the catalog is read and
	// statements are run as API roles through it.
	Pool *pgxpool.Pool
	// HistoryPool reads rowguard.policy_history (the owner or a
	// superuser); Pool when nil.
	HistoryPool *pgxpool.Pool
	// Auth authenticates requests; only admin sessions may use the API.
	Auth graphql.Authenticator
	// Store holds the metadata the console edits.
	Store Store
	// MetadataAPI tells the page to apply through /v1/metadata
	// (replace_metadata) rather than Store.Apply.
	MetadataAPI bool
	// Claims are where the custom-claims configuration is read from (the
	// flags, environment and files of migrate up); nil when the console
	// cannot change it (the permission variables page is then read-only).
	Claims *claims.Sources
	// Compile and RLS are the options the program was installed with.
	Compile compiler.Options
	RLS     rls.Options
	// MaxBodyBytes limits a request body; graphql.DefaultMaxBodyBytes
	// when zero.
	MaxBodyBytes int64
	// Log receives one line per failed request; nil discards.
	Log *slog.Logger
}

// Handler serves the console under /console.
type Handler struct {
	cfg   Config
	files http.Handler
}

// New returns a console handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Server == nil || cfg.Pool == nil || cfg.Auth == nil || cfg.Store == nil {
		return nil, errors.New("console: Config needs Server, Pool, Auth and Store")
	}
	if cfg.HistoryPool == nil {
		cfg.HistoryPool = cfg.Pool
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = graphql.DefaultMaxBodyBytes
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg, files: http.StripPrefix("/console/", http.FileServerFS(sub))}, nil
}

// Mount serves /console and /console/… and passes every other request
// to next.
func (h *Handler) Mount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/console" || strings.HasPrefix(r.URL.Path, "/console/") {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the page, its files and the JSON API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/console" {
		http.Redirect(w, r, "/console/", http.StatusMovedPermanently)
		return
	}
	if !strings.HasPrefix(p, "/console/api/") {
		// The page itself is public, as Hasura's console is: it asks for
		// the admin secret and every API call carries it.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.files.ServeHTTP(w, r)
		return
	}
	sess, err := h.cfg.Auth.Authenticate(r.Context(), r)
	if err != nil || !sess.IsAdmin {
		writeErr(w, http.StatusUnauthorized, "access-denied", "the console API needs the admin secret (x-hasura-admin-secret)")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
	ctx := r.Context()
	route := strings.TrimPrefix(p, "/console/api/")
	switch {
	case route == "info" && r.Method == http.MethodGet:
		_, readOnly := h.cfg.Store.(InstalledStore)
		writeOK(w, map[string]any{"metadata_api": h.cfg.MetadataAPI, "writable": h.cfg.MetadataAPI || !readOnly, "admin_role": "admin"})
	case route == "metadata" && r.Method == http.MethodGet:
		doc, err := h.cfg.Store.Load(ctx)
		if err != nil {
			writeErr(w, http.StatusInternalServerError, "unexpected", err.Error())
			return
		}
		writeOK(w, doc.Export)
	case route == "describe" && r.Method == http.MethodPost:
		var req struct {
			Metadata json.RawMessage `json:"metadata"`
		}
		if !decode(w, r, &req) {
			return
		}
		out, err := h.describe(ctx, req.Metadata)
		if err != nil {
			writeErr(w, http.StatusInternalServerError, "unexpected", err.Error())
			return
		}
		writeOK(w, out)
	case route == "compile" && r.Method == http.MethodPost:
		var req CompileRequest
		if !decode(w, r, &req) {
			return
		}
		cat, err := compiler.LoadCatalog(ctx, h.cfg.Pool, nil)
		if err != nil {
			writeErr(w, http.StatusInternalServerError, "unexpected", err.Error())
			return
		}
		res, _ := Compile(cat, &req, h.cfg.Compile, h.cfg.RLS)
		writeOK(w, res)
	case route == "diff" && r.Method == http.MethodPost:
		var req struct {
			Old json.RawMessage `json:"old"`
			New json.RawMessage `json:"new"`
		}
		if !decode(w, r, &req) {
			return
		}
		cat, err := compiler.LoadCatalog(ctx, h.cfg.Pool, nil)
		if err != nil {
			writeErr(w, http.StatusInternalServerError, "unexpected", err.Error())
			return
		}
		writeOK(w, Diff(cat, req.Old, req.New, h.cfg.Compile, h.cfg.RLS))
	case route == "apply" && r.Method == http.MethodPost:
		var req struct {
			Metadata json.RawMessage `json:"metadata"`
		}
		if !decode(w, r, &req) {
			return
		}
		if err := h.cfg.Store.Apply(ctx, req.Metadata); err != nil {
			code := http.StatusBadRequest
			if errors.Is(err, ErrReadOnly) {
				code = http.StatusConflict
			}
			writeErr(w, code, "apply-failed", err.Error())
			return
		}
		writeOK(w, map[string]string{"message": "success"})
	case route == "history" && r.Method == http.MethodGet:
		list, err := History(ctx, h.cfg.HistoryPool)
		if err != nil {
			writeErr(w, http.StatusInternalServerError, "unexpected", err.Error())
			return
		}
		writeOK(w, list)
	case strings.HasPrefix(route, "history/") && r.Method == http.MethodGet:
		v, err := strconv.ParseInt(strings.TrimPrefix(route, "history/"), 10, 64)
		if err != nil {
			writeErr(w, http.StatusBadRequest, "invalid-params", "history/VERSION: the version is a number from /console/api/history")
			return
		}
		doc, err := HistoryDocument(ctx, h.cfg.HistoryPool, v)
		if err != nil {
			writeErr(w, http.StatusNotFound, "not-exists", err.Error())
			return
		}
		writeOK(w, doc.Export)
	case route == "claims" && r.Method == http.MethodPost:
		var req struct {
			UserID string `json:"user_id"`
		}
		if !decode(w, r, &req) {
			return
		}
		if req.UserID == "" {
			writeErr(w, http.StatusBadRequest, "invalid-params", "claims: give user_id, the user whose permission variables to compute")
			return
		}
		vals, err := PermissionVariables(ctx, h.cfg.Pool, req.UserID)
		if err != nil {
			writeErr(w, http.StatusBadRequest, "postgres-error", err.Error())
			return
		}
		writeOK(w, vals)
	case route == "claims/config" && r.Method == http.MethodGet:
		st, err := h.claimsState(ctx)
		if err != nil {
			writeErr(w, http.StatusInternalServerError, "unexpected", err.Error())
			return
		}
		writeOK(w, st)
	case (route == "claims/check" || route == "claims/apply") && r.Method == http.MethodPost:
		var req struct {
			Config ClaimsFile `json:"config"`
			UserID string     `json:"user_id"`
		}
		if !decode(w, r, &req) {
			return
		}
		st, err := h.claimsState(ctx)
		if err != nil {
			writeErr(w, http.StatusInternalServerError, "unexpected", err.Error())
			return
		}
		check, cfg, err := h.checkClaims(ctx, &req.Config, st.File, req.UserID)
		if err != nil {
			writeErr(w, http.StatusInternalServerError, "unexpected", err.Error())
			return
		}
		if route == "claims/check" {
			writeOK(w, check)
			return
		}
		if st.ReadOnly != "" {
			writeErr(w, http.StatusConflict, "apply-failed", st.ReadOnly)
			return
		}
		if cfg == nil {
			writeErr(w, http.StatusBadRequest, "apply-failed", "the claims configuration has errors, nothing was written: "+check.Errors[0].Message)
			return
		}
		if err := h.cfg.Store.(ClaimsApplier).ApplyClaims(ctx, st.File, []byte(check.Text)); err != nil {
			writeErr(w, http.StatusBadRequest, "apply-failed", err.Error())
			return
		}
		writeOK(w, map[string]string{"message": "success", "file": st.File})
	case route == "run" && r.Method == http.MethodPost:
		var req RunRequest
		if !decode(w, r, &req) {
			return
		}
		pgRole := h.cfg.Server.PGRole(req.Role)
		if req.Role == "" || req.Role == "admin" || pgRole == "" {
			writeErr(w, http.StatusBadRequest, "invalid-params", "run: role "+strconv.Quote(req.Role)+" has no permission in the served metadata; pick one of the roles the matrix lists")
			return
		}
		res, err := Run(ctx, h.cfg.Pool, pgRole, &req)
		if err != nil {
			writeErr(w, http.StatusBadRequest, "postgres-error", err.Error())
			return
		}
		writeOK(w, res)
	default:
		writeErr(w, http.StatusNotFound, "not-found", "no console endpoint "+r.Method+" "+p)
	}
}

// TableView is a table as the rule editor needs it.
type TableView struct {
	Name          string             `json:"name"`
	Tracked       bool               `json:"tracked"`
	View          bool               `json:"view"`
	Columns       []ColumnView       `json:"columns"`
	Relationships []RelationshipView `json:"relationships"`
}

// ColumnView is a column and its type.
type ColumnView struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// RelationshipView is a relationship and the table it reaches.
type RelationshipView struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Remote string `json:"remote"`
}

// describe compiles the document and returns the catalog as the editor
// shows it, the roles, and the permission variables installed.
func (h *Handler) describe(ctx context.Context, md json.RawMessage) (map[string]any, error) {
	cat, err := compiler.LoadCatalog(ctx, h.cfg.Pool, nil)
	if err != nil {
		return nil, err
	}
	res, prog := Compile(cat, &CompileRequest{Metadata: md}, h.cfg.Compile, h.cfg.RLS)
	rels := map[string][]RelationshipView{}
	var roles []string
	if prog != nil {
		for _, t := range prog.Tables {
			k := t.Name().String()
			rels[k] = []RelationshipView{}
			for _, r := range t.Relationships {
				rels[k] = append(rels[k], RelationshipView{Name: r.Name, Kind: r.Kind.String(), Remote: r.Remote.Name.String()})
			}
		}
		for _, r := range prog.Roles {
			roles = append(roles, r.Name)
		}
	}
	var tables []TableView
	for _, t := range cat.SortedTables() {
		if t.Name.Schema == "rowguard" || t.Name.Schema == "hdb_catalog" {
			continue
		}
		k := t.Name.String()
		tv := TableView{Name: k, View: t.IsView, Columns: []ColumnView{}, Relationships: rels[k]}
		_, tv.Tracked = rels[k]
		if tv.Relationships == nil {
			tv.Relationships = []RelationshipView{}
		}
		for _, c := range t.Columns {
			tv.Columns = append(tv.Columns, ColumnView{c.Name, c.Type})
		}
		tables = append(tables, tv)
	}
	vars, err := claims.InstalledVars(ctx, h.cfg.Pool)
	if err != nil {
		// Not installed, or not readable by this login: none to offer.
		vars = nil
	}
	sort.Strings(vars)
	return map[string]any{"tables": tables, "roles": roles, "errors": res.Errors, "permission_variables": vars}, nil
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid-json", "the request body is not the JSON this endpoint takes: "+err.Error())
		return false
	}
	return true
}

func writeOK(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if raw, ok := v.(json.RawMessage); ok {
		w.Write(raw)
		return
	}
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "error": msg})
}
