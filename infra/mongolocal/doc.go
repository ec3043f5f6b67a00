// Package mongolocal is a MongoDB wire-protocol server on the engine of
// github.com/256dpi/lungo, for development and tests only (no
// authentication, binds to loopback by default).
//
// It presents itself as the primary of a single-node replica set speaking
// MongoDB 7.0's wire version, so the official drivers enable sessions,
// retryable writes and change streams. Writes are serialized: each write
// command runs in one transaction on lungo's catalog, and the change entries
// it produces are handed, in commit order, to the change log of package
// changestream, which serves $changeStream cursors.
//
// Layers: wire.go (messages) → conn.go (one goroutine per connection) →
// command.go (dispatch, replies, fail points) → the command handlers
// (crud_*.go, namespaces.go, indexes.go, aggregate.go) → store.go and
// engine.go (the catalog, write transactions, change entries, persistence).
package mongolocal
