// Package console serves rowguard's web console at /console: a
// permission matrix (tables × roles × operations), a rule editor that
// shows, as the rule is edited, the policies, GRANTs and triggers it
// compiles to, apply with a metadata diff and a DDL diff, the policy
// history as an undo list, role copy, rename, delete and permission
// cloning, a query box that runs GraphQL as any role with editable
// session variables (and the same statement as SQL, as psql would see
// it), and explain under RLS.
//
// The page is plain HTML, CSS and JavaScript embedded in the binary
// (static/), so the console works offline. It is a client of the
// server's own APIs: /v1/graphql and /v1/graphql/explain with the admin
// secret, /v1/metadata when the metadata API is mounted. The JSON
// endpoints under /console/api/ add what those APIs cannot answer:
// compiling an edited metadata document into SQL (Compile), the diff of
// two documents, the policy history, running a statement as a role in a
// read-only transaction that is rolled back, and, for `rowguard console`
// over a metadata directory, writing that directory and installing it
// (DirStore). Every endpoint but the static files requires an admin
// session.
package console
