// Package repair recomputes every derived field of the data model from the
// source collections and fixes what differs: the author copies of articles
// (I1) and comments (I2), favoritesCount (I3) and the tags collection (I4).
// It walks the collections in pages, writes each page's fixes in one bulk
// write, reports per invariant how many documents it checked, found
// drifted and fixed, and only reports in dry-run mode. Its writes are
// guarded like the handlers', so it is safe to run while they run.
package repair
