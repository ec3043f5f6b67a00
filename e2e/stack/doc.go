// Package stack runs the whole pipeline as real processes for the
// end-to-end tests and the demo: it builds every binary once, then starts a
// target (the Docker-free stack: mongolocal plus the local Lambda host
// serving the built functions; or, with E2E_TARGET=localstack, the
// database and functions named by MONGODB_URI, LAMBDA_ENDPOINT and
// FUNCTION_PREFIX), and relays against it.
package stack
