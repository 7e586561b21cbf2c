// Package auth turns the credentials of an HTTP request into a Session, the
// way Hasura GraphQL Engine v2 does.
//
// rowguard enforces permissions with PostgreSQL row-level security; this
// package only decides who a request runs as: its role, its session
// variables (x-hasura-*), whether it is the admin and whether it may use
// backend-only permissions. It imports nothing else from the project.
//
// # Modes
//
// The mode follows from Config, as Hasura's follows from its environment:
//
//   - No admin secret (HASURA_GRAPHQL_ADMIN_SECRET unset): every request is
//     admin. An X-Hasura-Role header selects another role and every
//     X-Hasura-* header becomes a session variable.
//   - Admin secret only: a request with the right X-Hasura-Admin-Secret (or
//     the legacy X-Hasura-Access-Key) header is admin as above; a wrong one is
//     refused; a request without one runs as the unauthorized role if one is
//     configured (HASURA_GRAPHQL_UNAUTHORIZED_ROLE) and is refused otherwise.
//   - Admin secret and JWT (HASURA_GRAPHQL_JWT_SECRET): requests without the
//     admin secret header must carry a JWT, verified with a fixed key or with
//     keys fetched from a JWKS URL. Its x-hasura-* claims become the session.
//     Without a token the request runs as the unauthorized role, if any.
//   - Admin secret and webhook (HASURA_GRAPHQL_AUTH_HOOK): requests without
//     the admin secret header are sent to the webhook, whose JSON answer
//     becomes the session.
//
// A token that verified is remembered (by its SHA-256, up to 4096 tokens of
// at most 8 KiB) with its x-hasura-* claims, so a client sending the same
// token with every request pays for decoding and the signature once. Its
// exp, iat and nbf are checked against the clock on every request, and a
// JWKS token is verified again when the key that verified it has left the
// key set. Failures are not remembered.
//
// As in Hasura, JWT and webhook modes and the unauthorized role need an
// admin secret, JWT and webhook cannot be combined, and the unauthorized role
// cannot be used with a webhook: New reports these setups as errors.
//
// # Errors
//
// Authentication failures are *Error values carrying Hasura's error code
// (invalid-jwt, access-denied, invalid-headers, ...) and message, so clients
// written against Hasura see the same answers. Error.Status is the HTTP
// status Hasura uses on its non-GraphQL endpoints; Hasura's /v1/graphql
// endpoint answers every error, authentication errors included, with HTTP
// 200 and {"errors":[...]}.
//
// # Deliberate differences from Hasura
//
// This package is stricter than Hasura where Hasura's leniency is a risk:
//
//   - a configured issuer or audience must be present in the token (Hasura's
//     JOSE library accepts tokens that lack the claim);
//   - tokens over 64 KiB, RSA keys under 2048 bits, HMAC secrets shorter than
//     the hash size and JWS "crit" headers are rejected;
//   - a token whose header or claims repeat a JSON key, or spell one
//     x-hasura-* claim in two cases, is rejected (which value Hasura's
//     parser keeps is not what every issuer's parser keeps);
//   - role names are limited to 128 bytes of [A-Za-z0-9_-.:@ ];
//   - a request running as the unauthorized role gets no session variables
//     from its X-Hasura-* headers (Hasura copies them), since they are
//     entirely client-controlled;
//   - session variable values may also be JSON numbers, booleans and arrays
//     (arrays become PostgreSQL array literals such as {1,2,"a b"}), where
//     Hasura accepts only strings.
package auth
