package graphql

import (
	"context"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/rowguard/rowguard/auth"
)

// subscriptionRootName is the subscription root type, as Hasura names it.
const subscriptionRootName = "subscription_root"

// addSubscriptionRoot publishes subscription_root: the query root's
// fields, which a live query refetches, as Hasura's subscription root
// mirrors its query root. It is added to the parsed schema (the SDL stays
// the query and mutation roots) so the validator and introspection see
// it; a role with no query field has no subscription root.
func addSubscriptionRoot(rs *roleSchema) {
	q := rs.schema.Query
	if q == nil || rs.noRoot {
		return
	}
	sub := *q
	sub.Name = subscriptionRootName
	sub.Description = "subscription root"
	sub.Fields = append(ast.FieldList(nil), q.Fields...)
	rs.schema.Subscription = &sub
	rs.schema.Types[subscriptionRootName] = &sub
	addStreamFields(rs, &sub)
}

// OperationKind is what a request asks for: a query, a mutation or a
// subscription.
type OperationKind string

// The kinds of operation, as GraphQL spells them.
const (
	KindQuery        OperationKind = "query"
	KindMutation     OperationKind = "mutation"
	KindSubscription OperationKind = "subscription"
)

// Prepared is a request parsed, validated and planned for a session: what
// a transport needs to decide how to answer it.
type Prepared struct {
	op   *operation
	sess *auth.Session
	req  *Request
}

// Kind returns the operation's kind.
func (p *Prepared) Kind() OperationKind { return OperationKind(p.op.kind) }

// Prepare parses, validates and plans req for sess (the depth, node and
// other request limits included). A request that cannot run gets its
// error body ({"errors":[…]}) and a nil Prepared.
func (s *Server) Prepare(sess *auth.Session, req *Request) (*Prepared, []byte) {
	return s.PrepareContext(context.Background(), sess, req)
}

// PrepareContext is Prepare with spans of parsing and validating, and of
// planning, in the trace of ctx's observed request (observe.FromContext:
// a WebSocket operation's, observe.Request.OperationContext).
func (s *Server) PrepareContext(ctx context.Context, sess *auth.Session, req *Request) (*Prepared, []byte) {
	op, err := s.prepareTraced(ctx, sess, req)
	if err != nil {
		return nil, errorBody(err)
	}
	return &Prepared{op: op, sess: sess, req: req}, nil
}

// Run runs a prepared query or mutation once and returns the response
// body, as Do does.
func (s *Server) Run(ctx context.Context, p *Prepared) []byte {
	body, err := s.run(ctx, p.op, p.sess)
	if err != nil {
		return errorBody(err)
	}
	return body
}

// ErrorBody renders a GraphQL error body {"errors":[{"message":…,
// "extensions":{"path":"$","code":code}}]}, for transports that answer
// errors of their own in Hasura's shape.
func ErrorBody(code, message string) []byte {
	return errorBody(&Error{Code: code, Path: "$", Message: message})
}

// OnProgramChange registers f to be called after each SetProgram, so
// long-lived connections planned against the previous program can end.
func (s *Server) OnProgramChange(f func()) {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	s.listeners = append(s.listeners, f)
}

// programChanged calls the OnProgramChange functions.
func (s *Server) programChanged() {
	s.listenMu.Lock()
	fs := append([]func(){}, s.listeners...)
	s.listenMu.Unlock()
	for _, f := range fs {
		f()
	}
}
