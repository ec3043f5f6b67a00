// Package derived names the fields this project writes into source documents
// (the derived copies and counters of the data model, and the _sync
// bookkeeping) and decides whether a change event touches only those.
//
// The relay uses OnlyDerived to skip the events the functions' own writes
// cause, and the functions use it to treat such events as no-ops, so that
// the two never disagree about what a derived-only change is.
package derived
