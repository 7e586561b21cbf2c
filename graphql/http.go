package graphql

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/rowguard/rowguard/auth"
	"github.com/rowguard/rowguard/graphql/observe"
)

// serveGraphQL answers POST /v1/graphql: one request object, or a JSON
// array of them (a batch of at most Config.BatchLimit, answered with an
// array; each runs in its own transaction). A body over
// Config.MaxBodyBytes is answered 413 before it is read whole. GraphQL errors,
// authentication errors included, are answered with status 200 as Hasura
// does on this endpoint.
func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody(errorf("method-not-allowed", "$", "only POST is allowed on /v1/graphql")))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeJSON(w, http.StatusRequestEntityTooLarge, errorBody(errorf(CodeBadRequest, "$", "request body is larger than %d bytes", tooLarge.Limit)))
			return
		}
		writeJSON(w, http.StatusBadRequest, errorBody(errorf(CodeBadRequest, "$", "could not read the request body")))
		return
	}
	rec := observe.FromContext(r.Context())
	actx, span := observe.StartSpan(r.Context(), "graphql.auth")
	sess, err := s.cfg.Auth.Authenticate(actx, r)
	span.End(authCode(err), "authentication refused")
	if err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) {
			rec.AuthFailed(ae.Code, "$", ae.Message)
			writeJSON(w, http.StatusOK, marshal(struct {
				Errors []*auth.Error `json:"errors"`
			}{[]*auth.Error{ae}}))
			return
		}
		s.cfg.Log.Error("graphql: authentication", "error", err)
		rec.AuthFailed(CodeUnexpected, "$", "authentication failed")
		writeJSON(w, http.StatusOK, errorBody(errorf(CodeUnexpected, "$", "authentication failed")))
		return
	}
	s.observeSession(r.Context(), sess)

	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var reqs []json.RawMessage
		if err := json.Unmarshal(body, &reqs); err != nil {
			gerr := invalidJSON(err)
			rec.Error(gerr.Code, gerr.Path, gerr.Message)
			writeJSON(w, http.StatusOK, errorBody(gerr))
			return
		}
		if n := s.cfg.BatchLimit; n > 0 && len(reqs) > n {
			gerr := validationf("$", "batch limit exceeded: the request has %d operations, the limit is %d", len(reqs), n)
			rec.Error(gerr.Code, gerr.Path, gerr.Message)
			writeJSON(w, http.StatusOK, errorBody(gerr))
			return
		}
		var out bytes.Buffer
		out.WriteByte('[')
		for i, raw := range reqs {
			if i > 0 {
				out.WriteByte(',')
			}
			req, gerr := decodeRequest(raw)
			if gerr != nil {
				rec.Error(gerr.Code, gerr.Path, gerr.Message)
				out.Write(errorBody(gerr))
				continue
			}
			rec.Operation(req.OperationName, req.Query, req.Variables)
			out.Write(s.Do(r.Context(), sess, req))
		}
		out.WriteByte(']')
		writeJSON(w, http.StatusOK, out.Bytes())
		return
	}
	req, gerr := decodeRequest(body)
	if gerr != nil {
		rec.Error(gerr.Code, gerr.Path, gerr.Message)
		writeJSON(w, http.StatusOK, errorBody(gerr))
		return
	}
	rec.Operation(req.OperationName, req.Query, req.Variables)
	writeJSON(w, http.StatusOK, s.Do(r.Context(), sess, req))
}

// decodeRequest decodes one request, keeping numbers exact (a bigint
// variable must not pass through float64).
func decodeRequest(data []byte) (*Request, *Error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var req Request
	if err := dec.Decode(&req); err != nil {
		return nil, invalidJSON(err)
	}
	if req.Query == "" {
		return nil, errorf(CodeBadRequest, "$", "the request has no query")
	}
	return &req, nil
}

func invalidJSON(err error) *Error {
	return errorf("invalid-json", "$", "Error in $: %s", err.Error())
}

// writeJSON answers body with its length: net/http works out the length
// of a body up to 2 KB itself, and sends a longer one chunked, in two or
// three writes to the socket where one or two carry it with its length.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// serveVersion answers GET /v1/version with {"version": …}.
func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	out, _ := json.Marshal(map[string]string{"version": s.cfg.Version})
	writeJSON(w, http.StatusOK, out)
}

// authCode is the Hasura code of an authentication error ("" for none).
func authCode(err error) string {
	if err == nil {
		return ""
	}
	var ae *auth.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return CodeUnexpected
}
