// Package changeevent parses and validates one MongoDB change event (as
// carried, in canonical Extended JSON, by the envelope) into the fields the
// handlers use. It checks the shape of the event, not the meaning of the
// document: what a collection's fields must look like is each handler's
// business.
package changeevent
