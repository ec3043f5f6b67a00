// Package conduit is the RealWorld ("Conduit") data model of the project in Go,
// shared by the end-to-end tests, the demo and the benchmarks.
//
// It offers four things, each usable alone:
//
//   - typed documents for the source collections and their derived fields
//     (User, Article, Comment, Favorite, Author, Tag), as DATA_MODEL.md
//     describes them;
//   - Seed, which fills a database with a reproducible RealWorld-like data
//     set in large insertMany batches, optionally already converged;
//   - Generate and Execute: a reproducible script of source writes (renames,
//     retagging with every update operator the contract lists, replaces
//     that drop derived fields, inserts with stale authors, favorite storms,
//     deletes) and an executor that applies it;
//   - Check, an independent recomputation of the invariants I1..I4 straight
//     from the contract, which reports per invariant how many documents it
//     checked and how many differ.
//
// Check never calls the project's functions or repair: it is the yardstick
// they are measured against.
package conduit
