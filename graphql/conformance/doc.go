// Package conformance holds TestConformance, which replays Hasura's own
// permission test cases (server/tests-py YAML, kept outside the repository
// in ../shared/conformance/hasura or ROWGUARD_CONFORMANCE_DIR) against a
// rowguard server with the metadata API, the way Hasura's Python harness
// does, and prints a pass table with every failure and its reason. It has
// no non-test code.
//
//	go test -count=1 -v -run TestConformance ./graphql/conformance/
package conformance
