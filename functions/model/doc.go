// Package model holds the data model's names and the pure rules that derive
// a value from source documents: the author projection, a tag list as a set,
// and the field-type checks the handlers apply to source documents.
package model
