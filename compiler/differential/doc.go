// Package differential holds rowguard's differential test of the whole
// permission pipeline against a second, independent implementation.
//
// The test generates random Hasura boolean expressions (nested _and, _or,
// _not, every comparison operator and its spellings, object, array and self
// relationships, _exists, session variables), random data and random
// sessions. Each expression goes through the real pipeline — Hasura metadata
// text, policies.Parse, compiler.Compile against a catalog read from a live
// PostgreSQL, rls.Emit, installed with the emitted SQL — and PostgreSQL then
// answers, as the role, which rows it may select, insert, update and delete.
// A reference evaluator written in Go walks the generator's own expression
// tree (not the loader's or the compiler's) over a Go copy of the data, with
// SQL's three-valued logic, and the two answers must agree row for row.
//
// The package has no non-test code. Run it with
//
//	go test ./compiler/differential/ -count=1 -v
//
// and use -diffseed to replay a run (the seed is logged) and -diffcases to
// run more cases.
package differential
