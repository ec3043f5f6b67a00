// Package store is the database access the handlers and the repair share:
// user lookups for author copies, favorite and tag counts read from the
// source collections, the tag reconciliation loop, and the cluster time
// that versions repair's writes. Every call runs under a bounded timeout.
package store
