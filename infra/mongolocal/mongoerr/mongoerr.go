// Package mongoerr holds MongoDB's server error codes and the error type that
// mongolocal's command handlers return, so replies carry MongoDB's own code,
// codeName and errorLabels.
package mongoerr

import (
	"errors"
	"fmt"
)

// Codes the server returns. Names and numbers are MongoDB's
// (src/mongo/base/error_codes.yml).
const (
	InternalError                      = 1
	BadValue                           = 2
	NoSuchKey                          = 4
	HostUnreachable                    = 6
	HostNotFound                       = 7
	FailedToParse                      = 9
	TypeMismatch                       = 14
	IllegalOperation                   = 20
	NamespaceNotFound                  = 26
	IndexNotFound                      = 27
	CursorNotFound                     = 43
	NamespaceExists                    = 48
	MaxTimeMSExpired                   = 50
	CommandNotFound                    = 59
	ShutdownInProgress                 = 91
	InvalidOptions                     = 72
	InvalidNamespace                   = 73
	IndexOptionsConflict               = 85
	IndexKeySpecsConflict              = 86
	NetworkTimeout                     = 89
	OperationFailed                    = 96
	NotImplemented                     = 238
	ChangeStreamFatalError             = 280
	ChangeStreamHistoryLost            = 286
	Location10334                      = 10334 // BSONObjectTooLarge
	DuplicateKey                       = 11000
	InterruptedAtShutdown              = 11600
	Interrupted                        = 11601
	InterruptedDueToReplState          = 11602
	NotWritablePrimary                 = 10107
	UnrecognizedPipelineStage          = 40324
	Unauthorized                       = 13
	InvalidResumeToken                 = 260
	NoMatchingDocument                 = 47
	CannotCreateIndex                  = 67
	DollarPrefixedFieldName            = 52
	InvalidLength                      = 16
	Overflow                           = 15
	InvalidBSON                        = 22
	ImmutableField                     = 66
	EmptyFieldName                     = 56
	InvalidIdField                     = 53
	NoSuchTransaction                  = 251
	OperationNotSupportedInTransaction = 263
	UnsupportedOpQueryCommand          = 352
	InvalidPipelineOperator            = 168
	ConflictingUpdateOperators         = 40
	PrimarySteppedDown                 = 189
	ExceededTimeLimit                  = 262
	SocketException                    = 9001
	Location16410                      = 16410 // $project field path errors
	Location40323                      = 40323 // a pipeline stage spec must be an object with one field
	Location15955                      = 15955 // $group _id missing
	Location15952                      = 15952 // unknown group operator
	Location40415                      = 40415 // unknown field in a stage
)

// Names maps codes to MongoDB's codeName.
var Names = map[int]string{
	InternalError:                      "InternalError",
	BadValue:                           "BadValue",
	NoSuchKey:                          "NoSuchKey",
	HostUnreachable:                    "HostUnreachable",
	HostNotFound:                       "HostNotFound",
	FailedToParse:                      "FailedToParse",
	TypeMismatch:                       "TypeMismatch",
	IllegalOperation:                   "IllegalOperation",
	NamespaceNotFound:                  "NamespaceNotFound",
	IndexNotFound:                      "IndexNotFound",
	CursorNotFound:                     "CursorNotFound",
	NamespaceExists:                    "NamespaceExists",
	MaxTimeMSExpired:                   "MaxTimeMSExpired",
	CommandNotFound:                    "CommandNotFound",
	ShutdownInProgress:                 "ShutdownInProgress",
	InvalidOptions:                     "InvalidOptions",
	InvalidNamespace:                   "InvalidNamespace",
	IndexOptionsConflict:               "IndexOptionsConflict",
	IndexKeySpecsConflict:              "IndexKeySpecsConflict",
	NetworkTimeout:                     "NetworkTimeout",
	OperationFailed:                    "OperationFailed",
	NotImplemented:                     "NotImplemented",
	ChangeStreamFatalError:             "ChangeStreamFatalError",
	ChangeStreamHistoryLost:            "ChangeStreamHistoryLost",
	Location10334:                      "BSONObjectTooLarge",
	DuplicateKey:                       "DuplicateKey",
	InterruptedAtShutdown:              "InterruptedAtShutdown",
	Interrupted:                        "Interrupted",
	InterruptedDueToReplState:          "InterruptedDueToReplState",
	NotWritablePrimary:                 "NotWritablePrimary",
	UnrecognizedPipelineStage:          "Location40324",
	Unauthorized:                       "Unauthorized",
	InvalidResumeToken:                 "InvalidResumeToken",
	NoMatchingDocument:                 "NoMatchingDocument",
	CannotCreateIndex:                  "CannotCreateIndex",
	DollarPrefixedFieldName:            "DollarPrefixedFieldName",
	InvalidLength:                      "InvalidLength",
	Overflow:                           "Overflow",
	InvalidBSON:                        "InvalidBSON",
	ImmutableField:                     "ImmutableField",
	EmptyFieldName:                     "EmptyFieldName",
	InvalidIdField:                     "InvalidIdField",
	NoSuchTransaction:                  "NoSuchTransaction",
	OperationNotSupportedInTransaction: "OperationNotSupportedInTransaction",
	UnsupportedOpQueryCommand:          "UnsupportedOpQueryCommand",
	InvalidPipelineOperator:            "InvalidPipelineOperator",
	ConflictingUpdateOperators:         "ConflictingUpdateOperators",
	PrimarySteppedDown:                 "PrimarySteppedDown",
	ExceededTimeLimit:                  "ExceededTimeLimit",
	SocketException:                    "SocketException",
	Location40415:                      "Location40415",
}

// Error is a command failure as MongoDB reports it.
type Error struct {
	Code   int
	Msg    string
	Labels []string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.CodeName(), e.Code, e.Msg)
}

// CodeName returns MongoDB's name for the code ("Location<code>" when it
// has none of its own, as the server does).
func (e *Error) CodeName() string {
	if n, ok := Names[e.Code]; ok {
		return n
	}
	return fmt.Sprintf("Location%d", e.Code)
}

// New returns an Error with a formatted message.
func New(code int, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// WithLabels returns a copy of e carrying the given errorLabels.
func (e *Error) WithLabels(labels ...string) *Error {
	c := *e
	c.Labels = append(append([]string(nil), e.Labels...), labels...)
	return &c
}

// As returns err as an *Error, wrapping anything else as InternalError.
func As(err error) *Error {
	var me *Error
	if errors.As(err, &me) {
		return me
	}
	return &Error{Code: InternalError, Msg: err.Error()}
}
