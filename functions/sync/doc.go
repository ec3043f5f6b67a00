// Package sync holds the four change-event handlers, one per source
// collection (users, articles, comments, favorites). Each takes the batch
// envelope of Lambda's event source mapping for Amazon DocumentDB and
// answers with partial batch failures.
//
// Every handler follows the same rule: it never trusts the event for a
// derived value. It recomputes the value from the source collections as
// they are when it runs, and writes it only under a guard, so that
// duplicates, reordering and concurrent deliveries converge. The rules and
// why they converge are in functions/README.md.
package sync
