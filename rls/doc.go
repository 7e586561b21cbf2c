// Package rls turns a compiled program (package compiler) into the DDL that
// makes PostgreSQL enforce it: roles, column GRANTs, row-level-security
// policies, preset triggers and the SECURITY DEFINER helpers that evaluate
// cross-table rules without the related tables' own policies.
//
// Emit is pure and deterministic: the same program always yields
// byte-identical SQL, which re-parses with pg_query_go. The script first
// removes whatever an earlier install created (everything rowguard owns is
// named rg_* or lives in the rowguard schema), so applying it is idempotent;
// it does not open a transaction itself, its caller runs it in one.
package rls
