// Package claims computes Hasura permission variables ("custom claims") the
// way hasura-auth and Nhost do: each claim is a key and a path from the
// user row, such as
//
//	AUTH_JWT_CUSTOM_CLAIMS={"organisation-id":"profile.organisation[].id"}
//
// The path follows relationships of the metadata (object and array, manual
// or by foreign key) and columns of the catalog, and may go on into any
// json or jsonb column. Each claim becomes the session variable
// x-hasura-<key> (lower case).
//
// The package has three parts:
//
//   - configuration (Config, Load): hasura-auth's AUTH_JWT_CUSTOM_CLAIMS and
//     AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS (environment, flags, or the file
//     rowguard_claims.json beside the metadata directory), or Nhost's
//     [[auth.session.accessToken.customClaims]] tables in nhost.toml beside
//     the metadata directory;
//   - compilation (Compile): every path is resolved against the compiled
//     metadata and the catalog into one SQL expression per claim, with
//     positioned errors and suggestions at load;
//   - evaluation: Namespace computes the object an auth service puts in a
//     token (strings as is, numbers exactly, arrays as PostgreSQL array
//     literals, see Encode), and InstallSQL renders the SECURITY DEFINER
//     function rowguard.rg_claims(user_id) that sets the same values as
//     transaction-local settings, so a server can compute claims fresh in
//     each request's transaction (rowguard serve --fresh-claims).
package claims
