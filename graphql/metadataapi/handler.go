package metadataapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/compiler"
	"github.com/rowguard/rowguard/graphql"
	"github.com/rowguard/rowguard/migrations"
	"github.com/rowguard/rowguard/policies"
	"github.com/rowguard/rowguard/rls"
)

// Config configures a Handler.
type Config struct {
	// Server serves /v1/graphql and everything else the Handler does not.
	Server *graphql.Server
	// Pool connects with a role that may change the schema and install
	// policies (the database owner or a superuser).
	Pool *pgxpool.Pool
	// Auth authenticates requests; only admin sessions may use the API.
	Auth graphql.Authenticator
	// Compile and RLS must be the options the server's program was
	// compiled and installed with, so role names agree.
	Compile compiler.Options
	RLS     rls.Options
	// MaxBodyBytes limits a request body; graphql.DefaultMaxBodyBytes
	// when zero.
	MaxBodyBytes int64
	// Log receives one line per failed request; nil discards.
	Log *slog.Logger
}

// Handler serves Hasura's metadata API (/v1/query, /v1/metadata,
// /v2/query) and /v1alpha1/graphql, and passes every other request to the
// GraphQL server.
type Handler struct {
	cfg Config

	mu     sync.Mutex // one metadata change at a time
	doc    *document
	incons []inconsistency
}

// apiSource names the stored copy of the API's own document inside the
// installed policies.Source; metadataFile is the compiled form.
const (
	apiSourceFile = "rowguard_metadata_api.json"
	metadataFile  = "metadata.json"
)

// New loads the metadata the database has installed through this API (or
// starts empty when none is installed), compiles and installs it, and
// switches the server to it. A database whose policies were installed by
// `rowguard migrate` from a metadata directory is refused: the API would
// otherwise replace metadata it cannot read back as written.
func New(ctx context.Context, cfg Config) (*Handler, error) {
	if cfg.Server == nil || cfg.Pool == nil || cfg.Auth == nil {
		return nil, errors.New("metadataapi: Config needs Server, Pool and Auth")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = graphql.DefaultMaxBodyBytes
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &Handler{cfg: cfg}
	in, err := migrations.Current(ctx, cfg.Pool)
	if err != nil {
		return nil, fmt.Errorf("metadataapi: %w", err)
	}
	doc := &document{Sources: []string{"default"}, Tables: []*tableMeta{}}
	if in != nil && in.Source != nil {
		text, ok := in.Source.Files[apiSourceFile]
		if !ok {
			return nil, errors.New("metadataapi: the installed policies come from a metadata directory (rowguard migrate); " +
				"serve that directory without the metadata API, or load it with replace_metadata")
		}
		if doc, err = parseExport([]byte(text)); err != nil {
			return nil, fmt.Errorf("metadataapi: stored metadata: %w", err)
		}
	}
	h.doc = doc
	// Install (a no-op when unchanged) and serve what is stored; the
	// schema may have changed since.
	t := &txn{ctx: ctx, doc: doc.clone(), ddl: true}
	if aerr := h.commit(t); aerr != nil {
		return nil, fmt.Errorf("metadataapi: install the stored metadata: %s: %s", aerr.Code, aerr.Message)
	}
	return h, nil
}

// ServeHTTP routes the metadata endpoints and delegates the rest.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/query":
		h.serveMetadata(w, r, v1Query)
	case "/v1/metadata":
		h.serveMetadata(w, r, v1Metadata)
	case "/v2/query":
		h.serveMetadata(w, r, v2Query)
	case "/v1alpha1/graphql":
		h.serveV1Alpha1(w, r)
	default:
		h.cfg.Server.ServeHTTP(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

func writeError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(e)
	writeJSON(w, e.Status, body)
}

func (h *Handler) serveMetadata(w http.ResponseWriter, r *http.Request, ep endpoint) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, apiErr(http.StatusMethodNotAllowed, "method-not-allowed", "$", "only POST is allowed on %s", r.URL.Path))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, apiErr(http.StatusRequestEntityTooLarge, "bad-request", "$", "request body is larger than %d bytes", tooLarge.Limit))
			return
		}
		writeError(w, apiErr(http.StatusBadRequest, "bad-request", "$", "could not read the request body: %v", err))
		return
	}
	sess, err := h.cfg.Auth.Authenticate(r.Context(), r)
	if err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) {
			status := ae.Status
			if status == 0 {
				status = http.StatusBadRequest
			}
			writeError(w, apiErr(status, ae.Code, "$", "%s", ae.Message))
			return
		}
		writeError(w, unexpected(err))
		return
	}
	if !sess.IsAdmin {
		writeError(w, apiErr(http.StatusBadRequest, "access-denied", "$", "restricted access : admin only"))
		return
	}
	var req struct {
		Type string          `json:"type"`
		Args json.RawMessage `json:"args"`
	}
	if err := strictDecode(body, &req); err != nil {
		writeError(w, apiErr(http.StatusBadRequest, "parse-failed", "$", "%v", err))
		return
	}
	if req.Type == "" {
		writeError(w, apiErr(http.StatusBadRequest, "parse-failed", "$", "key \"type\" not found"))
		return
	}
	out, aerr := h.apply(r.Context(), ep, req.Type, req.Args)
	if aerr != nil {
		if aerr.Status >= 500 {
			h.cfg.Log.Error("metadataapi", "type", req.Type, "error", aerr.Message)
		}
		writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// apply runs one request: its operations and, when they changed the
// metadata or the schema, the recompilation and reinstall of every policy,
// all in one transaction. On any error nothing is applied.
func (h *Handler) apply(ctx context.Context, ep endpoint, typ string, args json.RawMessage) (json.RawMessage, *apiError) {
	h.mu.Lock()
	defer h.mu.Unlock()
	tx, err := h.cfg.Pool.Begin(ctx)
	if err != nil {
		return nil, unexpected(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	t := &txn{ctx: ctx, tx: tx, doc: h.doc.clone(), incons: h.incons}
	out, aerr := t.run(ep, typ, args, "$")
	if aerr != nil {
		return nil, aerr
	}
	if !t.changed && !t.ddl {
		if err := tx.Commit(ctx); err != nil {
			return nil, unexpected(err)
		}
		return out, nil
	}
	if aerr := h.install(t); aerr != nil {
		return nil, aerr
	}
	return out, nil
}

// commit runs install in a transaction of its own (for New).
func (h *Handler) commit(t *txn) *apiError {
	tx, err := h.cfg.Pool.Begin(t.ctx)
	if err != nil {
		return unexpected(err)
	}
	defer tx.Rollback(context.WithoutCancel(t.ctx))
	t.tx = tx
	return h.install(t)
}

// install reconciles the metadata with the schema, compiles it, installs
// the policies in t's transaction, commits, and switches the server.
func (h *Handler) install(t *txn) *apiError {
	t.cat = nil
	cat, aerr := t.catalog()
	if aerr != nil {
		return aerr
	}
	if aerr := t.reconcile(cat); aerr != nil {
		return aerr
	}
	compiled, incons := expand(t.doc)
	var compiledJSON []byte
	var prog *compiler.Program
	for {
		var err error
		compiledJSON, err = json.MarshalIndent(compiled.export(), "", " ")
		if err != nil {
			return unexpected(err)
		}
		md, err := policies.Parse(metadataFile, compiledJSON)
		if err != nil {
			return apiErr(400, "invalid-configuration", "$.args", "%s", describe(err))
		}
		var errs policies.ErrorList
		prog, errs = compiler.Compile(cat, md, h.cfg.Compile)
		if len(errs) == 0 {
			break
		}
		if t.cascade && t.dropBroken(compiled, compiledJSON, errs) {
			// SQL with cascade: the permissions that relied on what it
			// dropped go too, as in Hasura.
			compiled, incons = expand(t.doc)
			continue
		}
		aside, ok := setAside(compiled, compiledJSON, errs)
		if !ok || len(aside) == 0 {
			// Metadata that compiled before broke because the request's
			// SQL or a drop removed what it depends on.
			code := "invalid-configuration"
			if (t.ddl && !t.changed) || t.dropped {
				code = "dependency-error"
			}
			return apiErr(400, code, "$.args", "%s", describe(errs))
		}
		incons = append(incons, aside...)
	}
	apiJSON, err := json.Marshal(t.doc.export())
	if err != nil {
		return unexpected(err)
	}
	src := &policies.Source{Root: metadataFile, Files: map[string]string{
		metadataFile:  string(compiledJSON),
		apiSourceFile: string(apiJSON),
	}}
	script := rls.Emit(prog, h.cfg.RLS)
	if _, err := migrations.Apply(t.ctx, t.tx, script, src); err != nil {
		return apiErr(500, "unexpected", "$", "install policies: %v", err)
	}
	if err := t.tx.Commit(t.ctx); err != nil {
		return unexpected(err)
	}
	if err := h.cfg.Server.SetProgram(prog); err != nil {
		// The database has the new policies; the server keeps serving
		// the previous schema until the next successful change.
		return apiErr(500, "unexpected", "$", "the metadata is installed but the GraphQL schema could not be built: %v", err)
	}
	h.doc = t.doc
	h.incons = incons
	return nil
}

// describe strips the generated file's positions from compile errors: the
// user sent JSON operations, not that file.
func describe(err error) string {
	var list policies.ErrorList
	if errors.As(err, &list) {
		msgs := make([]string, len(list))
		for i, e := range list {
			msgs[i] = e.Msg
		}
		return strings.Join(msgs, "; ")
	}
	return err.Error()
}

// reconcile brings the metadata in line with a schema that SQL may have
// changed: objects whose table or function is gone are dropped when the
// SQL asked to cascade, and refused otherwise, as Hasura does.
func (t *txn) reconcile(cat *compiler.Catalog) *apiError {
	var gone []string
	for _, tm := range append([]*tableMeta{}, t.doc.Tables...) {
		if cat.Table(policies.QualifiedTable{Schema: tm.Table.Schema, Name: tm.Table.Name}) != nil {
			continue
		}
		gone = append(gone, "table "+tm.Table.hasuraString())
		t.removeTable(tm.Table)
	}
	var fns []*functionMeta
	for _, f := range t.doc.Functions {
		ok, aerr := t.functionExists(f.Function)
		if aerr != nil {
			return aerr
		}
		if ok {
			fns = append(fns, f)
		} else {
			gone = append(gone, "function "+f.Function.hasuraString())
		}
	}
	t.doc.Functions = fns
	for _, tm := range t.doc.Tables {
		var kept []*computedField
		for _, c := range tm.ComputedFields {
			var def struct {
				Function tableName `json:"function"`
			}
			_ = json.Unmarshal(c.Definition, &def)
			ok, aerr := t.functionExists(def.Function)
			if aerr != nil {
				return aerr
			}
			if ok {
				kept = append(kept, c)
			} else {
				gone = append(gone, fmt.Sprintf("computed field %s.%s", tm.Table.hasuraString(), c.Name))
			}
		}
		tm.ComputedFields = kept
	}
	if len(gone) > 0 && !t.cascade {
		return apiErr(400, "dependency-error", "$.args", "cannot drop due to the following dependent objects : %s", strings.Join(gone, ", "))
	}
	return nil
}

// serveV1Alpha1 answers /v1alpha1/graphql like /v1/graphql, except that a
// response with errors and no data has status 400, as Hasura's v1alpha1
// endpoint does.
func (h *Handler) serveV1Alpha1(w http.ResponseWriter, r *http.Request) {
	// Authentication errors keep their own status (401 for a wrong admin
	// secret) here, where /v1/graphql answers 200.
	if _, err := h.cfg.Auth.Authenticate(r.Context(), r); err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) && ae.Status != 0 {
			body, _ := json.Marshal(struct {
				Errors []*auth.Error `json:"errors"`
			}{[]*auth.Error{ae}})
			writeJSON(w, ae.Status, body)
			return
		}
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/v1/graphql"
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	h.cfg.Server.ServeHTTP(rec, r2)
	status := rec.status
	body := rec.body.Bytes()
	if status == http.StatusOK && isErrorOnly(body) {
		status = http.StatusBadRequest
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	w.Write(body)
}

func isErrorOnly(body []byte) bool {
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return false
	}
	var v map[string]json.RawMessage
	if json.Unmarshal(body, &v) != nil {
		return false
	}
	_, hasErrors := v["errors"]
	_, hasData := v["data"]
	return hasErrors && !hasData
}

// recorder keeps the GraphQL server's answer so its status can be changed.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }
