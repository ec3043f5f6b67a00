// Package e2e holds the end-to-end tests of changerelay: real processes (the
// database, the functions behind the Lambda Invoke API, the relay binary),
// started and stopped by the tests, checked against the contract's
// invariants with conduit.Check.
//
// By default the tests run on the Docker-free stack (mongolocal and the
// local Lambda host, built from this repository). With E2E_TARGET=localstack
// and MONGODB_URI, LAMBDA_ENDPOINT and FUNCTION_PREFIX set, they run against
// LocalStack and a real MongoDB replica set instead; the relay is still the
// binary built from this repository. `go test -short` skips the suite.
package e2e
