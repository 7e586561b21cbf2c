package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rowguard/rowguard/compiler"
)

// startServer runs `rowguard serve` with args on a free port of 127.0.0.1
// and returns its GraphQL endpoint and a function that stops it; it
// returns serve's error when serve stops before it listens.
func startServer(ctx context.Context, args []string) (string, func() error, error) {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runServe(ctx, append([]string{"--host", "127.0.0.1", "--port", "0"}, args...), pw)
		pw.CloseWithError(err)
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "serving GraphQL on "); ok {
			go io.Copy(io.Discard, pr)
			return strings.Fields(rest)[0], func() error { cancel(); return <-done }, nil
		}
	}
	go io.Copy(io.Discard, pr)
	cancel()
	err := <-done
	if err == nil {
		err = errors.New("serve stopped before it listened")
	}
	return "", nil, err
}

// gqlClient posts GraphQL requests to one endpoint as one role.
type gqlClient struct {
	endpoint string
	headers  map[string]string
}

var realProjectsHTTP = &http.Client{Timeout: 2 * time.Minute}

// do posts query and decodes the response into out; it returns the
// messages of the response's errors, or the transport's error.
func (c *gqlClient) do(ctx context.Context, query string, out any) error {
	body, _ := json.Marshal(map[string]string{"query": query})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := realProjectsHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Data   json.RawMessage
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("HTTP %d, not JSON: %.200s", resp.StatusCode, b)
	}
	if len(env.Errors) > 0 {
		var msgs []string
		for _, e := range env.Errors {
			msgs = append(msgs, fmt.Sprintf("%s (%s)", e.Message, e.Extensions.Code))
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, b)
	}
	return json.Unmarshal(env.Data, out)
}

// introspectionQuery is graphql-js 16's getIntrospectionQuery() with its
// default options, as GraphQL clients and code generators send it.
const introspectionQuery = `
    query IntrospectionQuery {
      __schema {
        queryType { name }
        mutationType { name }
        subscriptionType { name }
        types {
          ...FullType
        }
        directives {
          name
          description
          locations
          args {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      fields(includeDeprecated: true) {
        name
        description
        args {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
                ofType {
                  kind
                  name
                  ofType {
                    kind
                    name
                  }
                }
              }
            }
          }
        }
      }
    }
  `

// introSchema is the part of an introspection result the runner reads.
type introSchema struct {
	Schema struct {
		QueryType struct{ Name string }
		Types     []*introType
	} `json:"__schema"`
}

type introType struct {
	Kind   string
	Name   string
	Fields []struct {
		Name string
		Args []struct {
			Name         string
			Type         *typeRef
			DefaultValue *string
		}
		Type *typeRef
	}
}

type typeRef struct {
	Kind   string
	Name   string
	OfType *typeRef
}

// named strips NON_NULL and LIST wrappers; list tells whether a LIST was
// among them.
func (r *typeRef) named() (named *typeRef, list bool) {
	for r != nil && (r.Kind == "NON_NULL" || r.Kind == "LIST") {
		list = list || r.Kind == "LIST"
		r = r.OfType
	}
	return r, list
}

// listQueries returns, for every list-of-objects field of the schema's
// query root, a query of its first two rows' scalar fields, by field name.
// A field with a required argument (a tracked function's args) is left
// out and counted in skipped.
func listQueries(s *introSchema) (queries map[string]string, skipped int) {
	types := map[string]*introType{}
	for _, t := range s.Schema.Types {
		types[t.Name] = t
	}
	root := types[s.Schema.QueryType.Name]
	if root == nil {
		return nil, 0
	}
	queries = map[string]string{}
	for _, f := range root.Fields {
		named, list := f.Type.named()
		if !list || named == nil || named.Kind != "OBJECT" || types[named.Name] == nil {
			continue
		}
		limit, required := false, false
		for _, a := range f.Args {
			limit = limit || a.Name == "limit"
			required = required || a.Type.Kind == "NON_NULL" && a.DefaultValue == nil
		}
		if required {
			skipped++
			continue
		}
		var sel []string
		for _, sf := range types[named.Name].Fields {
			st, _ := sf.Type.named()
			if st == nil || st.Kind != "SCALAR" && st.Kind != "ENUM" {
				continue
			}
			req := false
			for _, a := range sf.Args {
				req = req || a.Type.Kind == "NON_NULL" && a.DefaultValue == nil
			}
			if !req {
				sel = append(sel, sf.Name)
			}
		}
		if len(sel) == 0 {
			sel = []string{"__typename"}
		}
		args := ""
		if limit {
			args = "(limit: 2)"
		}
		queries[f.Name] = fmt.Sprintf("query { %s%s { %s } }", f.Name, args, strings.Join(sel, " "))
	}
	return queries, skipped
}

// roleVariables returns, for the Hasura role (or inherited role), every
// session variable its permissions read with a value of a fitting type:
// a value that casts to every column type the variable is compared with
// (an enum's first label, a uuid, 1 (also true), a date, text; `{}` for
// arrays).
func roleVariables(ctx context.Context, conn *pgx.Conn, prog *compiler.Program, role string) map[string]string {
	members := map[string]bool{role: true}
	for _, ir := range prog.InheritedRoles {
		if ir.Role.Name == role {
			for _, m := range ir.Members {
				members[m.Name] = true
			}
		}
	}
	types := map[string][]string{}
	add := func(o compiler.Operand) {
		if sv, ok := o.(*compiler.SessionValue); ok && !strings.HasPrefix(sv.Name, "x-hasura-use-backend-only") {
			types[sv.Name] = append(types[sv.Name], sv.Type)
		}
	}
	var operands func(o compiler.Operand)
	operands = func(o compiler.Operand) {
		add(o)
		switch o := o.(type) {
		case *compiler.ListValue:
			for _, it := range o.Items {
				operands(it)
			}
		case *compiler.DWithinValue:
			for _, it := range []compiler.Operand{o.From, o.Distance, o.UseSpheroid} {
				if it != nil {
					operands(it)
				}
			}
		}
	}
	walk := func(e compiler.Expr) {
		compiler.Walk(e, func(e compiler.Expr) {
			switch e := e.(type) {
			case *compiler.Compare:
				operands(e.Right)
			case *compiler.ComputedCompare:
				operands(e.Right)
			}
		})
	}
	for _, t := range prog.Tables {
		for _, p := range t.Permissions {
			if !members[p.Role.Name] {
				continue
			}
			walk(p.Filter)
			walk(p.Check)
			for _, pr := range p.Presets {
				add(pr.Value)
			}
		}
	}
	vars := map[string]string{}
	for name, ts := range types {
		vars[name] = sampleValue(ctx, conn, ts)
	}
	return vars
}

// sampleValue returns the first candidate value that casts to every type.
func sampleValue(ctx context.Context, conn *pgx.Conn, types []string) string {
	candidates := []string{"{}", "00000000-0000-4000-8000-000000000001", "1", "2026-01-01 00:00:00+00", "rowguard"}
	for _, t := range types {
		var first *string
		if conn.QueryRow(ctx, "SELECT (pg_catalog.enum_range(NULL::"+t+"))[1]::text").Scan(&first) == nil && first != nil {
			candidates = append([]string{*first}, candidates...)
		}
	}
	for _, c := range candidates {
		ok := true
		for _, t := range types {
			if _, err := conn.Exec(ctx, "SELECT $1::text::"+t, c); err != nil {
				ok = false
				break
			}
		}
		if ok {
			return c
		}
	}
	return "rowguard"
}

// rolesOf lists admin and every role the program names, inherited roles
// included, admin first, then by name.
func rolesOf(prog *compiler.Program) []string {
	seen := map[string]bool{}
	for _, r := range prog.Roles {
		seen[r.Name] = true
	}
	for _, ir := range prog.InheritedRoles {
		seen[ir.Role.Name] = true
	}
	delete(seen, "admin")
	roles := make([]string, 0, len(seen))
	for r := range seen {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return append([]string{"admin"}, roles...)
}
