package graphql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PolicyVersionHeader carries, in every /healthz answer, the policy
// version (rowguard.policy_migrations) the served schema was built from.
const PolicyVersionHeader = "X-Rowguard-Policy-Version"

// Hasura's /healthz bodies.
const (
	healthOK           = "OK"
	healthInconsistent = "inconsistent objects in schema"
)

// policyVersion is the database's row of rowguard.policy_migrations.
type policyVersion struct {
	version string // "" when the database has none
	dirty   bool
}

// readPolicyVersion reads the database's policy version; "" when
// rowguard.policy_migrations does not exist or is empty (policies
// installed without `rowguard migrate`, or none).
func readPolicyVersion(ctx context.Context, pool *pgxpool.Pool) (policyVersion, error) {
	var v policyVersion
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('rowguard.policy_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return v, fmt.Errorf("read rowguard.policy_migrations: %w", err)
	}
	if !exists {
		return v, nil
	}
	var n int64
	err := pool.QueryRow(ctx, `SELECT version, dirty FROM rowguard.policy_migrations ORDER BY version DESC LIMIT 1`).Scan(&n, &v.dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, nil
	}
	if err != nil {
		return v, fmt.Errorf("read rowguard.policy_migrations: %w", err)
	}
	v.version = strconv.FormatInt(n, 10)
	return v, nil
}

// loadPolicyVersion is the version SetProgram records.
func loadPolicyVersion(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	v, err := readPolicyVersion(ctx, pool)
	return v.version, err
}

// serveHealth answers GET /healthz as Hasura does: 200 "OK"; 200
// "WARN: inconsistent objects in schema" when the metadata has
// inconsistencies (500 "ERROR: …" with ?strict=true); 500 "ERROR" when
// the database does not answer. Each inconsistency follows on a line of
// its own; the header X-Rowguard-Policy-Version names the served policy
// version. A database whose policy version moved on since the schema was
// built (another server, or `rowguard migrate up`, installed newer
// policies) is an inconsistency: this server's schema no longer matches
// what the database enforces. With read replicas, each has a line of its
// own after those (replicas.Router.HealthLines): the first line stays
// Hasura's.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	st := s.state.Load()
	w.Header().Set(PolicyVersionHeader, st.version)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.cfg.Pool.Ping(r.Context()); err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "ERROR")
		return
	}
	var problems []string
	db, err := readPolicyVersion(r.Context(), s.cfg.Pool)
	switch {
	case err != nil:
		problems = append(problems, "policy version: "+err.Error())
	case db.dirty:
		problems = append(problems, "policy version: migration "+db.version+" is dirty (a failed install): run `rowguard migrate up` again")
	case db.version != st.version:
		problems = append(problems, fmt.Sprintf("policy version: the database enforces %s, this server's schema was built from %s: restart the server (or reload metadata)", orNone(db.version), orNone(st.version)))
	}
	if s.cfg.Inconsistencies != nil {
		problems = append(problems, s.cfg.Inconsistencies()...)
	}
	// With read replicas, a line for each after the first (the replicas
	// do not change the status: without them reads go to the primary).
	var replicas string
	if hr, ok := s.cfg.Replicas.(interface{ HealthLines(string) []string }); ok {
		if lines := hr.HealthLines(st.version); len(lines) > 0 {
			replicas = strings.Join(lines, "\n") + "\n"
		}
	}
	if len(problems) == 0 {
		if replicas != "" {
			replicas = "\n" + replicas
		}
		io.WriteString(w, healthOK+replicas)
		return
	}
	status, word := http.StatusOK, "WARN"
	if strict := r.URL.Query().Get("strict"); strict == "true" {
		status, word = http.StatusInternalServerError, "ERROR"
	}
	w.WriteHeader(status)
	io.WriteString(w, word+": "+healthInconsistent+"\n"+strings.Join(problems, "\n")+"\n"+replicas)
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}
