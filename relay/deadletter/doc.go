// Package deadletter stores events the relay gave up on, in the
// _relay_deadletters collection (and optionally an SQS queue), with the
// reason and the attempt history, and re-drives them on request.
//
// A letter's _id is "<route>/<event id>", so an event dead-lettered again
// after a restart updates its letter instead of adding one.
package deadletter
